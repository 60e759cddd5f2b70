"""derive, keep and categorize: business rules from SQL expressions, and their composition."""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from polars.testing.parametric import column, dataframes
from returns.result import Failure

from lakeflow.core.transform import categorize, clean, derive, keep
from lakeflow.errors import InvalidExpression, InvalidOption, MissingColumns
from lakeflow.testing.strategies import (
    all_null_users,
    empty_users,
    numbers,
    special_float_users,
    users_frames,
)
from tests.core.stages import plan_failure, run


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


int_frames = dataframes(
    [
        column("a", dtype=pl.Int64, strategy=st.integers(-1000, 1000), allow_null=True),
        column("b", dtype=pl.Int64, strategy=st.integers(-1000, 1000), allow_null=True),
    ],
    max_size=12,
)


# ---------------------------------------------------------------------------------------------
# derive

# name -> (SQL, Python reference over the row so far)
FORMULAS: dict[str, tuple[str, Any]] = {
    "total": ("a + b", lambda r: None if None in (r["a"], r["b"]) else r["a"] + r["b"]),
    "double": ("a * 2", lambda r: None if r["a"] is None else r["a"] * 2),
    "diff": ("a - b", lambda r: None if None in (r["a"], r["b"]) else r["a"] - r["b"]),
    "big": ("a > b", lambda r: None if None in (r["a"], r["b"]) else r["a"] > r["b"]),
    "a": ("b * 3", lambda r: None if r["b"] is None else r["b"] * 3),
}


@given(frame=int_frames, names=st.lists(st.sampled_from(list(FORMULAS)), unique=True))
@example(frame=pl.DataFrame(schema={"a": pl.Int64, "b": pl.Int64}), names=["total"])
def test_derive_adds_exactly_the_named_columns(frame: pl.DataFrame, names: list[str]) -> None:
    """derive adds (or replaces) exactly the named columns, computed per row, others untouched."""
    out = run(derive({n: FORMULAS[n][0] for n in names}), frame)
    assert out.columns == frame.columns + [n for n in names if n not in frame.columns]
    expected_rows = []
    for row in frame.iter_rows(named=True):
        for n in names:
            row[n] = FORMULAS[n][1](row)
        expected_rows.append(row)
    assert out.to_dicts() == expected_rows


@given(frame=int_frames)
def test_later_entries_see_earlier_derived_columns(frame: pl.DataFrame) -> None:
    """Entries are computed in the order written: one may use a column derived before it."""
    stage = derive({"total": "a + b", "twice": "total * 2", "a": "twice + 1", "again": "a"})
    out = run(stage, frame)
    for row, a, b in zip(out.iter_rows(named=True), frame["a"], frame["b"], strict=True):
        total = None if None in (a, b) else a + b
        assert row["total"] == total
        assert row["twice"] == (None if total is None else total * 2)
        assert row["a"] == row["again"] == (None if total is None else total * 2 + 1)


def test_derive_accepts_polars_expressions() -> None:
    """A pl.Expr is used as it is, next to SQL strings."""
    out = run(derive({"x2": pl.col("x") * 2, "x3": "x * 3"}), pl.DataFrame({"x": [1, 2]}))
    assert out.rows() == [(1, 2, 3), (2, 4, 6)]


def test_derive_reports_every_bad_expression_at_once() -> None:
    """All unparsable expressions (and bad names) are problems of one failing stage."""
    stage = derive({"a": "x +", "b": "floor(", "c": 42, "": "x", "ok": "x + 1"})
    assert [p.kind for p in stage.problems] == [
        "invalid_expression",
        "invalid_expression",
        "invalid_expression",
        "invalid_option",
    ]
    assert isinstance(stage(pl.LazyFrame({"x": [1]})), Failure)


def test_derive_type_error_is_invalid_expression_naming_the_text() -> None:
    """An expression that cannot be typed (text + number) fails at plan time naming its text."""
    failure = plan_failure(derive({"y": "x + 1"}), pl.DataFrame({"x": ["a"]}))
    assert isinstance(failure, InvalidExpression)
    assert failure.expression == "x + 1"


def test_derive_names_missing_columns() -> None:
    """Columns an expression reads must exist in the input (or be derived earlier)."""
    failure = plan_failure(derive({"y": "x + z", "w": "y + q"}), pl.DataFrame({"x": [1]}))
    assert isinstance(failure, MissingColumns)
    assert failure.missing == ("z", "q")


def test_pandas_floor_division_idiom_is_floor_in_sql() -> None:
    """The tutorial's `income // 10000 * 10000` on floats is `floor(income / 10000) * 10000`."""
    frame = pl.DataFrame({"income": [12345.6, 99999.0, -1.0, 10000.0]})
    out = run(derive({"bracket": "floor(income / 10000) * 10000"}), frame)
    assert out["bracket"].to_list() == [v // 10000 * 10000 for v in frame["income"]]


# ---------------------------------------------------------------------------------------------
# keep


def sql_ge(value: Any, bound: float) -> bool | None:
    """Reference for `x >= bound` in Polars: null is unknown, NaN is greater than any number."""
    if value is None:
        return None
    return True if math.isnan(value) else value >= bound


@given(frame=users_frames())
@example(frame=special_float_users())
@example(frame=all_null_users())
@example(frame=empty_users())
def test_keep_keeps_exactly_the_rows_where_every_condition_holds(frame: pl.DataFrame) -> None:
    """keep never adds rows; it keeps a row iff every condition is true (null drops the row)."""
    out = run(keep("age >= 18", "status = 'active'", "income >= 0"), frame)
    expected = [
        row
        for row in frame.iter_rows(named=True)
        if sql_ge(row["age"], 18) is True
        and row["status"] == "active"
        and sql_ge(row["income"], 0) is True
    ]
    assert out.height <= frame.height
    assert out.columns == frame.columns
    assert [repr(r) for r in out.iter_rows(named=True)] == [repr(r) for r in expected]


@given(frame=users_frames())
def test_keep_with_several_conditions_equals_keeping_each_in_turn(frame: pl.DataFrame) -> None:
    """keep(a, b) equals keep(a) >> keep(b): all conditions must hold."""
    both = run(keep("age >= 18", "email LIKE '%@%'"), frame)
    chained = run(keep("age >= 18") >> keep("email LIKE '%@%'"), frame)
    assert_frame_equal(both, chained)


def test_keep_with_no_conditions_keeps_every_row() -> None:
    """keep() is the identity."""
    frame = special_float_users()
    assert_frame_equal(run(keep(), frame), frame)


def test_a_null_condition_keeps_no_row() -> None:
    """A condition that is null for every row (SQL NULL) keeps nothing, like SQL WHERE NULL."""
    frame = pl.DataFrame({"a": [1, 2]})
    assert run(keep("NULL"), frame).height == 0
    assert run(keep("a > 1 OR NULL"), frame)["a"].to_list() == [2]


def test_keep_condition_must_be_boolean() -> None:
    """A non-boolean condition is an InvalidExpression naming it, found before reading data."""
    failure = plan_failure(keep("age + 1"), pl.DataFrame({"age": [1]}))
    assert isinstance(failure, InvalidExpression)
    assert failure.expression == "age + 1"
    assert "boolean" in failure.reason


def test_double_quotes_name_a_column_in_sql() -> None:
    """pandas' `status == "active"` reads a column named active in SQL: a MissingColumns failure."""
    failure = plan_failure(keep('status == "active"'), pl.DataFrame({"status": ["active"]}))
    assert isinstance(failure, MissingColumns)
    assert failure.missing == ("active",)


def test_keep_reports_every_bad_condition() -> None:
    """All unparsable conditions are listed at once."""
    stage = keep("age >=", "income > 0", "status = ")
    assert [p.kind for p in stage.problems] == ["invalid_expression", "invalid_expression"]


# ---------------------------------------------------------------------------------------------
# categorize

bounds = st.none() | st.integers(-50, 50).map(float)


@st.composite
def range_bins(draw: st.DrawFn) -> dict[str, dict[str, float]]:
    count = draw(st.integers(1, 4))
    bins: dict[str, dict[str, float]] = {}
    for i in range(count):
        low, high = draw(bounds), draw(bounds)
        if low is not None and high is not None and low > high:
            low, high = high, low
        low = -math.inf if low is None and high is None else low  # a catch-all needs a bound
        bins[f"L{i}"] = {k: v for k, v in (("min", low), ("max", high)) if v is not None}
    return bins


@given(
    values=st.lists(st.none() | numbers(-60, 60, whole=True), max_size=15),
    bins=range_bins(),
    default=st.sampled_from(["Other", None]),
)
@example(
    values=[math.nan, math.inf, -math.inf, None, -0.0],
    bins={"all": {"min": -math.inf}},
    default="Other",
)
@example(values=[], bins={"x": {"min": 0.0}}, default="Other")
def test_categorize_labels_by_the_first_matching_bin(
    values: list[float | None], bins: dict[str, dict[str, float]], default: str | None
) -> None:
    """Each present value gets the first bin whose inclusive bounds hold it, else the default.

    Missing values (null and NaN) get a null label; infinities are values.
    """
    frame = pl.DataFrame({"x": values}, schema={"x": pl.Float64})
    out = run(categorize("x", bins, default=default), frame)["x_category"].to_list()
    for value, label in zip(values, out, strict=True):
        if is_missing(value):
            assert label is None
            continue
        assert value is not None
        matching = [
            name
            for name, b in bins.items()
            if b.get("min", -math.inf) <= value <= b.get("max", math.inf)
        ]
        assert label == (matching[0] if matching else default)


def test_categorize_the_tutorials_income_bins() -> None:
    """The tutorial's bins: 30000 is Low, 30000.5 falls between bins (Other), NaN stays null."""
    bins = {
        "Low": {"min": 0, "max": 30000},
        "Medium": {"min": 30001, "max": 80000},
        "High": {"min": 80001, "max": math.inf},
    }
    frame = pl.DataFrame({"income": [30000.0, 30000.5, 80001.0, math.inf, -1.0, math.nan, None]})
    out = run(categorize("income", bins), frame)["income_category"].to_list()
    assert out == ["Low", "Other", "High", "High", "Other", None, None]


def test_categorize_by_lists_of_values_and_into() -> None:
    """List bins match exact values; `into` names the output column."""
    frame = pl.DataFrame({"country": ["DE", "US", "FR", None, "JP"]})
    stage = categorize(
        "country", {"EU": ["DE", "FR"], "NA": ["US", "CA"]}, into="region", default="Rest"
    )
    assert run(stage, frame)["region"].to_list() == ["EU", "NA", "EU", None, "Rest"]


def test_categorize_integer_column_with_float_list() -> None:
    """A list of numbers matches an integer column by value (1.0 matches 1)."""
    frame = pl.DataFrame({"n": [1, 2, 3]})
    assert run(categorize("n", {"odd": [1.0, 3]}), frame)["n_category"].to_list() == [
        "odd",
        "Other",
        "odd",
    ]


@pytest.mark.parametrize(
    "bins",
    [
        {},
        {"Low": {"min": 10, "max": 0}},
        {"Low": {"minimum": 0}},
        {"Low": []},
        {"Low": [math.nan]},
        {"Low": "0-10"},
        {"Low": {"min": 0}, "Named": ["a"]},
    ],
)
def test_invalid_bins_fail_when_built(bins: dict[str, Any]) -> None:
    """Empty bins, min > max, unknown keys, empty or NaN lists and mixed kinds are InvalidOption."""
    stage = categorize("x", bins)
    assert stage.problems
    assert all(isinstance(p, InvalidOption) for p in stage.problems)


def test_number_bins_on_a_string_column_fail_at_plan_time() -> None:
    """Range bins need a numeric column: a string column is an InvalidOption naming its dtype."""
    failure = plan_failure(categorize("s", {"A": {"min": 1}}), pl.DataFrame({"s": ["x"]}))
    assert isinstance(failure, InvalidOption)
    assert "String" in failure.message


# ---------------------------------------------------------------------------------------------
# composition

STAGES = {
    "clean": clean(
        remove_duplicates=True,
        null_handling={"income": "fill_mean", "status": "active"},
        string_cleaning={"status": ["strip", "lower"]},
    ),
    "derive": derive({"bracket": "floor(income / 10000) * 10000"}),
    "keep": keep("age >= 18"),
    "categorize": categorize("age", {"young": {"max": 29}, "old": {"min": 30}}),
}


@given(
    frame=users_frames(),
    first=st.sampled_from(list(STAGES)),
    second=st.sampled_from(list(STAGES)),
)
@example(frame=special_float_users(), first="clean", second="derive")
def test_composition_equals_applying_one_stage_then_the_other(
    frame: pl.DataFrame, first: str, second: str
) -> None:
    """(a >> b)(frame) gives the same rows as b(a(frame))."""
    a, b = STAGES[first], STAGES[second]
    composed = (a >> b)(frame.lazy())
    stepwise = a(frame.lazy()).bind(b)
    if isinstance(stepwise, Failure):
        assert isinstance(composed, Failure)
        assert composed.failure() == stepwise.failure()
    else:
        assert_frame_equal(composed.unwrap().collect(), stepwise.unwrap().collect())
