"""Failure values: shapes, messages, and translation of exceptions into values."""

from __future__ import annotations

import dataclasses
import json

import polars as pl
import pytest

from lakeflow.core import errors
from lakeflow.core.errors import (
    ConfigError,
    ConfigProblem,
    ConversionFailed,
    InvalidOption,
    LakeError,
    MissingColumns,
    StageFailed,
    from_exception,
    is_panic,
    raise_in_plan,
)


def test_every_failure_is_frozen_slotted_and_serialisable() -> None:
    """Each member of the union is a frozen, slotted dataclass with kind, message, retryable."""
    members = errors.StageError.__args__
    assert len(members) == 13
    for cls in members:
        assert isinstance(cls, type)
        assert dataclasses.is_dataclass(cls)
        assert cls.__dataclass_params__.frozen, cls  # type: ignore[attr-defined]
        assert "__slots__" in cls.__dict__, cls
        assert isinstance(getattr(cls, "kind", None), str)


def test_failure_to_dict_is_json_with_kind_message_retryable() -> None:
    """Records store failures as {kind, message, retryable} (+code for lake errors)."""
    lake = LakeError("merge", "both sides changed a.parquet", "conflict", retryable=False)
    assert lake.conflict
    assert json.loads(json.dumps(lake.to_dict())) == {
        "kind": "lake",
        "message": "lake merge failed (conflict): both sides changed a.parquet",
        "retryable": False,
        "code": "conflict",
    }


def test_invalid_option_message_names_value_and_allowed() -> None:
    """The message says which value was wrong and what would be accepted."""
    problem = InvalidOption("clean", "null_handling strategy", "fill_avg", ("drop", "fill_mean"))
    assert "'fill_avg'" in problem.message and "drop, fill_mean" in problem.message


def test_config_error_lists_every_problem() -> None:
    """All config problems are listed at once, each with its key path."""
    err = ConfigError((ConfigProblem("source.sql.table", "bad"), ConfigProblem("", "top")))
    assert "source.sql.table: bad" in err.message and "  - top" in err.message


def test_raise_in_plan_round_trips_through_polars_execution() -> None:
    """A failure raised inside an executing plan comes back out as the same value."""
    failure = ConversionFailed("clean", "age", "int", ("x", "y"))

    def guard(series: pl.Series) -> pl.Series:
        raise_in_plan(failure)

    plan = pl.LazyFrame({"age": ["x"]}).select(
        pl.col("age").map_batches(guard, return_dtype=pl.Int64)
    )
    with pytest.raises(errors.PlanFailure) as caught:
        plan.collect()
    assert from_exception(caught.value, stage="execute") == failure


def test_missing_column_error_becomes_missing_columns() -> None:
    """Polars' ColumnNotFoundError is translated with the column and the available ones."""
    with pytest.raises(pl.exceptions.ColumnNotFoundError) as caught:
        pl.LazyFrame({"a": [1], "b": [2]}).select("zz").collect_schema()
    assert from_exception(caught.value, stage="s") == MissingColumns("s", ("zz",), ("a", "b"))


def test_panics_are_recognised_by_name_and_become_values() -> None:
    """A pyo3 PanicException from any Rust extension is a value, not a crash."""
    panic_type = type("PanicException", (BaseException,), {})
    exc = panic_type("called `Option::unwrap()` on a `None` value")
    assert is_panic(exc)
    translated = from_exception(exc, stage="extract")
    assert isinstance(translated, StageFailed)
    assert "panic" in translated.reason
    assert not is_panic(ValueError("x"))


def test_unrecognised_plan_failure_text_falls_back_to_stage_failed() -> None:
    """A corrupted marker never crashes translation."""
    exc = errors.PlanFailure("lakeflow-plan-failure:{not json")
    assert isinstance(from_exception(exc, stage="s"), StageFailed)
