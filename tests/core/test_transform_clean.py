"""clean: duplicates, missing values, type conversions and string cleaning, in that order."""

from __future__ import annotations

import datetime as dt
import math
import re
import statistics
from collections.abc import Callable, Sequence
from typing import Any, Literal

import polars as pl
import pytest
from hypothesis import example, given, note
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from polars.testing.parametric import column, dataframes
from returns.result import Failure

from lakeflow import Stage
from lakeflow.core.errors import from_exception
from lakeflow.core.transform import clean
from lakeflow.core.transform.clean import first_distinct
from lakeflow.errors import ConversionFailed, InvalidOption, MissingColumns, StageError
from lakeflow.testing.strategies import (
    all_null_users,
    empty_users,
    iso_timestamps,
    messy_strings,
    special_float_users,
    users_frames,
)
from tests.core.stages import plan_failure, run

# ---------------------------------------------------------------------------------------------
# helpers


def execution_failure(
    stage: Stage, frame: pl.DataFrame, engine: Literal["auto", "streaming"] = "auto"
) -> StageError:
    """Execute the plan the way the executor does and turn the exception into a value."""
    plan = stage(frame.lazy()).unwrap()
    try:
        plan.collect(engine=engine)
    except Exception as exc:
        return from_exception(exc, stage=stage.name)
    raise AssertionError("expected the plan to fail while executing")


def row_key(row: Sequence[Any]) -> tuple[Any, ...]:
    """A hashable identity for a row where NaN equals NaN (and -0.0 equals 0.0, as in Python)."""
    return tuple("<NaN>" if isinstance(v, float) and math.isnan(v) else v for v in row)


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


small_values = {
    pl.Int64: st.integers(0, 3),
    pl.Float64: st.sampled_from([0.0, -0.0, 1.5, math.nan, math.inf, -math.inf]),
    pl.String: st.sampled_from(["", "a", "A", " a"]),
    pl.Boolean: st.booleans(),
}


@st.composite
def frames_with_duplicates(draw: st.DrawFn, max_cols: int = 4) -> pl.DataFrame:
    """Frames over tiny value domains (so rows collide), plus copies of some rows."""
    dtypes = draw(st.lists(st.sampled_from(list(small_values)), min_size=1, max_size=max_cols))
    cols = [
        column(f"c{i}", dtype=d, strategy=small_values[d], allow_null=True)
        for i, d in enumerate(dtypes)
    ]
    frame: pl.DataFrame = draw(dataframes(cols, max_size=10, allow_masked_out=False))
    if frame.height:
        copies = draw(st.lists(st.integers(0, frame.height - 1), max_size=5))
        frame = pl.concat([frame, frame[copies]]) if copies else frame
    return frame


def first_distinct_rows(frame: pl.DataFrame, keys: Sequence[str] | None = None) -> list[int]:
    """Reference: positions of the first row of each distinct key (whole row by default)."""
    names = list(keys) if keys is not None else frame.columns
    seen: set[tuple[Any, ...]] = set()
    kept = []
    for i, row in enumerate(frame.select(names).rows()):
        if row_key(row) not in seen:
            seen.add(row_key(row))
            kept.append(i)
    return kept


# ---------------------------------------------------------------------------------------------
# remove_duplicates


@given(frame=frames_with_duplicates())
@example(frame=special_float_users())
@example(frame=all_null_users())
@example(frame=empty_users())
@example(frame=pl.DataFrame({"x": [0.0, -0.0, math.nan, math.nan, None, None]}))
def test_whole_row_dedupe_keeps_first_of_each_distinct_row_in_order(frame: pl.DataFrame) -> None:
    """Whole-row dedupe keeps exactly the first occurrence of every distinct row, in input order."""
    out = run(clean(remove_duplicates=True), frame)
    expected = frame[first_distinct_rows(frame)]
    assert [row_key(r) for r in out.rows()] == [row_key(r) for r in expected.rows()]
    assert out.schema == frame.schema


@given(frame=frames_with_duplicates())
@example(frame=special_float_users())
@example(frame=empty_users())
def test_whole_row_dedupe_is_idempotent_and_leaves_no_duplicates(frame: pl.DataFrame) -> None:
    """Removing duplicates twice equals removing them once, and no duplicate row remains."""
    stage = clean(remove_duplicates=True)
    once = run(stage, frame)
    assert_frame_equal(run(stage, once), once)
    assert len({row_key(r) for r in once.rows()}) == once.height


@given(frame=frames_with_duplicates())
@example(frame=special_float_users())
def test_dedupe_never_drops_a_row_without_duplicate(frame: pl.DataFrame) -> None:
    """Every row that occurs once in the input occurs in the output."""
    counts: dict[tuple[Any, ...], int] = {}
    for row in frame.rows():
        counts[row_key(row)] = counts.get(row_key(row), 0) + 1
    out = {row_key(r) for r in run(clean(remove_duplicates=True), frame).rows()}
    assert {k for k, n in counts.items() if n == 1} <= out


def every_hash_collides(columns: pl.DataFrame) -> pl.Series:
    return pl.Series([0] * columns.height, dtype=pl.UInt64)


def hash_parity(columns: pl.DataFrame) -> pl.Series:
    return columns.hash_rows() % 2


@given(
    frame=frames_with_duplicates(),
    last=st.booleans(),
    hasher=st.sampled_from([every_hash_collides, hash_parity]),
)
@example(frame=special_float_users(), last=False, hasher=every_hash_collides)
def test_hash_collisions_never_drop_a_distinct_row(
    frame: pl.DataFrame, last: bool, hasher: Any
) -> None:
    """With a hash that collides for (nearly) every row, first_distinct is still exact."""
    rows = frame.select(pl.struct(frame.columns)).to_series()
    mask = first_distinct(rows, last=last, hash_rows=hasher).to_list()
    if last:
        expected = [frame.height - 1 - i for i in first_distinct_rows(frame.reverse())]
    else:
        expected = first_distinct_rows(frame)
    assert [i for i, keep in enumerate(mask) if keep] == sorted(expected)


@given(frame=frames_with_duplicates(max_cols=3), keep=st.sampled_from(["first", "last"]))
def test_key_dedupe_first_and_last_follow_input_order(frame: pl.DataFrame, keep: str) -> None:
    """keep: first/last keeps the first/last row of each key by input order, in input order."""
    keys = frame.columns[:1]
    out = run(clean(remove_duplicates={"keys": keys, "keep": keep}), frame)
    if keep == "first":
        positions = first_distinct_rows(frame, keys)
    else:
        reversed_frame = frame.reverse()
        last = [frame.height - 1 - i for i in first_distinct_rows(reversed_frame, keys)]
        positions = sorted(last)
    expected = frame[positions]
    assert [row_key(r) for r in out.rows()] == [row_key(r) for r in expected.rows()]


def latest_reference(rows: list[tuple[Any, Any]]) -> list[int]:
    """Reference for keep: latest over (key, order) rows: greatest order, ties to the later row."""
    best: dict[Any, tuple[tuple[int, float], int]] = {}
    for i, (key, order) in enumerate(rows):
        rank = (0, 0.0) if is_missing(order) else (1, float(order))
        k = row_key((key,))
        if k not in best or rank >= best[k][0]:
            best[k] = (rank, i)
    return sorted(i for _, i in best.values())


@given(
    frame=dataframes(
        [
            column("k", dtype=pl.Int64, strategy=st.integers(0, 3), allow_null=True),
            column(
                "t",
                dtype=pl.Float64,
                strategy=st.sampled_from([1.0, 2.0, 2.0, math.nan, math.inf, -math.inf]),
                allow_null=True,
            ),
            column("v", dtype=pl.Int64, strategy=st.integers(0, 99), allow_null=False),
        ],
        max_size=15,
        allow_masked_out=False,
    )
)
@example(frame=pl.DataFrame({"k": [1, 1], "t": [None, None], "v": [1, 2]}))
def test_latest_keeps_the_greatest_order_by_per_key(frame: pl.DataFrame) -> None:
    """keep: latest keeps each key's row with the greatest order_by (NaN/null lowest, ties last)."""
    stage = clean(remove_duplicates={"keys": ["k"], "keep": "latest", "order_by": "t"})
    out = run(stage, frame)
    expected = frame[latest_reference(list(zip(frame["k"], frame["t"], strict=True)))]
    assert [row_key(r) for r in out.rows()] == [row_key(r) for r in expected.rows()]


@given(
    frame=dataframes(
        [
            column("k", dtype=pl.Int64, strategy=st.integers(0, 3), allow_null=False),
            column("t", dtype=pl.Int64, unique=True, allow_null=False),
        ],
        max_size=15,
    ),
    data=st.data(),
)
def test_latest_does_not_depend_on_row_order(frame: pl.DataFrame, data: st.DataObject) -> None:
    """With distinct order_by values, keep: latest picks the same rows whatever the input order."""
    stage = clean(remove_duplicates={"keys": ["k"], "keep": "latest", "order_by": "t"})
    shuffled = frame[list(data.draw(st.permutations(range(frame.height))))]
    assert sorted(run(stage, frame).rows()) == sorted(run(stage, shuffled).rows())


# ---------------------------------------------------------------------------------------------
# null_handling

FILLS = ["fill_zero", "fill_mean", "fill_median", "fill_forward", 7.5]


@given(
    frame=users_frames(), strategy=st.sampled_from(FILLS), col=st.sampled_from(["age", "income"])
)
@example(frame=special_float_users(), strategy="fill_mean", col="income")
@example(frame=all_null_users(), strategy="fill_mean", col="age")
@example(frame=empty_users(), strategy="fill_zero", col="age")
def test_fills_leave_no_missing_values(frame: pl.DataFrame, strategy: object, col: str) -> None:
    """After a fill, the column has no null or NaN, except where the strategy has nothing to use.

    fill_mean/fill_median leave missing values when no statistic exists (no present value, or
    the mean of +inf and -inf); fill_forward leaves the leading missing values.
    """
    out = run(clean(null_handling={col: strategy}), frame)[col]
    before = frame[col].to_list()
    present = [v for v in before if not is_missing(v)]
    after = out.to_list()
    assert out.is_nan().sum() == 0
    if strategy in ("fill_mean", "fill_median"):
        stat = sum(present) / len(present) if present else math.nan
        if strategy == "fill_median" and present:
            stat = statistics.median(present)
        if math.isnan(stat):
            assert [is_missing(v) for v in after] == [is_missing(v) for v in before]
        else:
            assert out.null_count() == 0
    elif strategy == "fill_forward":
        leading = next((i for i, v in enumerate(before) if not is_missing(v)), len(before))
        assert all(v is None for v in after[:leading])
        assert all(v is not None for v in after[leading:])
    else:
        assert out.null_count() == 0


@given(frame=users_frames(), strategy=st.sampled_from(["fill_mean", "fill_median"]))
@example(frame=special_float_users(), strategy="fill_median")
def test_mean_and_median_fill_with_the_statistic_of_present_values(
    frame: pl.DataFrame, strategy: str
) -> None:
    """fill_mean/fill_median put the mean/median of the non-null, non-NaN values in the gaps."""
    before = frame["income"].to_list()
    present = [v for v in before if not is_missing(v)]
    note(f"present={present}")
    after = run(clean(null_handling={"income": strategy}), frame)["income"].to_list()
    if not present:
        return
    stat = sum(present) / len(present) if strategy == "fill_mean" else statistics.median(present)
    for old, new in zip(before, after, strict=True):
        if not is_missing(old):
            assert new == old
        elif math.isnan(stat):
            assert new is None
        else:
            assert math.isclose(new, stat, rel_tol=1e-9, abs_tol=1e-9) or new == stat


@given(frame=users_frames())
@example(frame=special_float_users())
def test_fill_forward_carries_the_last_present_value(frame: pl.DataFrame) -> None:
    """fill_forward replaces each missing value with the last present value before it."""
    after = run(clean(null_handling={"income": "fill_forward"}), frame)["income"].to_list()
    last: float | None = None
    for old, new in zip(frame["income"].to_list(), after, strict=True):
        if is_missing(old):
            assert new == last or (new is None and last is None)
        else:
            assert new == old or (math.isnan(new) and math.isnan(old))
            last = old


@given(frame=users_frames())
@example(frame=special_float_users())
@example(frame=all_null_users())
def test_drop_removes_exactly_the_rows_with_missing_values(frame: pl.DataFrame) -> None:
    """drop removes the rows where the column is null or NaN, and only those, keeping order."""
    out = run(clean(null_handling={"age": "drop", "email": "drop"}), frame)
    keep = [
        i
        for i, (age, email) in enumerate(zip(frame["age"], frame["email"], strict=True))
        if not is_missing(age) and email is not None
    ]
    assert_frame_equal(out, frame[keep])


def test_entries_apply_in_the_order_written() -> None:
    """A drop listed before fill_mean changes the mean; listed after, it does not."""
    frame = pl.DataFrame({"a": [None, 1.0, 2.0, 10.0], "b": [1, 1, 1, None]})
    drop_first = run(clean(null_handling={"b": "drop", "a": "fill_mean"}), frame)
    fill_first = run(clean(null_handling={"a": "fill_mean", "b": "drop"}), frame)
    assert drop_first["a"][0] == pytest.approx((1.0 + 2.0) / 2)
    assert fill_first["a"][0] == pytest.approx((1.0 + 2.0 + 10.0) / 3)


def test_nan_counts_as_missing_and_infinity_does_not() -> None:
    """NaN is filled like null; +inf and -inf are values and stay."""
    frame = pl.DataFrame({"x": [math.nan, math.inf, None, -math.inf]})
    assert run(clean(null_handling={"x": "fill_zero"}), frame)["x"].to_list() == [
        0.0,
        math.inf,
        0.0,
        -math.inf,
    ]


def test_mean_of_opposite_infinities_leaves_missing_values_null() -> None:
    """The mean of +inf and -inf is undefined: missing values stay missing (as null)."""
    frame = pl.DataFrame({"x": [math.inf, -math.inf, None, math.nan]})
    assert run(clean(null_handling={"x": "fill_mean"}), frame)["x"].to_list()[2:] == [None, None]


def test_fill_mean_on_an_all_null_column_leaves_it_null() -> None:
    """An all-null column has no mean: fill_mean leaves it null instead of failing."""
    frame = pl.DataFrame({"x": [None, None]}, schema={"x": pl.Float64})
    assert run(clean(null_handling={"x": "fill_mean"}), frame)["x"].to_list() == [None, None]


def test_fill_mean_turns_an_integer_column_into_floats() -> None:
    """An integer column filled with its mean becomes Float64 (the mean need not be whole)."""
    frame = pl.DataFrame({"x": [1, None, 2]})
    out = run(clean(null_handling={"x": "fill_mean"}), frame)
    assert out.schema["x"] == pl.Float64
    assert out["x"].to_list() == [1.0, 1.5, 2.0]


def test_literal_fill_keeps_the_column_type() -> None:
    """A literal of a fitting type fills the gaps and the dtype stays as it was."""
    frame = pl.DataFrame(
        {"status": [None, "x"], "n": [None, 3]}, schema={"status": pl.String, "n": pl.Int16}
    )
    out = run(clean(null_handling={"status": "active", "n": 0}), frame)
    assert out.rows() == [("active", 0), ("x", 3)]
    assert out.schema == frame.schema


@pytest.mark.parametrize(
    ("column_", "dtype", "strategy"),
    [
        ("s", pl.String, "fill_zero"),
        ("s", pl.String, "fill_mean"),
        ("s", pl.String, 5),
        ("n", pl.Int64, "active"),
        ("n", pl.Int8, 1000),
        ("n", pl.Int64, 2.5),
        ("b", pl.Boolean, "fill_median"),
        ("b", pl.Boolean, 1),
        ("d", pl.Date, "2024-01-01"),
    ],
)
def test_fill_that_does_not_fit_the_column_type_is_invalid_option(
    column_: str, dtype: pl.DataType, strategy: object
) -> None:
    """A strategy or literal that does not fit the column's dtype fails at plan time, naming it."""
    frame = pl.DataFrame({column_: [None]}, schema={column_: dtype})
    failure = plan_failure(clean(null_handling={column_: strategy}), frame)
    assert isinstance(failure, InvalidOption)
    assert failure.option == f"null_handling.{column_}"
    assert str(dtype) in failure.message


def test_a_typo_of_a_strategy_is_not_taken_as_a_literal() -> None:
    """`fil_mean` on a string column is refused with a suggestion; {value: ...} means a literal."""
    stage = clean(null_handling={"s": "fil_mean"})
    assert stage.problems
    assert "fill_mean (did you mean this?)" in stage.problems[0].message
    frame = pl.DataFrame({"s": [None, "a"]})
    assert run(clean(null_handling={"s": {"value": "fill_me"}}), frame)["s"].to_list() == [
        "fill_me",
        "a",
    ]


def test_every_invalid_option_is_reported_at_once() -> None:
    """All option problems of a clean block are listed, not just the first."""
    stage = clean(
        remove_duplicates={"keys": ["id"], "keep": "newest"},
        null_handling={"age": "fill_avg"},
        type_conversions={"age": "integer", "d": {"to": "date", "on_error": "ignore"}},
        string_cleaning={"name": ["strip", "capitalize"]},
    )
    values = {p.value for p in stage.problems if isinstance(p, InvalidOption)}
    assert {"newest", "fill_avg", "integer", "ignore", "capitalize"} <= values
    assert isinstance(stage(pl.LazyFrame({"id": [1]})), Failure)


def test_latest_needs_order_by_and_first_refuses_it() -> None:
    """keep: latest without order_by, and order_by with keep: first, are invalid options."""
    assert clean(remove_duplicates={"keys": ["k"], "keep": "latest"}).problems
    assert clean(remove_duplicates={"keys": ["k"], "order_by": "t"}).problems


def test_missing_columns_fail_at_plan_time_naming_them() -> None:
    """Columns named in the options must exist; all missing ones are named at once."""
    stage = clean(null_handling={"age": "drop"}, string_cleaning={"email": ["strip"]})
    failure = plan_failure(stage, pl.DataFrame({"id": [1]}))
    assert isinstance(failure, MissingColumns)
    assert failure.missing == ("age", "email")


# ---------------------------------------------------------------------------------------------
# type_conversions

INT_TEXT = re.compile(r"\s*[+-]?[0-9]+\s*")


def int_reference(text: str | None) -> int | None:
    """Reference: what a strict int conversion of `text` gives (None: it cannot be converted)."""
    if text is None or not INT_TEXT.fullmatch(text):
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


digit_text = st.text(alphabet="0123456789 +-.x", max_size=6)


@given(values=st.lists(st.none() | digit_text, max_size=12))
@example(values=["1", " 2 ", "+3", "-4"])
@example(values=["3.0", "", "x", "x", "1e3", "99999999999999999999"])
@example(values=[])
def test_strict_int_conversion_fails_with_the_values_that_really_fail(
    values: list[str | None],
) -> None:
    """A strict conversion either converts every value like Python's int(), or fails naming them.

    The failure (raised inside the executing plan) comes back from from_exception as
    ConversionFailed with up to five distinct offending values, each of which cannot convert.
    """
    frame = pl.DataFrame({"n": values}, schema={"n": pl.String})
    stage = clean(type_conversions={"n": "int"})
    bad = [v for v in values if v is not None and int_reference(v) is None]
    if not bad:
        assert run(stage, frame)["n"].to_list() == [int_reference(v) for v in values]
        return
    failure = execution_failure(stage, frame)
    assert isinstance(failure, ConversionFailed)
    assert failure.column == "n"
    assert failure.stage == "clean"
    assert 1 <= len(failure.samples) <= 5
    assert len(set(failure.samples)) == len(failure.samples)
    assert set(failure.samples) <= set(bad)


@given(values=st.lists(st.none() | digit_text, max_size=12))
def test_on_error_null_turns_unconvertible_values_into_null(values: list[str | None]) -> None:
    """With on_error: null, values that cannot convert become null and the others convert."""
    frame = pl.DataFrame({"n": values}, schema={"n": pl.String})
    stage = clean(type_conversions={"n": {"to": "int", "on_error": None}})
    assert run(stage, frame)["n"].to_list() == [int_reference(v) for v in values]


def test_strict_conversion_fails_the_same_way_on_the_streaming_engine() -> None:
    """The per-batch guard also fails the streaming engine with ConversionFailed."""
    frame = pl.DataFrame({"n": ["1", "two", "3"]})
    failure = execution_failure(clean(type_conversions={"n": "int"}), frame, engine="streaming")
    assert isinstance(failure, ConversionFailed)
    assert failure.samples == ("two",)


def test_floats_become_integers_only_when_whole() -> None:
    """Whole floats convert; 2.5 and inf are offending; NaN is missing and becomes null."""
    ok = pl.DataFrame({"x": [1.0, -0.0, math.nan, None, 1e15]})
    assert run(clean(type_conversions={"x": "int"}), ok)["x"].to_list() == [
        1,
        0,
        None,
        None,
        10**15,
    ]
    for offending in (2.5, math.inf, -math.inf, 1e300):
        bad = pl.DataFrame({"x": [1.0, offending]})
        failure = execution_failure(clean(type_conversions={"x": "int"}), bad)
        assert isinstance(failure, ConversionFailed)
        assert failure.samples == (str(offending),)


TRUE_WORDS = ["true", "1", "yes", "t", "y"]
FALSE_WORDS = ["false", "0", "no", "f", "n"]


@given(
    words=st.lists(
        st.tuples(
            st.sampled_from(TRUE_WORDS + FALSE_WORDS),
            st.sampled_from(["", " ", "\t"]),
            st.booleans(),
        ),
        max_size=8,
    )
)
def test_bool_accepts_the_usual_words_in_any_case(words: list[tuple[str, str, bool]]) -> None:
    """true/false/1/0/yes/no/t/f/y/n convert to booleans whatever their case and padding."""
    texts = [f"{pad}{w.upper() if upper else w}{pad}" for w, pad, upper in words]
    frame = pl.DataFrame({"b": texts}, schema={"b": pl.String})
    out = run(clean(type_conversions={"b": "bool"}), frame)["b"].to_list()
    assert out == [w in TRUE_WORDS for w, _, _ in words]


def test_bool_rejects_other_words_and_numbers() -> None:
    """A word outside the list, or a number other than 0 and 1, is an offending value."""
    failure = execution_failure(
        clean(type_conversions={"b": "bool"}), pl.DataFrame({"b": ["yes", "maybe"]})
    )
    assert isinstance(failure, ConversionFailed)
    assert failure.samples == ("maybe",)
    numbers = pl.DataFrame({"b": [1, 0, None]})
    assert run(clean(type_conversions={"b": "bool"}), numbers)["b"].to_list() == [True, False, None]
    failure = execution_failure(clean(type_conversions={"b": "bool"}), pl.DataFrame({"b": [2]}))
    assert isinstance(failure, ConversionFailed)


@given(texts=st.lists(iso_timestamps(), max_size=8))
def test_datetime_without_format_reads_iso_8601(texts: list[str]) -> None:
    """to: datetime without a format parses the ISO 8601 shapes exactly as Python does."""
    frame = pl.DataFrame({"t": texts}, schema={"t": pl.String})
    out = run(clean(type_conversions={"t": "datetime"}), frame)["t"].to_list()
    assert out == [dt.datetime.fromisoformat(t) for t in texts]


def test_datetime_and_date_with_a_format() -> None:
    """An explicit format is used as written; values that do not match are offending."""
    frame = pl.DataFrame({"t": ["02/01/2024", None]})
    stage = clean(type_conversions={"t": {"to": "date", "format": "%d/%m/%Y"}})
    assert run(stage, frame)["t"].to_list() == [dt.date(2024, 1, 2), None]
    failure = execution_failure(stage, pl.DataFrame({"t": ["2024-01-02"]}))
    assert isinstance(failure, ConversionFailed)
    assert "%d/%m/%Y" in failure.target


def test_numeric_coerces_unparsable_values_to_null() -> None:
    """numeric is pandas' to_numeric(errors='coerce'): unparsable text becomes null, no failure."""
    frame = pl.DataFrame({"x": ["1", " 2.5 ", "abc", None, "1e3"]})
    out = run(clean(type_conversions={"x": "numeric"}), frame)
    assert out["x"].to_list() == [1.0, 2.5, None, None, 1000.0]


def test_unsupported_conversion_fails_at_plan_time() -> None:
    """A conversion the source type cannot make (a float to a date) is an InvalidOption."""
    failure = plan_failure(clean(type_conversions={"x": "date"}), pl.DataFrame({"x": [1.5]}))
    assert isinstance(failure, InvalidOption)
    assert "Float64" in failure.message


# ---------------------------------------------------------------------------------------------
# string_cleaning

OPERATIONS = ["strip", "lower", "upper", "title", "remove_special_chars"]


@given(texts=st.lists(st.none() | st.text(max_size=10), max_size=8), op=st.sampled_from(OPERATIONS))
@example(texts=["ß", "ǆ", "İ", "ﬁ", " \t a!b "], op="upper")
def test_each_string_operation_is_idempotent(texts: list[str | None], op: str) -> None:
    """Applying a string operation twice gives the same result as applying it once."""
    frame = pl.DataFrame({"s": texts}, schema={"s": pl.String})
    once = run(clean(string_cleaning={"s": [op]}), frame)
    assert_frame_equal(run(clean(string_cleaning={"s": [op]}), once), once)


# Letters, digits, punctuation, symbols and separators; no combining marks (which Rust's \w keeps
# and Python's does not) and no control characters (Python's isspace counts some of them).
plain_text = st.text(
    alphabet=st.characters(categories=["L", "N", "P", "S", "Zs"]) | st.sampled_from(" \t\n_"),
    max_size=12,
)


@given(texts=st.lists(plain_text, max_size=8))
@example(texts=["héllo wörld!", "a_b-c", "日本語。", "x🙂y", "$5.00 (net)", "x² ½ ①"])
def test_remove_special_chars_keeps_word_characters_and_whitespace(texts: list[str]) -> None:
    """remove_special_chars keeps letters, digits, underscore and whitespace; drops the rest."""
    frame = pl.DataFrame({"s": texts}, schema={"s": pl.String})
    out = run(clean(string_cleaning={"s": ["remove_special_chars"]}), frame)["s"].to_list()
    assert out == [re.sub(r"[^\w\s]", "", t) for t in texts]


@given(texts=st.lists(messy_strings(alphabet="abcXYZ éÉ-!_"), max_size=8))
def test_strip_lower_upper_title_match_python(texts: list[str]) -> None:
    """On ordinary text, strip/lower/upper/title agree with Python's str methods."""
    frame = pl.DataFrame({"s": texts}, schema={"s": pl.String})
    cases: list[tuple[str, Callable[[str], str]]] = [
        ("strip", str.strip),
        ("lower", str.lower),
        ("upper", str.upper),
        ("title", str.title),
    ]
    for op, reference in cases:
        out = run(clean(string_cleaning={"s": [op]}), frame)["s"].to_list()
        assert out == [reference(t) for t in texts], op


def test_remove_special_chars_keeps_combining_marks() -> None:
    """A decomposed accent (e + U+0301) survives remove_special_chars (Python's re drops it)."""
    frame = pl.DataFrame({"s": ["Cafe\u0301!"]})
    out = run(clean(string_cleaning={"s": ["remove_special_chars"]}), frame)
    assert out["s"][0] == "Cafe\u0301"


def test_operations_apply_in_the_order_written() -> None:
    """[upper, title] and [title, upper] give different results: the written order is used."""
    frame = pl.DataFrame({"s": ["ab cd"]})
    assert run(clean(string_cleaning={"s": ["upper", "title"]}), frame)["s"][0] == "Ab Cd"
    assert run(clean(string_cleaning={"s": ["title", "upper"]}), frame)["s"][0] == "AB CD"


def test_string_cleaning_a_number_column_is_invalid_option() -> None:
    """String operations on a non-string column fail at plan time, suggesting a conversion."""
    failure = plan_failure(clean(string_cleaning={"n": ["strip"]}), pl.DataFrame({"n": [1]}))
    assert isinstance(failure, InvalidOption)
    assert "type_conversions" in failure.message


def test_string_cleaning_an_all_null_column_gives_nulls() -> None:
    """A column of dtype Null (every value null) is cleaned into an all-null String column."""
    out = run(clean(string_cleaning={"s": ["strip"]}), pl.DataFrame({"s": [None, None]}))
    assert out.schema["s"] == pl.String
    assert out["s"].to_list() == [None, None]


# ---------------------------------------------------------------------------------------------
# the documented order of the steps


def test_duplicates_are_removed_before_missing_values_are_filled() -> None:
    """A null and a 0 are different rows for dedupe, though fill_zero later makes them equal."""
    frame = pl.DataFrame({"x": [None, 0.0]})
    out = run(clean(null_handling={"x": "fill_zero"}, remove_duplicates=True), frame)
    assert out["x"].to_list() == [0.0, 0.0]


def test_conversions_run_after_fills_and_before_string_cleaning() -> None:
    """A filled column converts, and a column converted to str can then be string-cleaned."""
    frame = pl.DataFrame({"age": [None, 41.0], "code": [7.0, 12.0]})
    stage = clean(
        string_cleaning={"code": ["remove_special_chars"]},
        type_conversions={"age": "int", "code": "str"},
        null_handling={"age": "fill_zero"},
    )
    assert run(stage, frame).rows() == [(0, "70"), (41, "120")]
