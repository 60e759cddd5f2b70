"""Checks compiled into rules over one working frame: the builder behind ``plan_validation``.

Pure. :class:`PlanBuilder` turns each check into row rules (boolean columns of one shared,
cached frame) or dataset rules (known from the schema, or aggregates of the statistics row),
and :meth:`PlanBuilder.build` assembles the three projections of a
:class:`~lakeflow.core.validate.outcome.ValidationPlan`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import polars as pl
from returns.result import Failure, Success

from lakeflow.core.errors import (
    InvalidOption,
    LakeflowError,
    MissingColumns,
    StageError,
    catch_engine,
    from_exception,
)
from lakeflow.core.sql import sql_columns, sql_expr
from lakeflow.core.validate.checks import (
    STAGE,
    Checks,
    FrameRef,
    Property,
    PublishedRows,
    Quality,
    Reference,
    Rule,
    Schema,
    TypeName,
    ValuesRef,
)
from lakeflow.core.validate.outcome import (
    INTERNAL,
    QUARANTINE_REASONS,
    PlanSpec,
    ValidationPlan,
)
from lakeflow.core.validate.report import RuleKind, Severity
from lakeflow.core.validate.rules import (
    DatasetRule,
    Group,
    RowRule,
    coerced,
    comparable,
    distinct_rows,
    duplicated,
    family_of,
    missing_mask,
    render_samples,
    temporal_literal,
    timely_mask,
    type_matches,
    values_series,
)

__all__ = ["PlanBuilder"]

_VALID = f"{INTERNAL}valid"


def _plan_error(exc: BaseException) -> str:
    return from_exception(exc, stage=STAGE).message


class PlanBuilder:
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
        if type_matches(declared, dtype):
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
            self.replace_column(column, coerced(column, dtype, declared))
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
        series = values_series(values, dtype)
        if isinstance(series, str):
            self.fail(name, "schema", f"enum of {column!r}: {series}", schema_rule=True)
            return
        shown = ", ".join(repr(v) for v in list(values)[:10])
        self.add_row(
            name,
            "schema",
            pl.col(column).is_null() | comparable(column, dtype).is_in(series.implode()),
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

    def unique_published(self, key: str | tuple[str, ...], published: PublishedRows) -> None:
        """A row whose key the would-be published dataset already holds breaks
        ``unique:<key>:published``: in ``append`` mode any published row with the key; in
        ``merge`` mode a published row the run does not replace (its merge key is not the
        run's). Only the key columns (and merge keys) of the published rows are read."""
        columns = (key,) if isinstance(key, str) else key
        if self.missing_columns(columns):
            return  # the run-scope rule already fails for missing columns
        merge_keys = published.merge_keys
        if merge_keys and set(columns) == set(merge_keys):
            return  # a published key is an update of that very row, never a duplicate
        try:
            available = published.frame.collect_schema()
        except pl.exceptions.PolarsError as exc:
            self.fail(
                f"unique:{','.join(columns)}:published",
                "unique",
                f"the published rows cannot be planned: {_plan_error(exc)}",
            )
            return
        if any(c not in available for c in columns):
            return  # rows published before the column existed hold null: they never collide
        flag = self.internal("published")
        keep = published.frame
        if merge_keys and all(k in available for k in merge_keys):
            replaced = self.working.select([pl.col(k).cast(available[k]) for k in merge_keys])
            keep = keep.join(replaced.unique(), on=list(merge_keys), how="anti", nulls_equal=False)
        # Only the published keys this run carries matter: a semi join against the run's (few)
        # keys streams the published ones instead of collecting all of them into a set.
        wanted = self.working.select(list(columns)).drop_nulls().unique()
        taken = (
            keep.select([pl.col(c).cast(self.schema[c], strict=False) for c in columns])
            .join(wanted, on=list(columns), how="semi", nulls_equal=False)
            .unique()
            .with_columns(pl.lit(True).alias(flag))
        )
        try:
            joined = self.working.join(
                taken, on=list(columns), how="left", maintain_order="left", nulls_equal=False
            )
            schema = joined.collect_schema()
        except pl.exceptions.PolarsError as exc:
            name = f"unique:{','.join(columns)}:published"
            self.fail(name, "unique", f"cannot join the published rows: {_plan_error(exc)}")
            return
        self.working, self.schema = joined, schema
        label = ",".join(columns)
        self.add_row(
            f"unique:{label}:published",
            "unique",
            pl.col(flag).is_null(),
            f"({label}) must not be published already",
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
            series = values_series(ref.values, dtype)
            if isinstance(series, str):
                self.fail(name, "references", f"reference of {column!r}: {series}")
                return
            found = comparable(column, dtype).is_in(series.implode())
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
                left_on=comparable(column, dtype),
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
        resolved = catch_engine(
            lambda: self.working.select(expr.alias("condition")).collect_schema()["condition"]
        )
        if isinstance(resolved, Failure):
            reason = _plan_error(resolved.failure())
            self.fail(rule.name, "rule", f"cannot evaluate {text!r}: {reason}")
            return None
        dtype = resolved.unwrap()
        if dtype != pl.Boolean:
            self.fail(rule.name, "rule", f"condition {text!r} must be boolean, not {dtype}")
            return None
        columns = [c for c in sql_columns(expr) if c in self.schema]
        self.add_row(
            rule.name,
            "rule",
            expr.fill_null(rule.nulls == "pass"),  # a null (unknown) condition: the rule's policy
            text if rule.nulls == "pass" else f"{text} (null fails)",
            sample=columns,
            severity=rule.severity,
            group="none" if rule.severity == "info" else "accuracy",
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
        spec = PlanSpec(
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
