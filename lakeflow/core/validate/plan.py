"""Compile :class:`Checks` into one lazy plan: valid rows, quarantine and a statistics row.

Pure. :func:`plan_validation` reads only the input's schema: type mismatches and missing
columns are known before any data is read. Every row rule becomes a boolean column of one
shared, cached frame; the three outputs (``valid``, ``quarantine``, ``stats``) are projections
of it, so executing them together (:func:`lakeflow.execute.collect_together`) reads the source
once. :meth:`ValidationPlan.conclude` turns the collected statistics row into the report.

Coercion (``schema.coerce: true``) casts columns whose type differs from the declared one:

========  ==================================================================================
integer   strings are trimmed and parsed; floats must be integral (1.0 -> 1, 1.5 fails)
number    strings are trimmed and parsed (``nan``/``inf`` parse); other numbers are cast
string    any primitive value is rendered as text
boolean   strings ``true/false/t/f/yes/no/y/n/1/0`` (any case, trimmed); numbers 1 and 0
datetime  strings in ISO 8601 (``YYYY-MM-DD``, with `` `` or ``T`` and ``HH:MM:SS[.f]``);
          dates become midnight
date      strings ``YYYY-MM-DD``; datetimes keep their date
========  ==================================================================================

A value that does not convert breaks ``schema:<column>:type`` for its row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import cast

import polars as pl
from returns.result import Failure, Result, Success

from lakeflow.core.errors import (
    ConfigError,
    ConfigProblem,
    InvalidOption,
    LakeflowError,
    MissingColumns,
    StageError,
    StageFailed,
    ValidationFailed,
    from_exception,
    is_panic,
)
from lakeflow.core.sql import sql_columns, sql_expr
from lakeflow.core.validate.checks import (
    STAGE,
    Checks,
    DatasetRef,
    FrameRef,
    PanderaRef,
    Property,
    Quality,
    Reference,
    Rule,
    Schema,
    TypeName,
    ValuesRef,
    option_problems,
)
from lakeflow.core.validate.report import (
    Outcome,
    QualityMetrics,
    RuleKind,
    RuleResult,
    Severity,
    Status,
    ValidationReport,
)
from lakeflow.core.validate.rules import (
    DatasetRule,
    Group,
    RowRule,
    distinct_rows,
    duplicated,
    family_of,
    missing_mask,
    render_samples,
    temporal_literal,
    timely_mask,
)

__all__ = [
    "QUARANTINE_REASONS",
    "Validated",
    "ValidationOutcome",
    "ValidationPlan",
    "plan_validation",
]

QUARANTINE_REASONS = "_lakeflow_failed_rules"
"""The quarantine's ``list[str]`` column naming the error rules each row broke."""

INTERNAL = "__lakeflow_"
_VALID = f"{INTERNAL}valid"
_NOT_EVALUATED = "not evaluated: validation stopped at the dataset-level failures"


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
class _Spec:
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
    spec: _Spec = field(repr=False)

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
    outcome: Outcome = "passed"
    if failed:
        outcome = "failed" if rule.severity == "error" else "warning"
    message = rule.message if not failed else f"{failed} row(s) broke: {rule.message}"
    return RuleResult(rule.name, rule.kind, "row", rule.severity, outcome, failed, samples, message)


def _dataset_result(index: int, rule: DatasetRule, row: Mapping[str, object] | None) -> RuleResult:
    def result(outcome: Outcome, message: str, **extra: object) -> RuleResult:
        if outcome == "failed" and rule.severity == "warning":
            outcome = "warning"
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


def static_report(spec: _Spec) -> ValidationReport:
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


def _order_key(spec: _Spec) -> Callable[[RuleResult], int]:
    order = {name: i for i, name in enumerate(spec.order)}

    def key(result: RuleResult) -> int:
        return order.get(result.name, len(order))

    return key


def _score(bad: int, total: int) -> float:
    return 1.0 - bad / total if total else 1.0


def _metrics(
    spec: _Spec, row: Mapping[str, object], results: Sequence[RuleResult]
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


def _schema_flags(spec: _Spec, results: Sequence[RuleResult]) -> list[bool]:
    by_name: dict[tuple[str, str], bool] = {}
    for r in spec.row_rules:
        by_name[(r.name, "row")] = r.schema_rule
    for d in spec.dataset_rules:
        by_name[(d.name, "dataset")] = d.schema_rule
    return [by_name.get((r.name, r.level), False) for r in results]


def _conclude(
    spec: _Spec, row: Mapping[str, object]
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


# ---------------------------------------------------------------------------------------------
# Planning: checks -> rules -> one cached frame and three projections
# ---------------------------------------------------------------------------------------------

_TRUE_WORDS = ("true", "t", "yes", "y", "1")
_FALSE_WORDS = ("false", "f", "no", "n", "0")
_DATETIME_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d")


def _coerced(column: str, source: pl.DataType, target: TypeName) -> pl.Expr:
    col = pl.col(column)
    text = col.cast(pl.String).str.strip_chars() if family_of(source) == "string" else None
    if target == "integer":
        if text is not None:
            return text.cast(pl.Int64, strict=False)
        if source.is_float():
            return pl.when(col.round(0) == col).then(col).cast(pl.Int64, strict=False)
        return col.cast(pl.Int64, strict=False)
    if target == "number":
        return (text if text is not None else col).cast(pl.Float64, strict=False)
    if target == "string":
        return col.cast(pl.String, strict=False)
    if target == "boolean":
        if text is not None:
            words = dict.fromkeys(_TRUE_WORDS, True) | dict.fromkeys(_FALSE_WORDS, False)
            return text.str.to_lowercase().replace_strict(
                words, default=None, return_dtype=pl.Boolean
            )
        return pl.when(col == 1).then(True).when(col == 0).then(False)
    if target == "datetime":
        if text is not None:
            parsed = [
                text.str.to_datetime(fmt, strict=False, time_unit="us") for fmt in _DATETIME_FORMATS
            ]
            return pl.coalesce(parsed)
        return col.cast(pl.Datetime("us"), strict=False)
    if text is not None:  # date
        return text.str.to_date("%Y-%m-%d", strict=False)
    if isinstance(source, pl.Datetime):
        return col.dt.date()
    return col.cast(pl.Date, strict=False)


def _type_matches(declared: TypeName, dtype: pl.DataType) -> bool:
    family = family_of(dtype)
    return family == declared or (declared == "number" and family == "integer")


def _values_series(values: Sequence[object], dtype: pl.DataType) -> pl.Series | str:
    """The reference/enum values as a Series comparable with the column (or why not)."""
    try:
        series = pl.Series("values", list(values), strict=False)
        if family_of(dtype) == "string":
            return series.cast(pl.String)
        return series.cast(dtype)
    except (pl.exceptions.PolarsError, TypeError, ValueError, OverflowError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"values {list(values)[:5]!r} do not fit a {dtype} column ({reason})"


def _comparable(column: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(column)
    return col.cast(pl.String) if family_of(dtype) == "string" else col


def _plan_error(exc: BaseException) -> str:
    return from_exception(exc, stage=STAGE).message


class _Builder:
    """Accumulates rules and the working frame while a plan is built (local state only)."""

    def __init__(self, frame: pl.LazyFrame, schema: pl.Schema) -> None:
        self.input_schema = schema
        self.input_columns = tuple(schema.names())
        self.working = frame
        self.schema = schema
        self.raw: dict[str, str] = {c: c for c in self.input_columns}
        self.row_rules: list[RowRule] = []
        self.dataset_rules: list[DatasetRule] = []
        self.names: set[str] = set()
        self.order: list[str] = []
        self.counter = 0
        self.completeness_missing: list[pl.Expr] = []
        self.completeness_columns = 0
        self.timely: pl.Expr | None = None
        self.cached = False

    # -- bookkeeping -------------------------------------------------------------------------

    def internal(self, what: str) -> str:
        self.counter += 1
        return f"{INTERNAL}{what}_{self.counter}"

    def unique_name(self, name: str) -> str:
        candidate, n = name, 1
        while candidate in self.names:
            n += 1
            candidate = f"{name}#{n}"
        return candidate

    def add_row(
        self,
        name: str,
        kind: RuleKind,
        ok: pl.Expr,
        message: str,
        *,
        sample: Sequence[str] = (),
        severity: Severity = "error",
        group: Group = "accuracy",
        schema_rule: bool = False,
    ) -> None:
        name = self.unique_name(name)
        self.names.add(name)
        self.order.append(name)
        self.row_rules.append(
            RowRule(name, kind, severity, group, schema_rule, ok, tuple(sample), message)
        )

    def add_dataset(self, rule: DatasetRule) -> None:
        name = self.unique_name(rule.name)
        self.names.add(name)
        self.order.append(name)
        self.dataset_rules.append(
            rule
            if name == rule.name
            else DatasetRule(
                name,
                rule.kind,
                rule.severity,
                rule.schema_rule,
                rule.message,
                rule.failure,
                rule.skipped,
                rule.observed,
                rule.threshold,
                rule.missing,
                rule.passed,
            )
        )

    def fail(self, name: str, kind: RuleKind, message: str, *, schema_rule: bool = False) -> None:
        self.add_dataset(DatasetRule(name, kind, "error", schema_rule, message, failure=message))

    def skip(self, name: str, kind: RuleKind, message: str) -> None:
        self.add_dataset(DatasetRule(name, kind, "error", False, message, skipped=message))

    def missing_columns(self, columns: Sequence[str]) -> list[str]:
        return [c for c in columns if c not in self.schema]

    def replace_column(self, column: str, expr: pl.Expr) -> None:
        """Swap ``column`` for ``expr``, keeping the original values for the quarantine."""
        if self.raw[column] == column:
            keep = self.internal("raw")
            self.working = self.working.with_columns(pl.col(column).alias(keep))
            self.raw[column] = keep
        self.working = self.working.with_columns(expr.alias(column))
        self.schema = self.working.collect_schema()

    def share_input(self) -> None:
        """Cache the working frame before a branch that reads it twice (pandera fallbacks)."""
        if not self.cached:
            self.working = self.working.cache()
            self.cached = True

    # -- schema ------------------------------------------------------------------------------

    def schema_checks(self, schema: Schema) -> None:
        required = set(schema.required)
        for column, prop in schema.properties.items():
            self.property(column, prop, coerce=schema.coerce, required=column in required)
        for column in schema.required:
            name = f"required:{column}"
            if column not in self.schema:
                self.fail(
                    name, "required", f"required column {column!r} is missing", schema_rule=True
                )
                continue
            dtype = self.input_schema[column]
            self.add_row(
                name,
                "required",
                ~missing_mask(self.raw[column], dtype),
                f"{column} must not be null" + (" or NaN" if dtype.is_float() else ""),
                group="completeness",
                schema_rule=True,
            )

    def property(self, column: str, prop: Property, *, coerce: bool, required: bool) -> None:
        declared = [
            n
            for n in ("type", "minimum", "maximum", "enum", "pattern")
            if getattr(prop, n) is not None
        ]
        if column not in self.schema:
            reason = (
                f"column {column!r} is missing (see required:{column})"
                if required
                else f"column {column!r} is absent and not required"
            )
            for n in declared:
                self.skip(f"schema:{column}:{n}", "schema", reason)
            return
        if self.schema[column] == pl.Null:  # no values: every value rule holds
            for n in declared:
                message = f"column {column!r} holds only nulls"
                self.add_dataset(
                    DatasetRule(
                        f"schema:{column}:{n}", "schema", "error", True, message, passed=True
                    )
                )
            return
        if prop.type is not None:
            self.column_type(column, prop.type, coerce=coerce)
        for bound_name in ("minimum", "maximum"):
            bound = getattr(prop, bound_name)
            if bound is not None:
                self.bound(column, bound_name, bound)
        if prop.enum is not None:
            self.enum(column, prop.enum)
        if prop.pattern is not None:
            self.pattern(column, prop.pattern)

    def column_type(self, column: str, declared: TypeName, *, coerce: bool) -> None:
        name = f"schema:{column}:type"
        dtype = self.schema[column]
        if _type_matches(declared, dtype):
            message = f"column {column!r} is {declared} ({dtype})"
            self.add_dataset(DatasetRule(name, "schema", "error", True, message, passed=True))
            return
        if not coerce:
            self.fail(
                name,
                "schema",
                f"column {column!r} should be {declared} but is {dtype} "
                "(set schema.coerce: true to cast it)",
                schema_rule=True,
            )
            return
        try:
            self.replace_column(column, _coerced(column, dtype, declared))
        except pl.exceptions.PolarsError as exc:
            self.fail(
                name,
                "schema",
                f"column {column!r} ({dtype}) cannot be cast to {declared}: {_plan_error(exc)}",
                schema_rule=True,
            )
            return
        raw = self.raw[column]
        self.add_row(
            name,
            "schema",
            pl.col(raw).is_null() | pl.col(column).is_not_null(),
            f"{column} must convert to {declared}",
            sample=(raw,),
            schema_rule=True,
        )

    def bound(self, column: str, which: str, bound: object) -> None:
        name = f"schema:{column}:{which}"
        dtype = self.schema[column]
        literal: pl.Expr | None
        if isinstance(bound, date | datetime):
            literal = temporal_literal(bound, dtype)
            needs = "a date or datetime column" if isinstance(bound, date) else "a datetime column"
        else:
            literal = pl.lit(bound) if dtype.is_numeric() else None
            needs = "a numeric column"
        if literal is None:
            self.fail(
                name,
                "schema",
                f"{which} {bound!r} needs {needs}; {column!r} is {dtype}",
                schema_rule=True,
            )
            return
        col = pl.col(column)
        within = col >= literal if which == "minimum" else col <= literal
        if dtype.is_float():
            within = within & col.is_not_nan()
        symbol = ">=" if which == "minimum" else "<="
        self.add_row(
            name,
            "schema",
            col.is_null() | within,
            f"{column} {symbol} {bound}",
            sample=(column,),
            schema_rule=True,
        )

    def enum(self, column: str, values: Sequence[object]) -> None:
        name = f"schema:{column}:enum"
        dtype = self.schema[column]
        series = _values_series(values, dtype)
        if isinstance(series, str):
            self.fail(name, "schema", f"enum of {column!r}: {series}", schema_rule=True)
            return
        shown = ", ".join(repr(v) for v in list(values)[:10])
        self.add_row(
            name,
            "schema",
            pl.col(column).is_null() | _comparable(column, dtype).is_in(series.implode()),
            f"{column} in [{shown}{', ...' if len(values) > 10 else ''}]",
            sample=(column,),
            schema_rule=True,
        )

    def pattern(self, column: str, pattern: str) -> None:
        name = f"schema:{column}:pattern"
        dtype = self.schema[column]
        if family_of(dtype) != "string":
            self.fail(
                name,
                "schema",
                f"pattern needs a string column; {column!r} is {dtype}",
                schema_rule=True,
            )
            return
        self.add_row(
            name,
            "schema",
            pl.col(column).is_null() | pl.col(column).cast(pl.String).str.contains(pattern),
            f"{column} matches {pattern!r}",
            sample=(column,),
            schema_rule=True,
        )

    # -- completeness, unique, references, rules ----------------------------------------------

    def completeness(self, columns: Sequence[str], threshold: float) -> None:
        self.completeness_columns = len(columns)
        for column in columns:
            name = f"completeness:{column}"
            if column not in self.input_schema:
                self.fail(name, "completeness", f"column {column!r} is missing")
                self.completeness_missing.append(pl.len())
                continue
            missing = missing_mask(self.raw[column], self.input_schema[column])
            self.completeness_missing.append(missing.sum())
            self.add_dataset(
                DatasetRule(
                    name,
                    "completeness",
                    "error",
                    False,
                    f"non-missing fraction of {column} must be >= {threshold:.2%}",
                    observed=(~missing).mean(),
                    threshold=threshold,
                    missing=missing.sum(),
                )
            )

    def unique(self, key: str | tuple[str, ...]) -> None:
        columns = (key,) if isinstance(key, str) else key
        label = ",".join(columns)
        name = f"unique:{label}"
        absent = self.missing_columns(columns)
        if absent:
            self.fail(name, "unique", f"column(s) {', '.join(map(repr, absent))} missing")
            return
        self.add_row(
            name,
            "unique",
            ~duplicated(columns, self.schema, nulls_distinct=True),
            f"({label}) must be unique (nulls never collide)",
            sample=columns,
            group="consistency",
        )

    def reference(self, column: str, ref: Reference) -> None:
        name = f"references:{column}"
        if column not in self.schema:
            self.fail(name, "references", f"column {column!r} is missing")
            return
        dtype = self.schema[column]
        if isinstance(ref, ValuesRef):
            series = _values_series(ref.values, dtype)
            if isinstance(series, str):
                self.fail(name, "references", f"reference of {column!r}: {series}")
                return
            found = _comparable(column, dtype).is_in(series.implode())
            message = f"{column} in the {len(ref.values)} reference value(s)"
        elif isinstance(ref, FrameRef):
            flag = self.reference_frame(name, column, dtype, ref)
            if flag is None:
                return
            found = pl.col(flag).is_not_null()
            message = f"{column} found in reference key {ref.key!r}"
        else:  # pragma: no cover - unresolved references are rejected before planning
            raise LakeflowError(f"unresolved reference {ref!r}")
        self.add_row(
            name,
            "references",
            pl.col(column).is_null() | found,
            message,
            sample=(column,),
            group="consistency",
        )

    def reference_frame(
        self, name: str, column: str, dtype: pl.DataType, ref: FrameRef
    ) -> str | None:
        try:
            ref_schema = ref.frame.collect_schema()
        except pl.exceptions.PolarsError as exc:
            self.fail(
                name, "references", f"the reference frame cannot be planned: {_plan_error(exc)}"
            )
            return None
        if ref.key not in ref_schema:
            self.fail(
                name,
                "references",
                f"reference key {ref.key!r} is not a column of the reference "
                f"(columns: {', '.join(ref_schema.names())})",
            )
            return None
        key_name, flag = self.internal("refkey"), self.internal("ref")
        string_like = family_of(dtype) == "string"
        key_expr = pl.col(ref.key).cast(pl.String if string_like else dtype, strict=False)
        keys = (
            ref.frame.select(key_expr.alias(key_name))
            .drop_nulls()
            .unique()
            .with_columns(pl.lit(True).alias(flag))
        )
        try:
            joined = self.working.join(
                keys,
                left_on=_comparable(column, dtype),
                right_on=key_name,
                how="left",
                maintain_order="left",
            )
            schema = joined.collect_schema()
        except pl.exceptions.PolarsError as exc:
            self.fail(name, "references", f"cannot join the reference: {_plan_error(exc)}")
            return None
        self.working, self.schema = joined, schema
        return flag

    def rule(self, rule: Rule) -> StageError | None:
        parsed = sql_expr(STAGE, rule.condition)
        if not isinstance(parsed, Success):  # pragma: no cover - rejected by option_problems
            return InvalidOption(STAGE, "rule condition", str(rule.condition), ("SQL",))
        expr = parsed.unwrap()
        if rule.name in self.names:
            return InvalidOption(STAGE, "rule name", rule.name, ("a name no other check uses",))
        text = rule.condition if isinstance(rule.condition, str) else str(rule.condition)
        try:
            dtype = self.working.select(expr.alias("condition")).collect_schema()["condition"]
        except pl.exceptions.PolarsError as exc:
            self.fail(rule.name, "rule", f"cannot evaluate {text!r}: {_plan_error(exc)}")
            return None
        except BaseException as exc:
            if not is_panic(exc):
                raise
            self.fail(rule.name, "rule", f"cannot evaluate {text!r}: {_plan_error(exc)}")
            return None
        if dtype != pl.Boolean:
            self.fail(rule.name, "rule", f"condition {text!r} must be boolean, not {dtype}")
            return None
        columns = [c for c in sql_columns(expr) if c in self.schema]
        self.add_row(
            rule.name,
            "rule",
            expr.fill_null(True),
            text,
            sample=columns,
            severity=rule.severity,
        )
        return None

    # -- quality ------------------------------------------------------------------------------

    def quality(self, quality: Quality, now: datetime | None) -> StageError | None:
        column = quality.timestamp_column
        if now is None:
            return InvalidOption(
                STAGE, "now", "None", ("a datetime (quality.timestamp_column needs it)",)
            )
        if column not in self.schema:
            return MissingColumns(STAGE, (column,), self.input_columns)
        timely = timely_mask(column, self.schema[column], now, quality.freshness)
        if timely is None:
            return InvalidOption(
                STAGE,
                "quality.timestamp_column",
                f"{column} ({self.schema[column]})",
                ("a date or datetime column",),
            )
        self.timely = timely
        return None

    # -- assembling ---------------------------------------------------------------------------

    def build(self, checks: Checks, now: datetime | None) -> ValidationPlan:
        flags = [f"{INTERNAL}ok_{i}" for i in range(len(self.row_rules))]
        errors = [
            pl.col(f) for f, r in zip(flags, self.row_rules, strict=True) if r.severity == "error"
        ]
        warnings = [
            pl.col(f) for f, r in zip(flags, self.row_rules, strict=True) if r.severity == "warning"
        ]
        valid_expr = pl.all_horizontal(errors) if errors else pl.lit(True)
        flagged = (
            self.working.with_columns(
                [r.ok.alias(f) for f, r in zip(flags, self.row_rules, strict=True)]
            )
            .with_columns(valid_expr.alias(_VALID))
            .cache()
        )
        is_valid = pl.col(_VALID)
        valid = flagged.filter(is_valid).select(self.input_columns)
        reasons = (
            pl.concat_list(
                [
                    pl.when(~pl.col(f)).then(pl.lit(r.name))
                    for f, r in zip(flags, self.row_rules, strict=True)
                    if r.severity == "error"
                ]
            ).list.drop_nulls()
            if errors
            else pl.lit([], dtype=pl.List(pl.String))
        )
        quarantine = flagged.filter(~is_valid).select(
            *[pl.col(self.raw[c]).alias(c) for c in self.input_columns],
            reasons.alias(QUARANTINE_REASONS),
        )
        stats = flagged.select(self.aggregates(flags, is_valid, warnings))
        spec = _Spec(
            row_rules=tuple(self.row_rules),
            dataset_rules=tuple(self.dataset_rules),
            max_invalid_fraction=float(checks.max_invalid_fraction),
            enforce=bool(checks.enforce),
            input_columns=len(self.input_columns),
            completeness_columns=(
                self.completeness_columns if checks.completeness else len(self.input_columns)
            ),
            timeliness=self.timely is not None,
            now=now,
            order=tuple(self.order),
        )
        return ValidationPlan(valid, quarantine, stats, spec)

    def aggregates(
        self, flags: Sequence[str], is_valid: pl.Expr, warnings: Sequence[pl.Expr]
    ) -> list[pl.Expr]:
        schema = self.schema
        warned = ~pl.all_horizontal(warnings) if warnings else pl.lit(False)
        out: list[pl.Expr] = [
            pl.len().alias("rows"),
            (~is_valid).sum().alias("invalid_rows"),
            (is_valid & warned).sum().alias("warning_rows"),
        ]
        for i, (flag, rule) in enumerate(zip(flags, self.row_rules, strict=True)):
            failing = ~pl.col(flag)
            out.append(failing.sum().alias(f"r{i}_failed"))
            if rule.sample:
                out.append(render_samples(rule.sample, schema, failing).alias(f"r{i}_samples"))
        for j, d in enumerate(self.dataset_rules):
            if d.observed is not None:
                out.append(d.observed.alias(f"d{j}_observed"))
            if d.missing is not None:
                out.append(d.missing.alias(f"d{j}_missing"))
            if isinstance(d.passed, pl.Expr):
                out.append(d.passed.alias(f"d{j}_passed"))
        raw_columns = [self.raw[c] for c in self.input_columns]
        null_cells = [
            missing_mask(self.raw[c], self.input_schema[c]).sum() for c in self.input_columns
        ]
        out.append(
            (pl.sum_horizontal(null_cells) if null_cells else pl.lit(0)).alias("m_null_cells")
        )
        out.append(distinct_rows(raw_columns).alias("m_distinct_rows"))
        for group in ("accuracy", "consistency"):
            oks = [
                pl.col(f) for f, r in zip(flags, self.row_rules, strict=True) if r.group == group
            ]
            bad = (~pl.all_horizontal(oks)).sum() if oks else pl.lit(0)
            out.append(bad.alias(f"m_{group}_failed"))
        if not self.completeness_missing:
            self.completeness_missing = null_cells
        missing_cells = (
            pl.sum_horizontal(self.completeness_missing) if self.completeness_missing else pl.lit(0)
        )
        out.append(missing_cells.alias("m_completeness_missing"))
        timely = self.timely.sum() if self.timely is not None else pl.lit(0)
        out.append(timely.alias("m_timely_rows"))
        return out


def _one(problems: Sequence[tuple[str, StageError]]) -> StageError:
    if len(problems) == 1:
        return problems[0][1]
    return ConfigError(
        tuple(ConfigProblem(f"validate.{where}", p.message) for where, p in problems)
    )


def _unresolved(checks: Checks) -> list[str]:
    out = [
        f"references.{column} names lake dataset {ref.dataset!r}"
        for column, ref in checks.references.items()
        if isinstance(ref, DatasetRef)
    ]
    out.extend(
        f"pandera names {item.target!r}" for item in checks.pandera if isinstance(item, PanderaRef)
    )
    return out


def plan_validation(
    frame: pl.LazyFrame, checks: Checks, *, now: datetime | None = None
) -> Result[ValidationPlan, StageError]:
    """Pure. Compile ``checks`` into lazy plans of valid rows, quarantine and statistics.

    Only the input's schema is resolved: type mismatches, missing columns and rules that cannot
    apply are found here, before any data is read. When ``checks.enforce`` is on, such
    dataset-level problems return ``Failure(ValidationFailed(report))`` right away.

    Args:
        frame: The rows to validate.
        checks: What they must satisfy.
        now: The moment timeliness is measured against (required with ``checks.quality``);
            recorded in the metrics as ``measured_at``.

    Returns:
        ``Success(ValidationPlan)``; ``Failure(ValidationFailed)`` for dataset-level failures
        known from the schema; ``Failure(InvalidOption | InvalidExpression | ConfigError |
        StageFailed | MissingColumns)`` for invalid or unresolved checks.
    """
    problems = option_problems(checks)
    if problems:
        return Failure(_one(problems))
    unresolved = _unresolved(checks)
    if unresolved:
        return Failure(
            StageFailed(
                STAGE,
                "; ".join(unresolved)
                + ": resolve them first (resolve_references / resolve_pandera; the shell does)",
            )
        )
    try:
        schema = frame.collect_schema()
    except pl.exceptions.PolarsError as exc:
        return Failure(from_exception(exc, stage=STAGE))
    reserved = [c for c in schema.names() if c.startswith(INTERNAL) or c == QUARANTINE_REASONS]
    if reserved:
        return Failure(
            InvalidOption(
                STAGE,
                "input column name",
                reserved[0],
                (f"a name that does not start with {INTERNAL!r} nor is {QUARANTINE_REASONS!r}",),
            )
        )
    builder = _Builder(frame, schema)
    if checks.schema is not None:
        builder.schema_checks(checks.schema)
    if checks.completeness is not None:
        builder.completeness(checks.completeness.columns, checks.completeness.threshold)
    for key in cast(Sequence[str | tuple[str, ...]], checks.unique):
        builder.unique(key)
    for column, ref in checks.references.items():
        builder.reference(column, ref)
    for rule in checks.rules:
        problem = builder.rule(rule)
        if problem is not None:
            return Failure(problem)
    if checks.pandera:
        from lakeflow.core.validate.pandera_rules import add_pandera

        for index, model in enumerate(checks.pandera):
            problem = add_pandera(builder, model, index)
            if problem is not None:
                return Failure(problem)
    if checks.quality is not None:
        problem = builder.quality(checks.quality, now)
        if problem is not None:
            return Failure(problem)
    plan = builder.build(checks, now)
    if checks.enforce and any(d.failure is not None for d in plan.spec.dataset_rules):
        return Failure(ValidationFailed(static_report(plan.spec)))
    return Success(plan)
