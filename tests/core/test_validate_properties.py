"""Validation properties: the split is exact, every reason is true, counts match a recount."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import polars as pl
from hypothesis import example, given, note
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from polars.testing.parametric import column, dataframes

from lakeflow.core.validate import (
    QUARANTINE_REASONS,
    Checks,
    Property,
    Rule,
    Schema,
    Validated,
    ValuesRef,
)
from lakeflow.execute import validate

Row = Mapping[str, Any]

CODES = ["a", "b", "é", "日本", "zz", "A", ""]
REFERENCE = ["a", "b", "日本"]
ENUM = ["a", "b", "é", "日本"]
CODE_PATTERN = "^[a-zé日本]+$"

CHECKS = Checks(
    schema=Schema(
        {
            "age": Property(type="integer", minimum=0, maximum=150),
            "score": Property(type="number", minimum=-1.0, maximum=1.0),
            "code": Property(type="string", enum=ENUM, pattern=CODE_PATTERN),
            "name": Property(pattern="^[A-Z]"),
        },
        required=["id"],
    ),
    unique=["id", ("code", "age"), "score"],
    references={"code": ValuesRef(REFERENCE)},
    rules=[Rule("adult", "age >= 18", "warning"), Rule("short_name", "length(name) <= 5")],
    max_invalid_fraction=1.0,
)

SCHEMA = {
    "id": pl.Int64,
    "age": pl.Int64,
    "score": pl.Float64,
    "code": pl.String,
    "name": pl.String,
}

frames = dataframes(
    [
        column("id", pl.Int64, strategy=st.integers(-3, 3)),
        column("age", pl.Int64, strategy=st.integers(-20, 200)),
        column(
            "score",
            pl.Float64,
            strategy=st.floats() | st.sampled_from([0.0, -0.0, 0.5, math.nan, math.inf]),
        ),
        column("code", pl.String, strategy=st.sampled_from(CODES)),
        column("name", pl.String, strategy=st.text(max_size=8)),
    ],
    min_size=0,
    max_size=25,
)


def _nan(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _norm(value: object) -> object:
    """Equality as Polars/SQL uniqueness sees it: NaN equals NaN, -0.0 equals 0.0."""
    if _nan(value):
        return "NaN"
    if isinstance(value, float) and value == 0.0:
        return 0.0
    return value


def _in_range(value: object, low: float, high: float) -> bool:
    return value is None or (not _nan(value) and low <= value <= high)  # type: ignore[operator]


def _oracle(rows: list[dict[str, Any]]) -> dict[str, Callable[[Row], bool]]:
    """Brute-force, row-by-row definitions of every rule: True means the row passes."""
    ids = Counter(r["id"] for r in rows if r["id"] is not None)
    pairs = Counter(
        (r["code"], r["age"]) for r in rows if r["code"] is not None and r["age"] is not None
    )
    scores = Counter(_norm(r["score"]) for r in rows if r["score"] is not None)
    return {
        "schema:age:minimum": lambda r: r["age"] is None or r["age"] >= 0,
        "schema:age:maximum": lambda r: r["age"] is None or r["age"] <= 150,
        "schema:score:minimum": lambda r: _in_range(r["score"], -1.0, math.inf),
        "schema:score:maximum": lambda r: _in_range(r["score"], -math.inf, 1.0),
        "schema:code:enum": lambda r: r["code"] is None or r["code"] in ENUM,
        "schema:code:pattern": lambda r: (
            r["code"] is None or re.search(CODE_PATTERN, r["code"]) is not None
        ),
        "schema:name:pattern": lambda r: (
            r["name"] is None or re.search("^[A-Z]", r["name"]) is not None
        ),
        "required:id": lambda r: r["id"] is not None,
        "unique:id": lambda r: r["id"] is None or ids[r["id"]] == 1,
        "unique:code,age": lambda r: (
            r["code"] is None or r["age"] is None or pairs[(r["code"], r["age"])] == 1
        ),
        "unique:score": lambda r: r["score"] is None or scores[_norm(r["score"])] == 1,
        "references:code": lambda r: r["code"] is None or r["code"] in REFERENCE,
        "short_name": lambda r: r["name"] is None or len(r["name"]) <= 5,
        "adult": lambda r: r["age"] is None or r["age"] >= 18,
    }


WARNING_RULES = {"adult"}


def _run(frame: pl.DataFrame) -> tuple[pl.DataFrame, Validated]:
    indexed = frame.with_row_index("rid")
    outcome = validate(indexed.lazy(), CHECKS).unwrap()
    return indexed, outcome


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns, nulls_last=True)


NASTY = pl.DataFrame(
    {
        "id": [1, 1, None, 2],
        "age": [17, None, 151, -1],
        "score": [math.nan, -math.inf, math.inf, -0.0],
        "code": ["日本", None, "", "A"],
        "name": ["Ωmega", "Zoë", None, "ABCDEFG"],
    },
    schema=SCHEMA,
)
ALL_NULL = pl.DataFrame({c: [None, None, None] for c in SCHEMA}, schema=SCHEMA)
EMPTY = pl.DataFrame(schema=SCHEMA)


@given(frame=frames)
@example(frame=NASTY)
@example(frame=ALL_NULL)
@example(frame=EMPTY)
def test_valid_and_quarantine_partition_the_input(frame: pl.DataFrame) -> None:
    """valid + quarantine (without the reasons column) is exactly the input multiset."""
    note(repr(frame.to_dicts()))
    indexed, outcome = _run(frame)
    valid = outcome.valid.collect()
    quarantine = outcome.quarantine.collect()
    assert quarantine.columns == [*indexed.columns, QUARANTINE_REASONS]
    assert valid.height + quarantine.height == indexed.height
    union = pl.concat([valid, quarantine.drop(QUARANTINE_REASONS)])
    assert_frame_equal(_sorted(union), _sorted(indexed))
    assert set(valid["rid"]).isdisjoint(set(quarantine["rid"]))


@given(frame=frames)
@example(frame=NASTY)
@example(frame=ALL_NULL)
@example(frame=EMPTY)
def test_reasons_are_exactly_the_error_rules_each_row_breaks(frame: pl.DataFrame) -> None:
    """Each quarantined row lists exactly the error rules it breaks, in declared order."""
    note(repr(frame.to_dicts()))
    indexed, outcome = _run(frame)
    rows = indexed.to_dicts()
    oracle = _oracle(rows)
    order = [name for name in oracle if name not in WARNING_RULES]
    expected = {r["rid"]: [name for name in order if not oracle[name](r)] for r in rows}
    quarantined = {q["rid"]: q[QUARANTINE_REASONS] for q in outcome.quarantine.collect().to_dicts()}
    assert quarantined == {rid: broken for rid, broken in expected.items() if broken}
    valid_ids = set(outcome.valid.collect()["rid"])
    assert valid_ids == {rid for rid, broken in expected.items() if not broken}


@given(frame=frames)
@example(frame=NASTY)
@example(frame=ALL_NULL)
@example(frame=EMPTY)
def test_counts_and_fractions_match_a_brute_force_recount(frame: pl.DataFrame) -> None:
    """Per-rule counts, invalid/warning rows and sample sizes equal a row-by-row recount."""
    note(repr(frame.to_dicts()))
    indexed, outcome = _run(frame)
    rows = indexed.to_dicts()
    oracle = _oracle(rows)
    report = outcome.report
    for name, passes in oracle.items():
        failed = sum(not passes(r) for r in rows)
        result = report.rule(name)
        assert result.failed_rows == failed, name
        shown = 0 if name.startswith("required:") else min(failed, 5)  # nulls: no samples
        assert len(result.samples) == shown, name
        assert result.outcome == (
            "passed" if not failed else "warning" if name in WARNING_RULES else "failed"
        )
    invalid = [r for r in rows if any(not oracle[n](r) for n in oracle if n not in WARNING_RULES)]
    assert report.rows == len(rows)
    assert report.invalid_rows == len(invalid)
    assert report.invalid_fraction == (len(invalid) / len(rows) if rows else 0.0)
    warned = [r for r in rows if r not in invalid and not oracle["adult"](r)]
    assert report.warning_rows == len(warned)
    assert report.status == ("passed" if not invalid and not warned else "warning")


def _cell_missing(value: object) -> bool:
    return value is None or _nan(value)


@given(frame=frames)
@example(frame=NASTY)
@example(frame=ALL_NULL)
@example(frame=EMPTY)
def test_quality_metrics_match_their_definitions(frame: pl.DataFrame) -> None:
    """Each metric equals its docstring definition computed row by row."""
    note(repr(frame.to_dicts()))
    indexed, outcome = _run(frame)
    rows = indexed.to_dicts()
    metrics = outcome.metrics
    n, cols = len(rows), len(indexed.columns)
    missing = sum(_cell_missing(v) for r in rows for v in r.values())
    distinct = len({tuple(_norm(v) for v in r.values()) for r in rows})
    oracle = _oracle(rows)
    accuracy_rules = [n_ for n_ in oracle if n_.startswith(("schema:", "short", "adult"))]
    consistency_rules = [n_ for n_ in oracle if n_.startswith(("unique:", "references:"))]
    accurate = sum(all(oracle[x](r) for x in accuracy_rules) for r in rows)
    consistent = sum(all(oracle[x](r) for x in consistency_rules) for r in rows)
    assert metrics.record_count == n
    assert metrics.null_percentage == (100.0 * missing / (n * cols) if n else 0.0)
    assert metrics.duplicate_percentage == (100.0 * (n - distinct) / n if n else 0.0)
    assert metrics.completeness_score == (1 - missing / (n * cols) if n else 1.0)
    assert metrics.accuracy_score == (1 - (n - accurate) / n if n else 1.0)
    assert metrics.consistency_score == (1 - (n - consistent) / n if n else 1.0)
    schema_rules = [x for x in oracle if x.startswith(("schema:", "required:"))]
    assert metrics.schema_violations == sum(not oracle[x](r) for x in schema_rules for r in rows)
    assert metrics.timeliness_score is None
    assert math.isclose(
        metrics.overall_score,
        (metrics.completeness_score + metrics.accuracy_score + metrics.consistency_score) / 3,
    )


@given(
    frame=dataframes(
        min_cols=1,
        max_cols=4,
        max_size=12,
        excluded_dtypes=[pl.Object, pl.Extension],  # Object: opaque; Extension: test-only
    )
)
def test_any_frame_validates_without_exceptions(frame: pl.DataFrame) -> None:
    """Unique, completeness and duplicate metrics run on frames of any dtype (nested too)."""
    note(repr(frame.schema))
    first = frame.columns[0]
    checks = Checks(unique=[first, tuple(frame.columns)], max_invalid_fraction=1.0)
    outcome = validate(frame.lazy(), checks).unwrap()
    valid = outcome.valid.collect()
    quarantine = outcome.quarantine.collect()
    assert valid.height + quarantine.height == frame.height
    assert outcome.metrics.record_count == frame.height
    assert 0.0 <= outcome.metrics.duplicate_percentage <= 100.0
