"""Differential test: lakeflow's validation agrees with the same checks written in pandas."""

from __future__ import annotations

import math

import pandas as pd
import polars as pl
from hypothesis import example, given, note
from hypothesis import strategies as st
from polars.testing.parametric import column, dataframes

from lakeflow.core.validate import (
    QUARANTINE_REASONS,
    Checks,
    Completeness,
    Property,
    Rule,
    Schema,
    ValuesRef,
)
from lakeflow.execute import validate

COUNTRIES = ["US", "DE", "FR"]
STATUSES = ["active", "inactive"]

CHECKS = Checks(
    schema=Schema(
        {
            "id": Property(type="integer", minimum=1),
            "age": Property(type="integer", minimum=0, maximum=150),
            "income": Property(type="number", minimum=0),
            "status": Property(type="string", enum=STATUSES),
            "email": Property(type="string", pattern="^[^@ ]+@[^@ ]+$"),
        },
        required=["id", "email"],
    ),
    completeness=Completeness(["id", "email", "income"], threshold=0.0),
    unique=["id", "email"],
    references={"country": ValuesRef(COUNTRIES)},
    rules=[
        Rule("adult", "age >= 18", severity="warning"),
        Rule("positive_income", "income > 0"),
        Rule("email_has_at", "email LIKE '%@%'"),
    ],
    max_invalid_fraction=1.0,
)


def pandas_failures(df: pd.DataFrame) -> dict[str, pd.Series]:
    """The checks the tutorial's way, in vectorised pandas: True where a row breaks a rule.

    Semantics as documented for lakeflow: a missing value (None/NaN) passes range, enum,
    pattern, reference and rule checks (like a SQL CHECK) and fails ``required``; duplicates
    are every row sharing a non-missing value.
    """
    age, income, ident, email = df["age"], df["income"], df["id"], df["email"]
    return {
        "schema:id:minimum": (ident < 1).fillna(False),
        "schema:age:minimum": (age < 0).fillna(False),
        "schema:age:maximum": (age > 150).fillna(False),
        "schema:income:minimum": income.notna() & ~(income >= 0),
        "schema:status:enum": df["status"].notna() & ~df["status"].isin(STATUSES),
        "schema:email:pattern": email.notna()
        & ~email.str.contains("^[^@ ]+@[^@ ]+$", regex=True).fillna(False).astype(bool),
        "required:id": ident.isna(),
        "required:email": email.isna(),
        "unique:id": ident.notna() & ident.duplicated(keep=False),
        "unique:email": email.notna() & email.duplicated(keep=False),
        "references:country": df["country"].notna() & ~df["country"].isin(COUNTRIES),
        "adult": (age < 18).fillna(False),
        "positive_income": (income <= 0).fillna(False),
        "email_has_at": email.notna()
        & ~email.str.contains("@", regex=False).fillna(False).astype(bool),
    }


def to_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    """Nullable pandas dtypes keep null (NA) apart from NaN, as Polars does."""
    return pd.DataFrame(
        {
            "id": pd.array(frame["id"].to_list(), dtype="Int64"),
            "age": pd.array(frame["age"].to_list(), dtype="Int64"),
            "income": pd.Series(frame["income"].to_list(), dtype="float64"),
            "status": pd.Series(frame["status"].to_list(), dtype="object"),
            "email": pd.Series(frame["email"].to_list(), dtype="object"),
            "country": pd.Series(frame["country"].to_list(), dtype="object"),
        }
    )


users = dataframes(
    [
        column("id", pl.Int64, strategy=st.integers(-1, 6)),
        column("age", pl.Int64, strategy=st.integers(-5, 160)),
        column("income", pl.Float64, strategy=st.floats(-10, 1e6) | st.just(0.0), allow_null=False),
        column("status", pl.String, strategy=st.sampled_from([*STATUSES, "Active", ""])),
        column(
            "email",
            pl.String,
            strategy=st.sampled_from(["a@x.io", "b@x.io", "bad", "c @x.io", "ü@ß.de", "@"]),
        ),
        column("country", pl.String, strategy=st.sampled_from([*COUNTRIES, "XX", "us"])),
    ],
    min_size=0,
    max_size=30,
)


@given(frame=users)
@example(
    frame=pl.DataFrame(
        {
            "id": [1, 1, None],
            "age": [17, None, 151],
            "income": [math.inf, -math.inf, 0.0],
            "status": ["active", None, "Active"],
            "email": ["ü@ß.de", "ü@ß.de", None],
            "country": ["US", None, "XX"],
        },
        schema={
            "id": pl.Int64,
            "age": pl.Int64,
            "income": pl.Float64,
            "status": pl.String,
            "email": pl.String,
            "country": pl.String,
        },
    )
)
def test_lakeflow_agrees_with_a_pandas_implementation(frame: pl.DataFrame) -> None:
    """Per rule, the failing rows and their counts are the ones pandas finds."""
    note(repr(frame.to_dicts()))
    expected = pandas_failures(to_pandas(frame))
    validated = validate(frame.with_row_index("rid").lazy(), CHECKS).unwrap()
    report = validated.report
    for name, fails in expected.items():
        assert report.rule(name).failed_rows == int(fails.sum()), name
    error_rules = [n for n in expected if n != "adult"]
    broken = pd.concat([expected[n] for n in error_rules], axis=1).any(axis=1)
    quarantine = validated.quarantine.collect()
    assert sorted(quarantine["rid"].to_list()) == [int(i) for i in broken[broken].index]
    pairs = zip(quarantine["rid"].to_list(), quarantine[QUARANTINE_REASONS].to_list(), strict=True)
    for rid, reasons in pairs:
        assert reasons == [n for n in error_rules if expected[n].iloc[rid]]
    completeness = {
        c: (to_pandas(frame)[c].notna().mean() if frame.height else 1.0)
        for c in ("id", "email", "income")
    }
    for c, fraction in completeness.items():
        assert report.rule(f"completeness:{c}").observed == fraction
