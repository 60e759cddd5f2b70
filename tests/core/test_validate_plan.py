"""Validation plans: each check kind, severities, enforce, tolerances, coercion and reports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from polars.io.plugins import register_io_source
from polars.testing import assert_frame_equal
from returns.result import Failure, Result, Success

from lakeflow.core.errors import (
    ConfigError,
    InvalidExpression,
    InvalidOption,
    LakeflowError,
    MissingColumns,
    StageError,
    StageFailed,
    ValidationFailed,
)
from lakeflow.core.validate import (
    QUARANTINE_REASONS,
    REPORT_SCHEMA_VERSION,
    Checks,
    Completeness,
    DatasetRef,
    FrameRef,
    Property,
    Quality,
    Rule,
    Schema,
    Validated,
    ValidationReport,
    ValuesRef,
    plan_validation,
    resolve_references,
)
from lakeflow.core.validate.rules import distinct_rows, duplicated
from lakeflow.execute import validate


def _unreadable(schema: dict[str, Any]) -> pl.LazyFrame:
    """A lazy source that fails the test if anything tries to read its data."""

    def source(*_: object) -> Iterator[pl.DataFrame]:
        raise AssertionError("the data was read while planning")

    return register_io_source(source, schema=schema)


def _ok(result: Result[Validated, StageError]) -> Validated:
    assert isinstance(result, Success), result
    validated: Validated = result.unwrap()
    return validated


def _failed_report(result: Result[Any, StageError]) -> ValidationReport:
    assert isinstance(result, Failure), result
    failure = result.failure()
    assert isinstance(failure, ValidationFailed), failure
    return failure.report


def _reasons(validated: Validated, key: str) -> dict[object, list[str]]:
    quarantine = validated.quarantine.collect()
    return dict(
        zip(quarantine[key].to_list(), quarantine[QUARANTINE_REASONS].to_list(), strict=True)
    )


USERS = pl.LazyFrame(
    {
        "id": [1, 2, 3, 3, None],
        "age": [25, 17, -5, 40, 30],
        "email": ["a@x.io", "b@x.io", "bad", "d@x.io", None],
        "country": ["US", "DE", "US", "XX", None],
    }
)


# --- dataset-level failures are known from the schema -----------------------------------------


def test_type_mismatch_fails_before_any_data_is_read() -> None:
    """A declared type the column does not have fails at plan time, without reading rows."""
    frame = _unreadable({"age": pl.String, "id": pl.Int64})
    checks = Checks(schema=Schema({"age": Property(type="integer", minimum=0)}, required=["x"]))
    report = _failed_report(plan_validation(frame, checks))
    assert report.status == "failed" and report.rows is None
    assert report.rule("schema:age:type").outcome == "failed"
    assert "should be integer but is String" in report.rule("schema:age:type").message
    assert report.rule("required:x").outcome == "failed"
    assert report.rule("schema:age:minimum").outcome == "failed"  # minimum needs numbers
    assert "schema:age:type" in report.summary() and "required:x" in report.summary()


def test_enforce_false_turns_dataset_failures_into_warnings() -> None:
    """With enforce off, a type mismatch is reported as a warning and rows are still split."""
    frame = pl.LazyFrame({"age": ["1", "x"], "id": [1, 1]})
    checks = Checks(schema=Schema({"age": Property(type="integer")}), unique=["id"], enforce=False)
    validated = _ok(validate(frame, checks))
    assert validated.report.status == "warning"
    assert validated.report.rule("schema:age:type").outcome == "failed"
    assert validated.quarantine.collect().height == 2
    assert "not enforced" in validated.report.summary()


def test_completeness_below_threshold_fails_whatever_the_row_tolerance() -> None:
    """Completeness is dataset-level: it fails even when every row error is tolerated."""
    frame = pl.LazyFrame({"email": ["a", None, None, "d"], "score": [1.0, float("nan"), 2.0, 3.0]})
    checks = Checks(
        completeness=Completeness(["email", "score"], threshold=0.7), max_invalid_fraction=1.0
    )
    report = _failed_report(validate(frame, checks))
    email, score = report.rule("completeness:email"), report.rule("completeness:score")
    assert (email.outcome, email.observed, email.failed_rows) == ("failed", 0.5, 2)
    assert (score.outcome, score.observed, score.failed_rows) == ("passed", 0.75, 1)
    assert report.metrics is not None and report.metrics.record_count == 4


def test_missing_columns_of_checks_are_dataset_failures_all_reported() -> None:
    """Checks naming absent columns each fail with a message, all at once."""
    frame = pl.LazyFrame({"a": [1]})
    checks = Checks(
        unique=["nope"],
        references={"gone": ValuesRef([1])},
        completeness=Completeness(["missing"]),
        rules=[Rule("r", "ghost > 1")],
        schema=Schema({"absent": Property(minimum=1)}),
    )
    report = _failed_report(plan_validation(frame, checks))
    failed = {r.name for r in report.failed_rules}
    assert failed == {"unique:nope", "references:gone", "completeness:missing", "r"}
    assert report.rule("schema:absent:minimum").outcome == "skipped"
    assert "ghost" in report.rule("r").message


# --- row-level checks --------------------------------------------------------------------------


def test_each_check_kind_quarantines_its_rows_with_reasons() -> None:
    """Range, pattern, required, unique and reference failures name the rules each row broke."""
    checks = Checks(
        schema=Schema(
            {"age": Property(type="integer", minimum=0), "email": Property(pattern="@")},
            required=["id"],
        ),
        unique=["id"],
        references={"country": ValuesRef(["US", "DE"])},
        max_invalid_fraction=1.0,
    )
    validated = _ok(validate(USERS, checks))
    assert _reasons(validated, "age") == {
        -5: ["schema:age:minimum", "schema:email:pattern", "unique:id"],
        40: ["unique:id", "references:country"],
        30: ["required:id"],
    }
    assert validated.valid.collect()["id"].to_list() == [1, 2]


def test_warning_rules_count_but_keep_rows_valid() -> None:
    """A failing warning rule is reported and counted; its rows stay in valid."""
    checks = Checks(rules=[Rule("adult", "age >= 18", severity="warning")])
    validated = _ok(validate(USERS, checks))
    adult = validated.report.rule("adult")
    assert (adult.outcome, adult.failed_rows, adult.samples) == ("warning", 2, ("17", "-5"))
    assert validated.report.status == "warning" and validated.report.warning_rows == 2
    assert validated.valid.collect().height == 5
    assert validated.quarantine.collect().height == 0


def test_rule_condition_that_is_null_passes_like_a_sql_check() -> None:
    """A condition evaluating to NULL (unknown) is not a violation."""
    frame = pl.LazyFrame({"age": [None, 20, 10]}, schema={"age": pl.Int64})
    validated = _ok(
        validate(frame, Checks(rules=[Rule("adult", "age >= 18")], max_invalid_fraction=1))
    )
    assert validated.quarantine.collect()["age"].to_list() == [10]


def test_rules_accept_polars_expressions_and_sample_their_columns() -> None:
    """A rule may be a pl.Expr; several columns are sampled as JSON objects."""
    frame = pl.LazyFrame({"a": [1, 5], "b": [2, 1]})
    rule = Rule("a_below_b", pl.col("a") < pl.col("b"))
    report = _failed_report(validate(frame, Checks(rules=[rule])))
    assert report.rule("a_below_b").samples == ('{"a":5,"b":1}',)


def test_non_boolean_rule_is_a_dataset_failure() -> None:
    """A condition that is not boolean cannot judge rows: the rule fails at plan time."""
    report = _failed_report(plan_validation(USERS, Checks(rules=[Rule("sum", "age + 1")])))
    assert "must be boolean" in report.rule("sum").message


def test_unique_quarantines_every_duplicate_and_nulls_never_collide() -> None:
    """All rows sharing a value are quarantined (no first-wins); null keys are never duplicates."""
    frame = pl.LazyFrame(
        {
            "k": ["x", "x", None, None, "y"],
            "a": [1, 1, 2, 2, 3],
            "b": [None, None, 5, 5, 6],
        }
    )
    checks = Checks(unique=["k", ("a", "b")], max_invalid_fraction=1.0)
    validated = _ok(validate(frame, checks))
    report = validated.report
    assert report.rule("unique:k").failed_rows == 2
    assert report.rule("unique:a,b").failed_rows == 2  # (2, 5) twice; (1, null) never collides
    assert sorted(validated.valid.collect()["a"].to_list()) == [3]


def test_float_uniqueness_treats_nan_as_equal_and_negative_zero_as_zero() -> None:
    """NaN collides with NaN and -0.0 with 0.0 (the semantics of SQL unique indexes)."""
    frame = pl.LazyFrame({"f": [float("nan"), float("nan"), -0.0, 0.0, 1.0]})
    report = _ok(validate(frame, Checks(unique=["f"], max_invalid_fraction=1))).report
    assert report.rule("unique:f").failed_rows == 4


@pytest.mark.parametrize(
    "values",
    [["a", "b", "a", "c", None, None, "é", "b"], [b"a", b"b", b"a", None, None, b"\x80"]],
)
def test_duplicate_detection_is_exact_even_when_every_hash_collides(values: list[object]) -> None:
    """With a hash that collides for almost every row, only true duplicates are flagged."""
    frame = pl.DataFrame({"k": values})

    def terrible(expr: pl.Expr) -> pl.Expr:
        return expr.hash() % 2

    for nulls_distinct in (True, False):
        flagged = frame.select(
            duplicated(["k"], frame.schema, nulls_distinct=nulls_distinct, hasher=terrible)
        ).to_series()
        expected = [(v is not None or not nulls_distinct) and values.count(v) > 1 for v in values]
        assert flagged.to_list() == expected
    distinct = frame.select(distinct_rows(["k"])).item()
    assert distinct == len(set(values))


def test_reference_frame_matches_keys_of_another_type_and_is_read_in_the_same_plan() -> None:
    """Keys are compared after casting the reference to the column's type; nulls pass."""
    reference = pl.LazyFrame({"code": ["1", "2", "x", None]})
    frame = pl.LazyFrame({"user": [1, 2, 3, None]})
    checks = Checks(references={"user": FrameRef(reference, "code")}, max_invalid_fraction=1)
    validated = _ok(validate(frame, checks))
    assert validated.quarantine.collect()["user"].to_list() == [3]
    assert validated.valid.collect()["user"].to_list() == [1, 2, None]


def test_unresolved_dataset_reference_is_a_clear_failure() -> None:
    """A lake dataset reference must be resolved by the shell before planning."""
    checks = Checks(references={"country": DatasetRef("ref/countries", "code")})
    result = plan_validation(USERS, checks)
    assert isinstance(result, Failure)
    failure = result.failure()
    assert isinstance(failure, StageFailed)
    assert "ref/countries" in failure.message and "resolve_references" in failure.message


def test_resolve_references_replaces_dataset_references_with_frames() -> None:
    """resolve_references asks the resolver for each dataset and keeps other references."""
    asked: list[str] = []

    def resolver(path: str) -> pl.LazyFrame:
        asked.append(path)
        return pl.LazyFrame({"code": ["US", "DE"]})

    checks = Checks(
        references={"country": DatasetRef("ref/countries", "code"), "id": ValuesRef([1, 2, 3])}
    )
    resolved = resolve_references(checks, resolver)
    assert asked == ["ref/countries"]
    assert isinstance(resolved.references["country"], FrameRef)
    assert resolved.references["id"] == ValuesRef([1, 2, 3])
    report = _ok(validate(USERS, replace(resolved, max_invalid_fraction=1.0))).report
    assert report.rule("references:country").failed_rows == 1


# --- tolerance and status ----------------------------------------------------------------------


@pytest.mark.parametrize(("tolerance", "passes"), [(0.4, True), (0.39, False), (0.0, False)])
def test_max_invalid_fraction_is_inclusive(tolerance: float, passes: bool) -> None:
    """At or below the tolerated fraction the result is Success; above it, Failure."""
    frame = pl.LazyFrame({"x": [1, 2, 3, -1, -2]})
    checks = Checks(rules=[Rule("positive", "x > 0")], max_invalid_fraction=tolerance)
    result = validate(frame, checks)
    if passes:
        report = _ok(result).report
        assert report.status == "warning" and report.invalid_fraction == 0.4
    else:
        report = _failed_report(result)
        assert report.status == "failed" and report.invalid_rows == 2
        assert "2 of 5 rows invalid (40.00% > max" in report.summary()


def test_clean_data_passes() -> None:
    """Data that breaks nothing gets status passed and an empty quarantine."""
    frame = pl.LazyFrame({"x": [1, 2]})
    validated = _ok(validate(frame, Checks(rules=[Rule("positive", "x > 0")], unique=["x"])))
    assert validated.report.status == "passed"
    assert (
        validated.report.summary() == "validation passed; 0 of 2 rows invalid (0.00% <= max 0.00%)"
    )
    assert validated.quarantine.collect().height == 0


def test_samples_are_the_first_five_failing_values_in_input_order() -> None:
    """A rule keeps at most five samples, taken in input order."""
    frame = pl.LazyFrame({"x": [*range(-10, 0), 1]})
    report = _failed_report(validate(frame, Checks(rules=[Rule("positive", "x > 0")])))
    assert report.rule("positive").samples == ("-10", "-9", "-8", "-7", "-6")
    assert report.rule("positive").failed_rows == 10


# --- coercion ----------------------------------------------------------------------------------


def test_coerce_casts_valid_rows_and_keeps_original_values_in_quarantine() -> None:
    """Valid rows carry cast values; rows that do not convert keep their text as evidence."""
    frame = pl.LazyFrame(
        {
            "age": [" 42", "x", "7", None],
            "on": ["2024-01-02", "2024-01-02 03:04:05", "nope", "2024-02-30"],
            "ok": ["yes", "FALSE", "1", "maybe"],
        }
    )
    checks = Checks(
        schema=Schema(
            {
                "age": Property(type="integer", minimum=10),
                "on": Property(type="datetime"),
                "ok": Property(type="boolean"),
            },
            coerce=True,
        ),
        max_invalid_fraction=1.0,
    )
    validated = _ok(validate(frame, checks))
    assert_frame_equal(
        validated.valid.collect(),
        pl.DataFrame(
            {"age": [42], "on": [datetime(2024, 1, 2)], "ok": [True]},
            schema={"age": pl.Int64, "on": pl.Datetime("us"), "ok": pl.Boolean},
        ),
    )
    quarantine = validated.quarantine.collect()
    assert quarantine.schema["age"] == pl.String
    assert _reasons(validated, "age") == {
        "x": ["schema:age:type"],
        "7": ["schema:age:minimum", "schema:on:type"],
        None: ["schema:on:type", "schema:ok:type"],
    }
    assert validated.report.rule("schema:age:type").samples == ("x",)


def test_coerce_rejects_fractional_floats_for_integer_columns() -> None:
    """1.0 converts to integer 1, while 1.5, NaN and inf break the type rule."""
    frame = pl.LazyFrame({"n": [1.0, 1.5, float("nan"), float("inf"), None]})
    checks = Checks(
        schema=Schema({"n": Property(type="integer")}, coerce=True), max_invalid_fraction=1
    )
    validated = _ok(validate(frame, checks))
    assert validated.valid.collect()["n"].to_list() == [1, None]
    assert validated.report.rule("schema:n:type").failed_rows == 3


# --- temporal bounds and timeliness -------------------------------------------------------------


def test_date_and_datetime_bounds_apply_to_temporal_columns() -> None:
    """Minimum/maximum accept dates and datetimes; aware bounds compare in UTC."""
    frame = pl.LazyFrame(
        {
            "d": [date(2019, 12, 31), date(2020, 1, 1)],
            "t": [datetime(2020, 1, 1, 0, 30), datetime(2020, 1, 1, 2)],
        }
    ).with_columns(pl.col("t").dt.replace_time_zone("Europe/Berlin"))
    checks = Checks(
        schema=Schema(
            {
                "d": Property(minimum=date(2020, 1, 1)),
                "t": Property(maximum=datetime(2020, 1, 1, 0, 0, tzinfo=UTC)),
            }
        ),
        max_invalid_fraction=1,
    )
    report = _ok(validate(frame, checks)).report
    assert report.rule("schema:d:minimum").failed_rows == 1
    assert report.rule("schema:t:maximum").failed_rows == 1  # 02:00 Berlin = 01:00 UTC


def test_timeliness_counts_rows_within_the_freshness_window() -> None:
    """Timeliness is the share of rows with now - freshness <= timestamp <= now."""
    now = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    frame = pl.LazyFrame(
        {
            "updated": [
                datetime(2024, 6, 1, 11),
                datetime(2024, 5, 31, 12),
                datetime(2024, 5, 31, 11, 59),
                datetime(2024, 6, 1, 13),
                None,
            ]
        }
    )
    checks = Checks(quality=Quality("updated", timedelta(hours=24)))
    metrics = _ok(validate(frame, checks, now=now)).metrics
    assert metrics.timeliness_score == 2 / 5
    assert metrics.measured_at == now
    assert metrics.overall_score == pytest.approx((0.8 + 1 + 1 + 0.4) / 4)


def test_quality_needs_now_and_a_temporal_column() -> None:
    """Timeliness cannot be measured without `now` or on a non-temporal column."""
    quality = Checks(quality=Quality("age"))
    no_now = plan_validation(USERS, quality)
    assert isinstance(no_now, Failure) and isinstance(no_now.failure(), InvalidOption)
    wrong_type = plan_validation(USERS, quality, now=datetime(2024, 1, 1))
    assert isinstance(wrong_type, Failure) and "date or datetime" in wrong_type.failure().message
    missing = plan_validation(USERS, Checks(quality=Quality("ts")), now=datetime(2024, 1, 1))
    assert isinstance(missing, Failure) and isinstance(missing.failure(), MissingColumns)


# --- invalid options ---------------------------------------------------------------------------


def test_invalid_python_options_are_reported_together() -> None:
    """Bad options built in Python fail planning with every problem listed."""
    checks = Checks(
        schema=Schema({"age": Property(minimum=5, maximum=1, pattern="((")}),
        completeness=Completeness(["age"], threshold=1.5),
        rules=[Rule("r", "age >>= 1"), Rule("r", "age > 1", severity="fatal")],  # type: ignore[arg-type]
        max_invalid_fraction=-0.1,
    )
    result = plan_validation(USERS, checks)
    assert isinstance(result, Failure)
    failure = result.failure()
    assert isinstance(failure, ConfigError)
    paths = [p.path for p in failure.problems]
    assert paths == [
        "validate.schema.properties.age.minimum",
        "validate.schema.properties.age.pattern",
        "validate.completeness.threshold",
        "validate.rules[0].condition",
        "validate.rules[1].name",
        "validate.rules[1].severity",
        "validate.max_invalid_fraction",
    ]


def test_a_single_invalid_option_is_returned_as_itself() -> None:
    """One problem comes back as its own failure value (here an invalid SQL expression)."""
    result = plan_validation(USERS, Checks(rules=[Rule("r", "age >=")]))
    assert isinstance(result, Failure) and isinstance(result.failure(), InvalidExpression)


def test_rule_name_clashing_with_a_generated_name_is_rejected() -> None:
    """A user rule may not reuse a name another check produces."""
    result = plan_validation(USERS, Checks(unique=["id"], rules=[Rule("unique:id", "id > 0")]))
    assert isinstance(result, Failure) and isinstance(result.failure(), InvalidOption)


def test_reserved_input_column_names_are_rejected() -> None:
    """Inputs may not carry lakeflow's internal or quarantine column names."""
    frame = pl.LazyFrame({QUARANTINE_REASONS: [["x"]]})
    result = plan_validation(frame, Checks())
    assert isinstance(result, Failure) and isinstance(result.failure(), InvalidOption)


# --- report shape ------------------------------------------------------------------------------


def test_report_json_has_a_stable_versioned_shape() -> None:
    """to_json() is JSON-serialisable with fixed keys at every level."""
    checks = Checks(
        unique=["id"], completeness=Completeness(["email"], 0.5), max_invalid_fraction=1
    )
    report = _ok(validate(USERS, checks)).report
    data = json.loads(json.dumps(report.to_json()))
    assert data["schema_version"] == REPORT_SCHEMA_VERSION
    assert set(data) == {
        "schema_version", "status", "summary", "enforce", "max_invalid_fraction", "totals",
        "rules", "metrics",
    }  # fmt: skip
    assert set(data["totals"]) == {
        "rows", "valid_rows", "invalid_rows", "warning_rows", "invalid_fraction",
    }  # fmt: skip
    assert {tuple(sorted(rule)) for rule in data["rules"]} == {
        (
            "failed_rows", "kind", "level", "message", "name", "observed", "outcome",
            "samples", "severity", "threshold",
        )
    }  # fmt: skip
    assert data["metrics"]["record_count"] == 5
    assert "\n" not in report.summary()
    totals = report.totals()
    assert (totals.rows, totals.valid, totals.quarantined, totals.warnings) == (5, 3, 2, 0)


def test_a_column_of_only_nulls_satisfies_value_rules_but_not_required() -> None:
    """A Null-typed column has no values to break ranges or patterns; required still fails."""
    frame = pl.LazyFrame({"n": [None, None], "x": [1, 2]})
    checks = Checks(
        schema=Schema(
            {"n": Property(type="integer", minimum=1, pattern="x", enum=[1])}, required=["n"]
        ),
        max_invalid_fraction=1.0,
    )
    report = _ok(validate(frame, checks)).report
    assert {r.name: r.outcome for r in report.rules} == {
        "schema:n:type": "passed",
        "schema:n:minimum": "passed",
        "schema:n:enum": "passed",
        "schema:n:pattern": "passed",
        "required:n": "failed",
    }
    assert report.invalid_rows == 2


def test_conclude_refuses_a_frame_that_is_not_the_statistics_row() -> None:
    """Passing the wrong frame to conclude is API misuse: it raises instead of guessing."""
    plan = plan_validation(USERS, Checks()).unwrap()
    with pytest.raises(LakeflowError, match=r"plan\.stats"):
        plan.conclude(pl.DataFrame({"x": [1]}))
