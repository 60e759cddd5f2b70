"""What a validation plan is, and how its one row of statistics becomes the report.

Pure. :class:`ValidationPlan` holds the three lazy outputs of
:func:`~lakeflow.core.validate.plan_validation` (valid rows, quarantine, statistics) and
:meth:`ValidationPlan.conclude` judges the collected statistics row: every rule's result, the
status, and the quality metrics.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

import polars as pl
from returns.result import Failure, Result, Success

from lakeflow.core.errors import LakeflowError, ValidationFailed
from lakeflow.core.validate.report import (
    Outcome,
    QualityMetrics,
    RuleResult,
    Severity,
    Status,
    ValidationReport,
)
from lakeflow.core.validate.rules import DatasetRule, RowRule

__all__ = [
    "INTERNAL",
    "QUARANTINE_REASONS",
    "PlanSpec",
    "Validated",
    "ValidationOutcome",
    "ValidationPlan",
    "static_report",
]

QUARANTINE_REASONS = "_lakeflow_failed_rules"
"""The quarantine's ``list[str]`` column naming the error rules each row broke."""

INTERNAL = "__lakeflow_"
"""Prefix of the working columns a plan adds (input columns may not use it)."""
_NOT_EVALUATED = "not evaluated: validation stopped at the dataset-level failures"
_OUTCOME_OF: Mapping[Severity, Outcome] = {"error": "failed", "warning": "warning", "info": "info"}
"""The outcome of a rule that found rows, by its severity."""


@dataclass(frozen=True, slots=True)
class ValidationOutcome:
    """A validation that passed (possibly with warnings): its report and quality metrics."""

    report: ValidationReport
    metrics: QualityMetrics


@dataclass(frozen=True, slots=True, eq=False)
class Validated:
    """Validated data: rows that passed every error rule, the quarantine, report and metrics.

    ``valid`` and ``quarantine`` together are exactly the input rows (as a multiset) and are
    disjoint; ``quarantine`` has the extra ``list[str]`` column ``_lakeflow_failed_rules``.
    """

    valid: pl.LazyFrame
    quarantine: pl.LazyFrame
    report: ValidationReport
    metrics: QualityMetrics


@dataclass(frozen=True, slots=True)
class PlanSpec:
    """What :meth:`ValidationPlan.conclude` needs to read the statistics row."""

    row_rules: tuple[RowRule, ...]
    dataset_rules: tuple[DatasetRule, ...]
    max_invalid_fraction: float
    enforce: bool
    input_columns: int
    completeness_columns: int
    timeliness: bool
    now: datetime | None
    order: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class ValidationPlan:
    """Lazy plans for the valid rows, the quarantine and one row of statistics.

    All three share one cached input: execute them together (``collect_together([stats],
    sinks=[(valid, ...), (quarantine, ...)])``) to read the source once.

    Attributes:
        valid: Rows passing every error rule; the input's columns (cast where ``coerce``).
        quarantine: Rows failing an error rule, original values, plus ``_lakeflow_failed_rules``.
        stats: One row: per-rule counts and samples, totals, completeness, metric inputs.
    """

    valid: pl.LazyFrame
    quarantine: pl.LazyFrame
    stats: pl.LazyFrame
    spec: PlanSpec = field(repr=False)

    def conclude(self, stats: pl.DataFrame) -> Result[ValidationOutcome, ValidationFailed]:
        """Pure. Judge the collected ``stats`` row: the outcome, or the failure to report.

        Raises:
            LakeflowError: ``stats`` is not the collected :attr:`stats` of this plan.
        """
        if stats.height != 1 or "rows" not in stats.columns:
            raise LakeflowError(
                "ValidationPlan.conclude needs the one-row frame collected from plan.stats"
            )
        row = stats.row(0, named=True)
        return _conclude(self.spec, row)


# ---------------------------------------------------------------------------------------------
# Concluding: statistics row -> report and metrics
# ---------------------------------------------------------------------------------------------


def _int(value: object) -> int:
    return int(cast(int, value)) if value is not None else 0


def _row_result(index: int, rule: RowRule, row: Mapping[str, object]) -> RuleResult:
    failed = _int(row[f"r{index}_failed"])
    samples = tuple(cast(list[str | None], row.get(f"r{index}_samples") or []))
    outcome: Outcome = _OUTCOME_OF[rule.severity] if failed else "passed"
    message = rule.message if not failed else f"{failed} row(s) broke: {rule.message}"
    return RuleResult(rule.name, rule.kind, "row", rule.severity, outcome, failed, samples, message)


def _dataset_result(index: int, rule: DatasetRule, row: Mapping[str, object] | None) -> RuleResult:
    def result(outcome: Outcome, message: str, **extra: object) -> RuleResult:
        if outcome == "failed":
            outcome = _OUTCOME_OF[rule.severity]
        failed_rows = cast(int | None, extra.get("failed_rows"))
        observed = cast(float | None, extra.get("observed"))
        return RuleResult(
            rule.name,
            rule.kind,
            "dataset",
            rule.severity,
            outcome,
            failed_rows,
            (),
            message,
            observed=observed,
            threshold=rule.threshold,
        )

    if rule.failure is not None:
        return result("failed", rule.failure)
    if rule.skipped is not None:
        return result("skipped", rule.skipped)
    if isinstance(rule.passed, bool):
        return result("passed" if rule.passed else "failed", rule.message)
    if row is None:
        return result("skipped", _NOT_EVALUATED)
    missing = _int(row[f"d{index}_missing"]) if rule.missing is not None else None
    if rule.observed is not None:
        raw = row[f"d{index}_observed"]
        observed = 1.0 if raw is None else float(cast(float, raw))
        threshold = rule.threshold if rule.threshold is not None else 1.0
        ok = observed >= threshold
        message = f"{rule.message}: observed {observed:.2%}, threshold {threshold:.2%}"
        return result("passed" if ok else "failed", message, failed_rows=missing, observed=observed)
    passed = bool(row[f"d{index}_passed"])
    return result("passed" if passed else "failed", rule.message, failed_rows=missing)


def _status(results: Sequence[RuleResult], too_many: bool, enforce: bool) -> Status:
    dataset_failed = any(
        r.level == "dataset" and r.outcome == "failed" and r.severity == "error" for r in results
    )
    if (dataset_failed or too_many) and enforce:
        return "failed"
    if too_many or any(r.outcome in ("failed", "warning") for r in results):
        return "warning"
    return "passed"


def static_report(spec: PlanSpec) -> ValidationReport:
    """Pure. The report of a validation stopped by dataset-level failures found from the schema."""
    results: list[RuleResult] = [
        RuleResult(r.name, r.kind, "row", r.severity, "skipped", None, (), _NOT_EVALUATED)
        for r in spec.row_rules
    ]
    results.extend(_dataset_result(i, r, None) for i, r in enumerate(spec.dataset_rules))
    ordered = tuple(sorted(results, key=_order_key(spec)))
    return ValidationReport(
        status=_status(ordered, False, spec.enforce),
        rows=None,
        invalid_rows=None,
        warning_rows=None,
        max_invalid_fraction=spec.max_invalid_fraction,
        enforce=spec.enforce,
        rules=ordered,
    )


def _order_key(spec: PlanSpec) -> Callable[[RuleResult], int]:
    order = {name: i for i, name in enumerate(spec.order)}

    def key(result: RuleResult) -> int:
        return order.get(result.name, len(order))

    return key


def _score(bad: int, total: int) -> float:
    return 1.0 - bad / total if total else 1.0


def _metrics(
    spec: PlanSpec, row: Mapping[str, object], results: Sequence[RuleResult]
) -> QualityMetrics:
    rows = _int(row["rows"])
    cells = rows * spec.input_columns
    null_cells = _int(row["m_null_cells"])
    distinct = _int(row["m_distinct_rows"])
    schema_violations = sum(
        (r.failed_rows or 0) if r.level == "row" else int(r.outcome == "failed")
        for r, schema_rule in zip(results, _schema_flags(spec, results), strict=True)
        if schema_rule
    )
    completeness_cells = rows * spec.completeness_columns
    completeness = _score(_int(row["m_completeness_missing"]), completeness_cells)
    accuracy = _score(_int(row["m_accuracy_failed"]), rows)
    consistency = _score(_int(row["m_consistency_failed"]), rows)
    timeliness = (_int(row["m_timely_rows"]) / rows if rows else 1.0) if spec.timeliness else None
    scores = [s for s in (completeness, accuracy, consistency, timeliness) if s is not None]
    return QualityMetrics(
        record_count=rows,
        null_percentage=100.0 * null_cells / cells if cells else 0.0,
        duplicate_percentage=100.0 * (rows - distinct) / rows if rows else 0.0,
        schema_violations=schema_violations,
        completeness_score=completeness,
        accuracy_score=accuracy,
        consistency_score=consistency,
        timeliness_score=timeliness,
        overall_score=math.fsum(scores) / len(scores),
        measured_at=spec.now,
    )


def _schema_flags(spec: PlanSpec, results: Sequence[RuleResult]) -> list[bool]:
    by_name: dict[tuple[str, str], bool] = {}
    for r in spec.row_rules:
        by_name[(r.name, "row")] = r.schema_rule
    for d in spec.dataset_rules:
        by_name[(d.name, "dataset")] = d.schema_rule
    return [by_name.get((r.name, r.level), False) for r in results]


def _conclude(
    spec: PlanSpec, row: Mapping[str, object]
) -> Result[ValidationOutcome, ValidationFailed]:
    results: list[RuleResult] = [_row_result(i, r, row) for i, r in enumerate(spec.row_rules)]
    results.extend(_dataset_result(i, r, row) for i, r in enumerate(spec.dataset_rules))
    ordered = tuple(sorted(results, key=_order_key(spec)))
    rows = _int(row["rows"])
    invalid = _int(row["invalid_rows"])
    too_many = (invalid / rows if rows else 0.0) > spec.max_invalid_fraction
    metrics = _metrics(spec, row, ordered)
    report = ValidationReport(
        status=_status(ordered, too_many, spec.enforce),
        rows=rows,
        invalid_rows=invalid,
        warning_rows=_int(row["warning_rows"]),
        max_invalid_fraction=spec.max_invalid_fraction,
        enforce=spec.enforce,
        rules=ordered,
        metrics=metrics,
    )
    if report.status == "failed":
        return Failure(ValidationFailed(report))
    return Success(ValidationOutcome(report, metrics))
