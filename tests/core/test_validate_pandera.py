"""pandera schemas as lakeflow rules: data checks really run, in the same single pass."""

from __future__ import annotations

import math
from typing import Any

import pandera.polars as pa
import polars as pl
import pytest
from hypothesis import example, given, note
from hypothesis import strategies as st
from pandera.typing.polars import Series
from polars.testing.parametric import column, dataframes
from returns.result import Failure, Success

from lakeflow.core.errors import InvalidOption, ValidationFailed
from lakeflow.core.validate import QUARANTINE_REASONS, Checks, plan_validation
from lakeflow.execute import collect_together, validate
from lakeflow.testing.sources import counting_source


class Users(pa.DataFrameModel):
    """A model with built-in Field checks and one custom vectorised check."""

    id: Series[int] = pa.Field(ge=1, unique=True)
    age: Series[int] = pa.Field(in_range={"min_value": 0, "max_value": 150}, nullable=True)
    email: Series[str] = pa.Field(str_matches=r"[^@]+@[^@]+", nullable=True)

    @pa.check("age")
    def not_thirteen(cls, data: Any) -> pl.LazyFrame:  # noqa: N805 - pandera's classmethod style
        """A custom check pandera runs itself (no statistics to compile)."""
        checked: pl.LazyFrame = data.lazyframe.select(pl.col(data.key) != 13)
        return checked


USERS = pl.DataFrame(
    {
        "id": [1, 2, 0, 4, 4],
        "age": [30, 200, 40, 13, None],
        "email": ["a@b.c", "b@c.d", "nope", None, "e@f.g"],
    }
)


def test_a_field_check_violation_on_a_lazyframe_is_quarantined() -> None:
    """Unlike pandera on a LazyFrame (schema only), the data checks run and split rows."""
    lazy, reads = counting_source(USERS)
    validated = validate(lazy, Checks(pandera=[Users], max_invalid_fraction=1.0)).unwrap()
    quarantine = validated.quarantine.collect().sort("age", nulls_last=True)
    reasons = quarantine[QUARANTINE_REASONS].to_list()
    assert dict(zip(quarantine["age"].to_list(), reasons, strict=True)) == {
        13: ["pandera:id:field_uniqueness", "pandera:age:not_thirteen"],
        40: ["pandera:id:greater_than_or_equal_to", "pandera:email:str_matches"],
        200: ["pandera:age:in_range"],
        None: ["pandera:id:field_uniqueness"],
    }
    assert validated.valid.collect()["id"].to_list() == [1]
    assert reads == [1]


def test_plain_pandera_on_a_lazyframe_would_have_skipped_the_data_checks() -> None:
    """The behaviour lakeflow fixes: pandera validates only the schema of a LazyFrame."""
    Users.validate(USERS.lazy()).collect()  # does not raise: data checks were skipped
    with pytest.raises(pa.errors.SchemaErrors):
        Users.validate(USERS, lazy=True)


def test_custom_checks_share_the_single_read_with_every_other_rule() -> None:
    """Custom and built-in pandera checks plus lakeflow rules still read the source once."""
    lazy, reads = counting_source(USERS)
    checks = Checks(pandera=[Users], unique=["email"], max_invalid_fraction=1.0)
    plan = plan_validation(lazy, checks).unwrap()
    stats, valid, quarantine = collect_together([plan.stats, plan.valid, plan.quarantine]).unwrap()
    assert reads == [1]
    assert valid.height + quarantine.height == USERS.height
    outcome = plan.conclude(stats).unwrap()
    assert outcome.report.rule("pandera:age:not_thirteen").failed_rows == 1


def test_dtype_mismatch_is_found_from_the_schema_and_coerce_casts() -> None:
    """A wrong dtype fails before reading; with coerce it is cast and bad values quarantined."""
    frame = pl.LazyFrame({"n": ["1", "x", None]})
    strict = pa.DataFrameSchema({"n": pa.Column(pl.Int64, nullable=True)})
    result = plan_validation(frame, Checks(pandera=[strict]))
    assert isinstance(result, Failure) and isinstance(result.failure(), ValidationFailed)
    assert "pandera:n:dtype" in result.failure().message
    coercing = pa.DataFrameSchema({"n": pa.Column(pl.Int64, nullable=True, coerce=True)})
    validated = validate(frame, Checks(pandera=[coercing], max_invalid_fraction=1)).unwrap()
    assert validated.valid.collect()["n"].to_list() == [1, None]
    assert validated.quarantine.collect()[QUARANTINE_REASONS].to_list() == [
        ["pandera:n:coerce_dtype"]
    ]


def test_schema_level_rules_strict_ordered_missing_and_unique() -> None:
    """strict, ordered, missing required columns and multi-column unique are all reported."""
    schema = pa.DataFrameSchema(
        {"b": pa.Column(int), "a": pa.Column(int), "gone": pa.Column(int)},
        strict=True,
        ordered=True,
        unique=["a", "b"],
    )
    frame = pl.LazyFrame({"a": [1, 1], "b": [2, 2], "extra": [0, 0]})
    report = validate(frame, Checks(pandera=[schema], enforce=False)).unwrap().report
    outcomes = {r.name: r.outcome for r in report.rules}
    assert outcomes["pandera:gone:column_in_dataframe"] == "failed"
    assert outcomes["pandera:column_in_schema"] == "failed"
    assert outcomes["pandera:column_ordering"] == "failed"
    assert report.rule("pandera:unique:a,b").failed_rows == 2


def test_warning_checks_dataframe_checks_and_unique_values_eq() -> None:
    """raise_warning makes a warning rule; DataFrame-level and aggregate checks are judged."""
    schema = pa.DataFrameSchema(
        {
            "x": pa.Column(
                int,
                [
                    pa.Check.gt(0, raise_warning=True),
                    pa.Check.unique_values_eq([1, 2, 3]),
                ],
            )
        },
        checks=[pa.Check(lambda data: data.lazyframe.select(pl.col("x") < 3), name="small")],
    )
    frame = pl.LazyFrame({"x": [1, 2, -1]})
    validated = validate(frame, Checks(pandera=[schema], enforce=False)).unwrap()
    report = validated.report
    assert report.rule("pandera:x:greater_than").outcome == "warning"
    assert report.rule("pandera:x:unique_values_eq").outcome == "failed"
    assert report.rule("pandera:small").failed_rows == 0
    assert validated.quarantine.collect().height == 0


def test_a_check_that_raises_is_a_failed_rule_not_a_crash() -> None:
    """As in pandera, an exception inside a check is reported as that check's failure."""

    def broken(data: Any) -> pl.LazyFrame:
        raise ValueError("boom")

    schema = pa.DataFrameSchema({"x": pa.Column(int, pa.Check(broken, name="broken"))})
    result = plan_validation(pl.LazyFrame({"x": [1]}), Checks(pandera=[schema]))
    assert isinstance(result, Failure)
    assert "ValueError: boom" in result.failure().message


def test_unsupported_pandera_features_and_objects_are_invalid_options() -> None:
    """Parsers, defaults and non-pandera objects are refused with a clear message."""
    with_default = pa.DataFrameSchema({"x": pa.Column(int, default=0, nullable=True)})
    result = plan_validation(pl.LazyFrame({"x": [1]}), Checks(pandera=[with_default]))
    assert isinstance(result, Failure) and isinstance(result.failure(), InvalidOption)
    assert "default on column 'x'" in result.failure().message
    not_pandera = plan_validation(pl.LazyFrame({"x": [1]}), Checks(pandera=[{"x": int}]))
    assert isinstance(not_pandera, Failure) and isinstance(not_pandera.failure(), InvalidOption)


# --- differential: compiled checks vs pandera's own execution ---------------------------------

BUILTINS = pa.DataFrameSchema(
    {
        "a": pa.Column(
            pl.Int64,
            [pa.Check.ge(-2), pa.Check.le(5), pa.Check.ne(3), pa.Check.notin([4])],
            nullable=False,
            unique=True,
        ),
        "b": pa.Column(
            pl.String,
            [
                pa.Check.str_matches("x"),
                pa.Check.str_contains("y+"),
                pa.Check.str_startswith("x"),
                pa.Check.str_endswith("y"),
                pa.Check.str_length(1, 3),
                pa.Check.isin(["x", "xy", "xyy", "é", ""]),
            ],
            nullable=True,
        ),
        "f": pa.Column(
            pl.Float64,
            [
                pa.Check.in_range(0, 1, include_max=False),
                pa.Check.gt(-1, ignore_na=False),
                pa.Check.lt(10),
                pa.Check.eq(0.5),
            ],
            nullable=True,
        ),
        "g": pa.Column(pl.Float64, pa.Check.between(0, 2), nullable=False),
    }
)

builtin_frames = dataframes(
    [
        column("a", pl.Int64, strategy=st.integers(-4, 7)),
        column("b", pl.String, strategy=st.sampled_from(["x", "xy", "xyy", "yx", "é", "", "xyyy"])),
        column("f", pl.Float64, strategy=st.floats() | st.sampled_from([0.0, 0.5, 1.0, math.nan])),
        column("g", pl.Float64, strategy=st.sampled_from([0.0, 1.5, 3.0, math.nan, -math.inf])),
    ],
    max_size=15,
)


def _pandera_failures(frame: pl.DataFrame) -> set[tuple[int, str]]:
    try:
        BUILTINS.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        return {
            (int(index), f"pandera:{col}:{check.split('(')[0]}")
            for index, col, check in zip(
                cases["index"], cases["column"], cases["check"], strict=True
            )
            if index is not None
        }
    return set()


@given(frame=builtin_frames)
@example(
    frame=pl.DataFrame(
        {
            "a": [None, None, 3],
            "b": [None, "xyyy", "é"],
            "f": [None, math.nan, 1.0],
            "g": [math.nan, None, 3.0],
        },
        schema={"a": pl.Int64, "b": pl.String, "f": pl.Float64, "g": pl.Float64},
    )
)
def test_compiled_builtin_checks_agree_with_pandera(frame: pl.DataFrame) -> None:
    """Every (row, check) failure lakeflow finds is exactly one pandera finds, and vice versa."""
    note(repr(frame.to_dicts()))
    expected = _pandera_failures(frame)
    result = validate(
        frame.with_row_index("rid").lazy(), Checks(pandera=[BUILTINS], max_invalid_fraction=1)
    )
    assert isinstance(result, Success), result
    quarantine = result.unwrap().quarantine.collect()
    found = {
        (rid, reason)
        for rid, reasons in zip(quarantine["rid"], quarantine[QUARANTINE_REASONS], strict=True)
        for reason in reasons
    }
    assert found == expected
