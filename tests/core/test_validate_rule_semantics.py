"""Rule semantics users choose in YAML: null policy, info severity, composite uniqueness."""

from __future__ import annotations

from collections import Counter
from typing import Any

import polars as pl
from hypothesis import example, given
from hypothesis import strategies as st
from polars.testing.parametric import column, dataframes

from lakeflow.core.validate import QUARANTINE_REASONS, Checks
from lakeflow.execute import validate

ages = dataframes(
    [
        column("id", pl.Int64, strategy=st.integers(0, 1_000)),
        column("age", pl.Int64, strategy=st.none() | st.integers(-5, 40)),
    ],
    min_size=0,
    max_size=30,
)


def checks_from_yaml(block: dict[str, Any]) -> Checks:
    """The checks a `validate:` block of a config file stands for."""
    return Checks.from_config({**block, "max_invalid_fraction": 1.0}).unwrap()


@given(frame=ages, threshold=st.integers(-5, 40), nulls=st.sampled_from(["pass", "fail"]))
@example(
    frame=pl.DataFrame({"id": [1], "age": [None]}, schema={"id": pl.Int64, "age": pl.Int64}),
    threshold=18,
    nulls="fail",
)
def test_null_policy_decides_rows_whose_condition_is_unknown(
    frame: pl.DataFrame, threshold: int, nulls: str
) -> None:
    """`nulls: pass` keeps a row whose condition is null (SQL CHECK); `nulls: fail` drops it."""
    rule = {"name": "adult", "condition": f"age >= {threshold}", "nulls": nulls}
    result = validate(frame.lazy(), checks_from_yaml({"rules": [rule]})).unwrap()
    ages_of = frame["age"].to_list()
    failing = [a is None if nulls == "fail" else False for a in ages_of]
    failing = [
        f or (a is not None and a < threshold) for f, a in zip(failing, ages_of, strict=True)
    ]
    quarantined = result.quarantine.collect()
    assert quarantined.height == sum(failing)
    assert result.valid.collect().height == frame.height - sum(failing)
    assert result.report.rule("adult").failed_rows == sum(failing)
    assert all(reasons == ["adult"] for reasons in quarantined[QUARANTINE_REASONS].to_list())


@given(frame=ages, threshold=st.integers(-5, 40))
def test_info_rules_are_recorded_and_never_quarantine(frame: pl.DataFrame, threshold: int) -> None:
    """An `info` rule counts its failing rows in the report; rows, status and scores ignore it."""
    rule = {"name": "minor", "condition": f"age >= {threshold}", "severity": "info"}
    result = validate(frame.lazy(), checks_from_yaml({"rules": [rule]})).unwrap()
    expected = sum(1 for a in frame["age"].to_list() if a is not None and a < threshold)
    report = result.report
    assert result.valid.collect().height == frame.height
    assert result.quarantine.collect().height == 0
    assert report.rule("minor").failed_rows == expected
    assert report.rule("minor").outcome == ("info" if expected else "passed")
    assert report.status == "passed"
    assert report.totals().warnings == 0
    assert result.metrics.accuracy_score == 1.0
    assert ("notes: minor" in report.summary()) == bool(expected)


def test_severities_side_by_side() -> None:
    """error quarantines, warning keeps the row and warns, info only records."""
    frame = pl.LazyFrame({"id": [1, 2, 3], "age": [10, 20, 30]})
    rules = [
        {"name": "e", "condition": "age >= 15", "severity": "error"},
        {"name": "w", "condition": "age >= 25", "severity": "warning"},
        {"name": "i", "condition": "age >= 35", "severity": "info"},
    ]
    result = validate(frame, checks_from_yaml({"rules": rules})).unwrap()
    report = result.report
    assert [report.rule(n).outcome for n in "ewi"] == ["failed", "warning", "info"]
    assert [report.rule(n).failed_rows for n in "ewi"] == [1, 2, 3]
    assert result.quarantine.collect()["id"].to_list() == [1]
    assert report.status == "warning"
    assert report.totals().warnings == 1  # row 2: valid, broke only the warning rule


flights = dataframes(
    [
        column("id", pl.Int64, strategy=st.integers(0, 6)),
        column("year", pl.Int64, strategy=st.none() | st.integers(2020, 2021)),
        column("month", pl.Int64, strategy=st.integers(1, 2)),
        column("flight", pl.String, strategy=st.sampled_from(["LH1", "AF2"])),
    ],
    min_size=0,
    max_size=25,
)


@given(frame=flights)
def test_composite_unique_keys_written_in_yaml(frame: pl.DataFrame) -> None:
    """`unique: [id, [year, month, flight]]` quarantines rows whose id or whole key repeats."""
    checks = checks_from_yaml({"unique": ["id", ["year", "month", "flight"]]})
    assert checks.unique == ("id", ("year", "month", "flight"))
    result = validate(frame.lazy(), checks).unwrap()
    rows = frame.rows(named=True)
    ids = Counter(r["id"] for r in rows)
    keys = Counter((r["year"], r["month"], r["flight"]) for r in rows if r["year"] is not None)
    expected = Counter(
        r["id"]
        for r in rows
        if ids[r["id"]] > 1
        or (r["year"] is not None and keys[(r["year"], r["month"], r["flight"])] > 1)
    )
    quarantined = result.quarantine.collect()
    assert Counter(quarantined["id"].to_list()) == expected
    composite = result.report.rule("unique:year,month,flight")
    assert composite.failed_rows == sum(
        1 for r in rows if r["year"] is not None and keys[(r["year"], r["month"], r["flight"])] > 1
    )
