"""Validation reports and data-quality metrics: plain frozen values with a stable JSON shape.

Pure. :class:`ValidationReport` says what every rule found (counts, samples, messages) and
whether the dataset passed; :class:`QualityMetrics` holds the tutorial's ``DataQualityMetrics``,
actually computed. Both serialise with ``to_json()`` to dicts whose shape is versioned by
:data:`REPORT_SCHEMA_VERSION`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeAlias

from lakeflow.core.config.validate import Severity
from lakeflow.core.html import fields_table, table, titled

__all__ = [
    "REPORT_SCHEMA_VERSION",
    "Level",
    "Outcome",
    "QualityMetrics",
    "RuleKind",
    "RuleResult",
    "Severity",
    "Status",
    "Totals",
    "ValidationReport",
]

REPORT_SCHEMA_VERSION = 1
"""Version of the ``to_json()`` shape of reports and metrics; bumped on any breaking change."""

Status: TypeAlias = Literal["passed", "warning", "failed"]
Outcome: TypeAlias = Literal["passed", "failed", "warning", "info", "skipped"]
Level: TypeAlias = Literal["row", "dataset"]
RuleKind: TypeAlias = Literal[
    "schema", "required", "completeness", "unique", "references", "rule", "pandera"
]

_SHOWN_IN_SUMMARY = 5


@dataclass(frozen=True, slots=True)
class RuleResult:
    """What one rule found.

    Attributes:
        name: The rule's name; quarantined rows list it in ``_lakeflow_failed_rules``.
        kind: The check family the rule comes from (``schema``, ``unique``, ``rule``...).
        level: ``row`` rules judge each row; ``dataset`` rules judge the whole dataset.
        severity: ``error`` rules quarantine rows (or fail the dataset); ``warning`` rules keep
            the rows and make the report a warning; ``info`` rules are only recorded here.
        outcome: ``passed``, ``failed`` (an error rule found problems), ``warning`` (a warning
            rule found problems), ``info`` (an info rule found rows; the status ignores it) or
            ``skipped`` (not evaluated; ``message`` says why).
        failed_rows: Rows that broke the rule (for completeness: rows missing a value);
            ``None`` when the rule was not evaluated on data.
        samples: Up to 5 failing values, rendered as strings (JSON for several columns).
        message: A sentence a user can act on.
        observed: The measured value of a dataset-level rule (a completeness fraction).
        threshold: The value ``observed`` had to reach.
    """

    name: str
    kind: RuleKind
    level: Level
    severity: Severity
    outcome: Outcome
    failed_rows: int | None
    samples: tuple[str | None, ...]
    message: str
    observed: float | None = None
    threshold: float | None = None

    def to_json(self) -> dict[str, object]:
        """Pure. The rule's result as a JSON-able dict (keys are always all present)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "level": self.level,
            "severity": self.severity,
            "outcome": self.outcome,
            "failed_rows": self.failed_rows,
            "samples": list(self.samples),
            "message": self.message,
            "observed": self.observed,
            "threshold": self.threshold,
        }


@dataclass(frozen=True, slots=True)
class QualityMetrics:
    """Data-quality metrics of one validated dataset, each defined precisely below.

    Percentages are in [0, 100]; scores are fractions in [0, 1]. An empty dataset has every
    percentage 0 and every score 1 (nothing is missing, duplicated or wrong).

    Attributes:
        record_count: Rows in the validated input.
        null_percentage: 100 x cells that are null (or NaN, in float columns) / all cells
            (rows x columns of the input).
        duplicate_percentage: 100 x rows that repeat an earlier row exactly (all columns
            equal; NaN equals NaN, null equals null) / rows, i.e. ``rows - distinct rows``.
            Distinct rows are counted by 64-bit row hash (see ``rules.distinct_rows``): exact
            unless two different rows collide, a chance of about n^2 / 2^65.
        schema_violations: Dataset-level schema problems (a missing required column, a wrong
            type, a schema rule that cannot apply) plus every (row, schema rule) failure
            (type coercion, minimum, maximum, enum, pattern, required non-null).
        completeness_score: 1 - missing cells / cells over the ``completeness`` columns (all
            input columns when no completeness check is configured); null and NaN are missing.
        accuracy_score: Fraction of rows that satisfy every value rule (schema type, range,
            enum and pattern rules, user ``rules`` and pandera checks; ``info`` rules excluded).
        consistency_score: Fraction of rows that satisfy every ``unique`` and ``references``
            rule (and pandera uniqueness); 1 when there are none.
        timeliness_score: Fraction of rows whose timestamp column lies within
            ``[now - freshness, now]`` (null timestamps are not timely); ``None`` when no
            ``quality`` settings were given.
        overall_score: Mean of the scores above that are not ``None``.
        measured_at: The ``now`` the validation was planned with (core never reads the clock).
    """

    record_count: int
    null_percentage: float
    duplicate_percentage: float
    schema_violations: int
    completeness_score: float
    accuracy_score: float
    consistency_score: float
    timeliness_score: float | None
    overall_score: float
    measured_at: datetime | None = None

    def to_json(self) -> dict[str, object]:
        """Pure. The metrics as a JSON-able dict (``measured_at`` in ISO 8601, or ``None``)."""
        return {
            "schema_version": REPORT_SCHEMA_VERSION,
            "record_count": self.record_count,
            "null_percentage": self.null_percentage,
            "duplicate_percentage": self.duplicate_percentage,
            "schema_violations": self.schema_violations,
            "completeness_score": self.completeness_score,
            "accuracy_score": self.accuracy_score,
            "consistency_score": self.consistency_score,
            "timeliness_score": self.timeliness_score,
            "overall_score": self.overall_score,
            "measured_at": None if self.measured_at is None else self.measured_at.isoformat(),
        }


def _pct(value: float) -> str:
    return f"{value:.2%}"


def _describe(rule: RuleResult) -> str:
    if rule.observed is not None and rule.threshold is not None:
        return f"{rule.name} ({_pct(rule.observed)} < {_pct(rule.threshold)})"
    if rule.failed_rows is not None and rule.level == "row":
        plural = "" if rule.failed_rows == 1 else "s"
        return f"{rule.name} ({rule.failed_rows} row{plural})"
    return f"{rule.name} ({rule.message})"


@dataclass(frozen=True, slots=True)
class Totals:
    """Row counts of a validation (0 when it stopped before reading data)."""

    rows: int
    valid: int
    quarantined: int
    warnings: int


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """What validation found: the overall status, totals and every rule's result.

    Attributes:
        status: ``passed`` (nothing failed), ``warning`` (something failed but within
            ``max_invalid_fraction``, only warning rules failed, or ``enforce`` is off) or
            ``failed`` (the run must not publish).
        rows: Rows in the input (``None`` when validation stopped before reading data).
        invalid_rows: Rows that broke at least one error rule (they are quarantined).
        warning_rows: Rows that broke only warning rules (they stay valid).
        max_invalid_fraction: The tolerated fraction of invalid rows.
        enforce: ``False`` turns every failure into a warning.
        rules: One result per rule, in the order the checks were declared.
        metrics: The quality metrics (``None`` when validation stopped before reading data).
    """

    status: Status
    rows: int | None
    invalid_rows: int | None
    warning_rows: int | None
    max_invalid_fraction: float
    enforce: bool
    rules: tuple[RuleResult, ...]
    metrics: QualityMetrics | None = None

    @property
    def valid_rows(self) -> int | None:
        """Rows that passed every error rule."""
        if self.rows is None or self.invalid_rows is None:
            return None
        return self.rows - self.invalid_rows

    @property
    def invalid_fraction(self) -> float | None:
        """``invalid_rows / rows`` (0 for an empty dataset)."""
        if self.rows is None or self.invalid_rows is None:
            return None
        return self.invalid_rows / self.rows if self.rows else 0.0

    @property
    def failed_rules(self) -> tuple[RuleResult, ...]:
        """Rules whose outcome is ``failed``."""
        return tuple(r for r in self.rules if r.outcome == "failed")

    @property
    def warnings(self) -> tuple[RuleResult, ...]:
        """Rules whose outcome is ``warning``."""
        return tuple(r for r in self.rules if r.outcome == "warning")

    @property
    def notes(self) -> tuple[RuleResult, ...]:
        """``info`` rules that found rows (recorded only)."""
        return tuple(r for r in self.rules if r.outcome == "info")

    def totals(self) -> Totals:
        """Pure. Rows in, valid, quarantined and valid-with-warnings (0 when not counted)."""
        rows, invalid = self.rows or 0, self.invalid_rows or 0
        return Totals(rows, rows - invalid, invalid, self.warning_rows or 0)

    def rule(self, name: str) -> RuleResult:
        """Pure. The result of the rule called ``name`` (``KeyError`` if there is none)."""
        for result in self.rules:
            if result.name == name:
                return result
        raise KeyError(name)

    def summary(self) -> str:
        """Pure. One line saying the status, the invalid rows and which rules failed."""
        parts = [f"validation {self.status}"]
        fraction = self.invalid_fraction
        if self.rows is not None and self.invalid_rows is not None and fraction is not None:
            bound = ">" if fraction > self.max_invalid_fraction else "<="
            parts.append(
                f"{self.invalid_rows} of {self.rows} rows invalid "
                f"({_pct(fraction)} {bound} max {_pct(self.max_invalid_fraction)})"
            )
        failed = sorted(self.failed_rules, key=lambda r: r.level != "dataset")
        parts.extend(_listed("failed", failed))
        parts.extend(_listed("warnings", self.warnings))
        parts.extend(_listed("notes", self.notes))
        if not self.enforce and self.failed_rules:
            parts.append("not enforced")
        return "; ".join(parts)

    def _repr_html_(self) -> str:
        """Pure. The report in a notebook: its summary, one row per rule and the metrics."""
        rules = table(
            ["rule", "kind", "level", "severity", "outcome", "failed rows", "message"],
            [
                [r.name, r.kind, r.level, r.severity, r.outcome, r.failed_rows, r.message]
                for r in self.rules
            ],
        )
        parts = [titled(self.summary(), rules)]
        if self.metrics is not None:
            metrics = {k: v for k, v in self.metrics.to_json().items() if k != "schema_version"}
            parts.append(titled("quality metrics", fields_table(metrics)))
        return "".join(parts)

    def to_json(self) -> dict[str, object]:
        """Pure. The report as a JSON-able dict with a stable, versioned shape."""
        return {
            "schema_version": REPORT_SCHEMA_VERSION,
            "status": self.status,
            "summary": self.summary(),
            "enforce": self.enforce,
            "max_invalid_fraction": self.max_invalid_fraction,
            "totals": {
                "rows": self.rows,
                "valid_rows": self.valid_rows,
                "invalid_rows": self.invalid_rows,
                "warning_rows": self.warning_rows,
                "invalid_fraction": self.invalid_fraction,
            },
            "rules": [r.to_json() for r in self.rules],
            "metrics": None if self.metrics is None else self.metrics.to_json(),
        }


def _listed(label: str, rules: Sequence[RuleResult]) -> list[str]:
    if not rules:
        return []
    shown = ", ".join(_describe(r) for r in rules[:_SHOWN_IN_SUMMARY])
    more = len(rules) - _SHOWN_IN_SUMMARY
    return [f"{label}: {shown}" + (f" and {more} more" if more > 0 else "")]
