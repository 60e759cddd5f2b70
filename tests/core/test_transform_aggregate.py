"""aggregate: one row per group, flat names, pandas' missing-value semantics, sorted output."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from typing import Any

import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from polars.testing.parametric import column, dataframes
from returns.result import Failure

from lakeflow.core.transform import aggregate
from lakeflow.errors import InvalidOption
from lakeflow.testing.strategies import all_null_users, empty_users, numbers, special_float_users
from tests.core.stages import run


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def sample_std(values: list[float]) -> float | None:
    """Reference: the ddof=1 standard deviation; NaN when an infinity is involved."""
    if len(values) < 2:
        return None
    mean = sum(values) / len(values)
    if not math.isfinite(mean):
        return math.nan
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


grouped_frames = dataframes(
    [
        column("g", dtype=pl.String, strategy=st.sampled_from(["a", "b", "c"]), allow_null=True),
        column("h", dtype=pl.Int64, strategy=st.integers(0, 2), allow_null=True),
        column("x", dtype=pl.Float64, strategy=numbers(-100, 100), allow_null=True),
    ],
    max_size=20,
)

ALL = ["mean", "median", "count", "sum", "min", "max", "std", "n_unique"]


@given(frame=grouped_frames)
@example(frame=pl.DataFrame(schema={"g": pl.String, "h": pl.Int64, "x": pl.Float64}))
@example(frame=pl.DataFrame({"g": ["a", "a"], "h": [1, 1], "x": [None, math.nan]}))
def test_counts_add_up_and_there_is_one_row_per_distinct_key(frame: pl.DataFrame) -> None:
    """count sums to the input's non-missing count, and there is one row per distinct key."""
    out = run(aggregate(group_by=["g", "h"], aggregations={"x": ["count"]}), frame)
    present = sum(not is_missing(v) for v in frame["x"])
    assert out["x_count"].sum() == present
    assert out.height == len(set(frame.select("g", "h").rows()))
    assert out.columns == ["g", "h", "x_count"]


@given(frame=grouped_frames)
@example(frame=pl.DataFrame({"g": ["a"] * 3, "h": [0] * 3, "x": [math.inf, -math.inf, 1.0]}))
@example(frame=pl.DataFrame({"g": ["a"] * 2, "h": [0] * 2, "x": [0.0, -math.inf]}))
def test_every_aggregation_matches_pandas_semantics(frame: pl.DataFrame) -> None:
    """Each aggregation equals Python's over the group's non-missing values (std with ddof=1)."""
    out = run(aggregate(group_by="g", aggregations={"x": ALL}), frame)
    groups: dict[Any, list[float]] = defaultdict(list)
    for g, x in zip(frame["g"], frame["x"], strict=True):
        groups[g].extend([] if is_missing(x) else [x])
    assert out["g"].to_list() == sorted(groups, key=lambda k: (k is None, k or ""))
    for row in out.iter_rows(named=True):
        values = groups[row["g"]]
        expected: dict[str, Any] = {
            "count": len(values),
            "n_unique": len(set(values)),
            "sum": sum(values) if values else 0.0,
            "mean": sum(values) / len(values) if values else None,
            "median": statistics.median(values) if values else None,
            "min": min(values) if values else None,
            "max": max(values) if values else None,
            "std": sample_std(values),
        }
        for op, want in expected.items():
            got = row[f"x_{op}"]
            if want is None or (isinstance(want, float) and math.isnan(want)):
                assert got is None or math.isnan(got), (op, got, want)
            else:
                assert got == pytest.approx(want, rel=1e-9, abs=1e-9, nan_ok=True), (op, got, want)


def test_null_keys_form_a_group_sorted_last() -> None:
    """Rows with a null key are their own group (SQL GROUP BY), listed after the others."""
    frame = pl.DataFrame({"g": [None, "b", "a", None], "x": [1, 2, 3, 4]})
    out = run(aggregate(group_by=["g"], aggregations={"x": ["sum"]}), frame)
    assert out.rows() == [("a", 3), ("b", 2), (None, 5)]


def test_no_keys_aggregates_everything_into_one_row() -> None:
    """With no group_by, the whole input is one group."""
    out = run(aggregate(aggregations={"income": ["mean", "count"]}), special_float_users())
    assert out.height == 1
    # income: inf, -inf, NaN, null, -inf: the infinities are values, NaN and null are missing
    assert out["income_count"][0] == 3


@pytest.mark.parametrize("frame", [empty_users(), all_null_users()])
def test_empty_and_all_null_inputs(frame: pl.DataFrame) -> None:
    """An empty input has no groups; an all-null input is one null group with zero counts."""
    out = run(aggregate(group_by=["status"], aggregations={"income": ["count", "sum"]}), frame)
    assert out.height == min(frame.height, 1)
    assert out["income_count"].to_list() == [0] * out.height


def test_output_is_sorted_whatever_the_input_order() -> None:
    """The same rows in another order give the same output frame."""
    frame = pl.DataFrame({"g": ["b", "a", "c", "a"], "x": [1.0, 2.0, 3.0, 4.0]})
    stage = aggregate(group_by=["g"], aggregations={"x": ["mean"]})
    assert run(stage, frame).equals(run(stage, frame.reverse()))


def test_unknown_aggregation_and_bad_shapes_are_reported_together() -> None:
    """Unknown aggregations and empty aggregation lists are all InvalidOption problems."""
    stage = aggregate(group_by=["g"], aggregations={"x": ["meen", "mean"], "y": []})
    assert [(p.kind, getattr(p, "value", None)) for p in stage.problems] == [
        ("invalid_option", "meen"),
        ("invalid_option", "[]"),
    ]
    assert "mean (did you mean this?)" in stage.problems[0].message


def test_colliding_output_names_are_invalid() -> None:
    """An aggregation whose flat name equals a key is refused."""
    stage = aggregate(group_by=["x_count"], aggregations={"x": ["count"]})
    assert stage.problems


def test_numeric_aggregation_of_text_fails_at_plan_time() -> None:
    """mean of a string column is an InvalidOption naming the allowed aggregations."""
    result = aggregate(group_by=["g"], aggregations={"g": ["mean"]})(pl.LazyFrame({"g": ["a"]}))
    assert isinstance(result, Failure)
    failure = result.failure()
    assert isinstance(failure, InvalidOption)
    assert "n_unique" in failure.allowed


def test_a_column_of_dtype_null_aggregates_like_numbers_without_values() -> None:
    """An untyped all-null column counts 0, sums to 0 and has a null mean."""
    frame = pl.DataFrame({"g": ["a", "a"], "x": [None, None]})
    out = run(aggregate(group_by="g", aggregations={"x": ["count", "sum", "mean"]}), frame)
    assert out.rows() == [("a", 0, 0.0, None)]
