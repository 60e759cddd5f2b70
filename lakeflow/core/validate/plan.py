"""Compile :class:`Checks` into one lazy plan: valid rows, quarantine and a statistics row.

Pure. :func:`plan_validation` reads only the input's schema: type mismatches and missing
columns are known before any data is read. Every row rule becomes a boolean column of one
shared, cached frame (:mod:`~lakeflow.core.validate.builder`); the three outputs (``valid``,
``quarantine``, ``stats``) are projections of it, so executing them together
(:func:`lakeflow.execute.collect_together`) reads the source once.
:meth:`ValidationPlan.conclude` turns the collected statistics row into the report
(:mod:`~lakeflow.core.validate.outcome`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

import polars as pl
from returns.result import Failure, Result, Success

from lakeflow.core.errors import (
    ConfigError,
    ConfigProblem,
    InvalidOption,
    StageError,
    StageFailed,
    ValidationFailed,
    from_exception,
)
from lakeflow.core.validate.builder import PlanBuilder
from lakeflow.core.validate.checks import (
    STAGE,
    Checks,
    DatasetRef,
    PanderaRef,
    option_problems,
)
from lakeflow.core.validate.outcome import (
    INTERNAL,
    QUARANTINE_REASONS,
    Validated,
    ValidationOutcome,
    ValidationPlan,
    static_report,
)

__all__ = [
    "QUARANTINE_REASONS",
    "Validated",
    "ValidationOutcome",
    "ValidationPlan",
    "plan_validation",
]


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
    builder = PlanBuilder(frame, schema)
    if checks.schema is not None:
        builder.schema_checks(checks.schema)
    if checks.completeness is not None:
        builder.completeness(checks.completeness.columns, checks.completeness.threshold)
    for key in cast(Sequence[str | tuple[str, ...]], checks.unique):
        builder.unique(key)
        if checks.published is not None and checks.unique_scopes.get(key, "published") == (
            "published"
        ):
            builder.unique_published(key, checks.published)
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
