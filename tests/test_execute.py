"""Executing plans: one read for any number of outputs and rules; failures come back as values."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pandera.polars as pa
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from returns.result import Failure, Success

from lakeflow.core.errors import InvalidOption, StageFailed, raise_in_plan
from lakeflow.core.validate import (
    QUARANTINE_REASONS,
    Checks,
    Completeness,
    FrameRef,
    Property,
    Rule,
    Schema,
    ValuesRef,
    plan_validation,
)
from lakeflow.execute import collect_together, import_pandera, validate
from lakeflow.testing.sources import counting_source

FRAME = pl.DataFrame(
    {
        "id": [*range(50), 3, 4],
        "age": [i % 120 - 5 for i in range(52)],
        "email": [f"user{i}@x.io" if i % 7 else f"user{i}" for i in range(52)],
        "country": ["US", "DE", "FR", "XX"] * 13,
    }
)


def _checks(n_rules: int) -> Checks:
    rules = [Rule(f"age_above_{k}", f"age > {k - 10}") for k in range(n_rules)]
    return Checks(
        schema=Schema(
            {"age": Property(type="integer", minimum=0), "email": Property(pattern="@")},
            required=["id"],
        ),
        completeness=Completeness(["email"], 0.5),
        unique=["id", "email"],
        references={
            "country": ValuesRef(["US", "DE"]),
            "id": FrameRef(pl.LazyFrame({"k": list(range(100))}), "k"),
        },
        rules=rules,
        max_invalid_fraction=1.0,
    )


@pytest.mark.parametrize("n_rules", [0, 1, 8, 40])
def test_the_source_is_read_once_for_any_number_of_rules(n_rules: int, tmp_path: Path) -> None:
    """Stats, valid sink and quarantine sink together read a shared source exactly once."""
    lazy, reads = counting_source(FRAME)
    plan = plan_validation(lazy, _checks(n_rules)).unwrap()
    valid_path, quarantine_path = tmp_path / "out" / "valid.parquet", tmp_path / "q.parquet"
    result = collect_together(
        [plan.stats], sinks=[(plan.valid, valid_path), (plan.quarantine, quarantine_path)]
    )
    assert isinstance(result, Success), result
    assert reads == [1]
    (stats,) = result.unwrap()
    report = plan.conclude(stats).unwrap().report
    valid, quarantine = pl.read_parquet(valid_path), pl.read_parquet(quarantine_path)
    assert report.valid_rows == valid.height and report.invalid_rows == quarantine.height
    assert valid.height + quarantine.height == FRAME.height
    assert (quarantine[QUARANTINE_REASONS].list.len() > 0).all()


def test_without_the_shared_plan_each_output_would_read_again() -> None:
    """The measured Polars behaviour the cache exists for: separate plans re-read the source."""
    lazy, reads = counting_source(FRAME)
    flagged = lazy.with_columns(ok=pl.col("age") > 0)
    pl.collect_all([flagged.filter("ok"), flagged.filter(~pl.col("ok"))], engine="in-memory")
    assert reads[0] > 1


def test_collect_together_returns_frames_in_order_and_writes_sinks(tmp_path: Path) -> None:
    """Frames come back in the order given; each sink holds its plan's rows."""
    base = pl.LazyFrame({"x": [1, 2, 3]})
    result = collect_together(
        [base.select(pl.col("x").sum()), base.filter(pl.col("x") > 1)],
        sinks=[(base.filter(pl.col("x") == 1), tmp_path / "one.parquet")],
    )
    total, above = result.unwrap()
    assert total.item() == 6 and above["x"].to_list() == [2, 3]
    assert pl.read_parquet(tmp_path / "one.parquet")["x"].to_list() == [1]
    assert collect_together([]).unwrap() == []


def test_execution_failures_become_values() -> None:
    """A Polars error, a failure raised inside the plan, and an I/O error are all values."""
    bad_cast = pl.LazyFrame({"x": ["a"]}).select(pl.col("x").cast(pl.Int64))
    result = collect_together([bad_cast], stage="load_users")
    assert isinstance(result, Failure) and isinstance(result.failure(), StageFailed)
    assert result.failure().message.startswith("stage 'load_users' failed: InvalidOperationError")

    def explode(series: pl.Series) -> pl.Series:
        raise_in_plan(StageFailed("derive", "negative income"))

    in_plan = pl.LazyFrame({"x": [1]}).select(pl.col("x").map_batches(explode, pl.Int64))
    failure = collect_together([in_plan]).failure()
    assert failure == StageFailed("derive", "negative income")

    missing = pl.scan_parquet("/nonexistent/lakeflow/*.parquet")
    assert isinstance(collect_together([missing]), Failure)


def test_a_sink_that_cannot_be_written_is_a_failure(tmp_path: Path) -> None:
    """Writing under a path that is a file fails as a value."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = collect_together([], sinks=[(pl.LazyFrame({"x": [1]}), blocker / "out.parquet")])
    assert isinstance(result, Failure)


def test_validate_returns_in_memory_frames_and_the_report() -> None:
    """The eager helper splits rows, reports, and equals planning + collecting by hand."""
    lazy, reads = counting_source(FRAME)
    validated = validate(lazy, _checks(2)).unwrap()
    assert reads == [1]
    plan = plan_validation(FRAME.lazy(), _checks(2)).unwrap()
    stats, valid, quarantine = collect_together([plan.stats, plan.valid, plan.quarantine]).unwrap()
    assert_frame_equal(validated.valid.collect(), valid)
    assert_frame_equal(validated.quarantine.collect(), quarantine)
    assert validated.report == plan.conclude(stats).unwrap().report


def test_validate_passes_on_plan_time_failures() -> None:
    """Invalid checks fail before anything runs."""
    result = validate(pl.LazyFrame({"x": [1]}), Checks(rules=[Rule("r", "x >")]))
    assert isinstance(result, Failure)


def test_import_pandera_resolves_import_paths() -> None:
    """'module:Name' imports the model; an unknown path is an invalid option, not an exception."""
    module = types.ModuleType("lakeflow_test_models")

    class Model(pa.DataFrameModel):
        x: int

    module.Model = Model  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    try:
        assert import_pandera("lakeflow_test_models:Model").unwrap() is Model
        missing = import_pandera("lakeflow_test_models:Nope")
        assert isinstance(missing, Failure) and isinstance(missing.failure(), InvalidOption)
        assert isinstance(import_pandera("no_such_module_xyz:M"), Failure)
    finally:
        del sys.modules[module.__name__]


def test_validate_accepts_a_dataframe() -> None:
    """lf.validate takes an in-memory DataFrame as well as a LazyFrame."""
    from lakeflow.core.validate import Checks as _Checks
    from lakeflow.execute import validate as _validate

    checks = _Checks.from_config({"unique": ["id"], "max_invalid_fraction": 1.0}).unwrap()
    frame = pl.DataFrame({"id": [1, 2, 2]})
    done = _validate(frame, checks).unwrap()
    assert done.report.totals().quarantined == 2
    assert done.valid.collect()["id"].to_list() == [1]


def test_a_stage_over_a_deleted_file_is_a_failure_value(tmp_path: Path) -> None:
    """A scan whose file disappeared makes a stage fail with a value, not FileNotFoundError."""
    from lakeflow.core.transform import keep

    path = tmp_path / "users.parquet"
    pl.DataFrame({"id": [1]}).write_parquet(path)
    frame = pl.scan_parquet(path)
    path.unlink()
    outcome = keep("id > 0")(frame)
    assert isinstance(outcome, Failure)
    assert "users.parquet" in outcome.failure().message


def test_a_bug_in_a_stage_is_not_turned_into_a_value() -> None:
    """Only engine errors become values: a plain Python bug in a user's stage raises."""
    from lakeflow.core.stage import stage as _stage

    @_stage
    def buggy(frame: pl.LazyFrame) -> pl.LazyFrame:
        raise ZeroDivisionError("a bug")

    with pytest.raises(ZeroDivisionError):
        buggy(pl.LazyFrame({"x": [1]}))
