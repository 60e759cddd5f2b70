"""Differential test: lakeflow's stages against the pandas cleaning and business rules they replace.

The pandas side is written here, the way a competent pandas user writes the tutorial's
DataCleaningTransformer and BusinessLogicTransformer (no eval/query/apply). Both run the
DESIGN.md example config on generated users frames and must produce the same rows (compared
without regard to order).

Deliberate semantic differences, and how this test treats them:

* A conversion that cannot be done (an age of +inf to int) makes pandas raise; the tutorial then
  logs a warning and carries on with the unconverted column. lakeflow fails the run with
  ConversionFailed instead. Here: when pandas raises, lakeflow must return ConversionFailed.
* pandas' ``income // 10000 * 10000`` is written ``floor(income / 10000) * 10000`` in SQL
  (SQL's ``//`` truncates toward zero), and ``status == "active"`` is ``status = 'active'``.
  They differ at infinity: numpy's ``inf // 10000`` is NaN, ``floor(inf / 10000)`` is inf; the
  pandas side here uses ``np.floor(income / 10000) * 10000``, the same formula.
* categorize gives missing incomes a null label where pandas gives "Other"; the filters drop
  missing incomes before categorizing, so it does not show here.
* The tutorial's string cleaning only touches ``object`` columns, which pandas 3 no longer uses
  for text (its ``str`` dtype); the pandas version here cleans string columns, as intended.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from hypothesis import example, given, note
from polars.testing import assert_frame_equal
from returns.result import Failure

from lakeflow.core.errors import from_exception
from lakeflow.core.stage import compose
from lakeflow.core.transform import categorize, clean, derive, keep
from lakeflow.errors import ConversionFailed
from lakeflow.testing.strategies import (
    all_null_users,
    empty_users,
    special_float_users,
    users_frame,
    users_frames,
)

NULL_HANDLING = {"email": "drop", "age": "fill_zero", "income": "fill_mean", "status": "active"}
CONVERSIONS = {"created_at": "datetime", "age": "int", "income": "float"}
STRING_CLEANING = {"email": ["strip", "lower"], "name": ["strip"], "status": ["strip", "lower"]}
BINS: dict[str, dict[str, float]] = {
    "Low": {"min": 0, "max": 30000},
    "Medium": {"min": 30001, "max": 80000},
    "High": {"min": 80001, "max": math.inf},
}

LAKEFLOW = compose(
    clean(
        remove_duplicates=True,
        null_handling=NULL_HANDLING,
        type_conversions=CONVERSIONS,
        string_cleaning=STRING_CLEANING,
    ),
    derive({"income_bracket": "floor(income / 10000) * 10000"}),
    keep("age >= 18", "income > 0", "status = 'active'"),
    categorize("income", BINS),
)


def pandas_rules(df: pd.DataFrame) -> pd.DataFrame:
    """The tutorial's cleaning and business rules, vectorised pandas."""
    df = df.drop_duplicates()
    df = df.dropna(subset=["email"])
    df["age"] = df["age"].fillna(0)
    df["income"] = df["income"].fillna(df["income"].mean())
    df["status"] = df["status"].fillna("active")
    df["created_at"] = pd.to_datetime(df["created_at"], format="ISO8601")
    df["age"] = df["age"].astype("int64")
    df["income"] = df["income"].astype("float64")
    for column, operations in STRING_CLEANING.items():
        if df[column].notna().any():
            for operation in operations:
                df[column] = getattr(df[column].str, operation)()
    # Not `df["income"] // 10000 * 10000`: numpy's inf // 10000 is NaN (see the module doc).
    df["income_bracket"] = np.floor(df["income"] / 10000) * 10000
    df = df[(df["age"] >= 18) & (df["income"] > 0) & (df["status"] == "active")]
    conditions = [
        (df["income"] >= b.get("min", -math.inf)) & (df["income"] <= b.get("max", math.inf))
        for b in BINS.values()
    ]
    df["income_category"] = np.select(conditions, list(BINS), default="Other")
    return df


def as_polars(df: pd.DataFrame) -> pl.DataFrame:
    out = pl.from_pandas(df.reset_index(drop=True))
    return out.with_columns(
        pl.col("created_at").cast(pl.Datetime("us")),
        pl.col("income_category").cast(pl.String),
    )


def canonical(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns, nulls_last=True)


def run_lakeflow(frame: pl.DataFrame) -> pl.DataFrame | ConversionFailed:
    result = LAKEFLOW(frame.lazy())
    assert not isinstance(result, Failure), result
    try:
        return result.unwrap().collect()
    except Exception as exc:
        failure = from_exception(exc, stage=LAKEFLOW.name)
        assert isinstance(failure, ConversionFailed), failure
        return failure


def reference(frame: pl.DataFrame) -> pl.DataFrame | None:
    """The pandas result, or None where pandas raises on a conversion."""
    try:
        with np.errstate(invalid="ignore"):  # the mean of +inf and -inf
            return as_polars(pandas_rules(frame.to_pandas()))
    except (ValueError, OverflowError) as exc:
        note(f"pandas raised {exc!r}")
        return None


TUTORIAL_SAMPLE = users_frame(
    [
        {
            "id": i,
            "name": f" User {i} ",
            "email": f"User{i}@Example.com" if i % 10 else None,
            "age": float(20 + i % 50),
            "income": float(30000 + i * 1000),
            "status": "active" if i % 5 else "inactive",
            "created_at": f"2024-01-{i % 28 + 1:02d}",
        }
        for i in range(1, 101)
    ]
)


@given(frame=users_frames(max_size=25))
@example(frame=TUTORIAL_SAMPLE)
@example(frame=special_float_users())
@example(frame=all_null_users())
@example(frame=empty_users())
def test_lakeflow_matches_the_pandas_rules(frame: pl.DataFrame) -> None:
    """lakeflow's stages give the same rows as the pandas rules, or fail where pandas raises."""
    expected = reference(frame)
    got = run_lakeflow(frame)
    if expected is None:
        assert isinstance(got, ConversionFailed)
        assert got.column == "age"
        return
    assert isinstance(got, pl.DataFrame), got
    note(f"lakeflow:\n{got}\npandas:\n{expected}")
    assert_frame_equal(
        canonical(got),
        canonical(expected.select(got.columns)),
        check_dtypes=False,
        rel_tol=1e-9,
        abs_tol=1e-6,
    )
    assert got.schema["age"] == pl.Int64
    assert got.schema["created_at"] == pl.Datetime("us")


def test_the_tutorial_sample_keeps_its_adults_with_incomes() -> None:
    """On the tutorial's own sample data both agree and keep the active rows with e-mail."""
    got = run_lakeflow(TUTORIAL_SAMPLE)
    assert isinstance(got, pl.DataFrame)
    expected_ids: list[Any] = [i for i in range(1, 101) if i % 10 and i % 5]
    assert sorted(got["id"].to_list()) == expected_ids
