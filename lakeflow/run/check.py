"""Plan a run without reading data: the source's schema through the transform and the checks.

Effect (asks the source for its schema and the lake for referenced datasets' schemas; reads no
row of the source). ``lakeflow check`` prints the report, and every run checks its plan this
way before extracting, so a typo'd column fails in milliseconds instead of after a full
extract. Every problem is reported, not just the first: each transform stage is tried on its
own, and the plan is executed once on an empty frame of the source's schema to surface type
errors that only appear at execution.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import polars as pl
from returns.result import Failure

from lakeflow.core.errors import PlanRejected, StageError
from lakeflow.core.incremental import IncrementalSpec, Watermark
from lakeflow.core.records import Step
from lakeflow.core.validate import Checks, DatasetRef, plan_validation, resolve_references
from lakeflow.execute import collect_together
from lakeflow.ports import ExtractContext, Lake, SchemaSource, Source, unwrap_io
from lakeflow.run.pipeline import Pipeline

__all__ = ["PlanProblem", "PlanReport", "check_plan"]


@dataclass(frozen=True, slots=True)
class PlanProblem:
    """One problem of a plan: where (``source``, ``transform``, ``validate``) and what."""

    where: Step
    message: str
    error: StageError | None = None

    def to_json(self) -> dict[str, str]:
        """Pure. ``{where, message}``."""
        return {"where": self.where, "message": self.message}


@dataclass(frozen=True, slots=True)
class PlanReport:
    """What checking a plan found: the schemas in and out, and every problem."""

    source: Mapping[str, object]
    checked: bool
    input_schema: tuple[tuple[str, str], ...] = ()
    output_schema: tuple[tuple[str, str], ...] = ()
    problems: tuple[PlanProblem, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def error(self) -> StageError:
        """Pure. The problems as one failure value (a single failure value stays itself)."""
        if len(self.problems) == 1 and self.problems[0].error is not None:
            return self.problems[0].error
        return PlanRejected(tuple(f"{p.where}: {p.message}" for p in self.problems))

    def failed_step(self) -> Step:
        """Pure. The step the first problem belongs to (``extract`` for source problems)."""
        return self.problems[0].where if self.problems else "transform"

    def to_json(self) -> dict[str, object]:
        """Pure. The report as JSON-able data (``lakeflow check --json``)."""
        return {
            "ok": self.ok,
            "checked": self.checked,
            "source": dict(self.source),
            "input_schema": dict(self.input_schema),
            "output_schema": dict(self.output_schema),
            "problems": [p.to_json() for p in self.problems],
        }


def _schema_items(schema: pl.Schema) -> tuple[tuple[str, str], ...]:
    return tuple((name, str(dtype)) for name, dtype in schema.items())


def _unknown(kind: str, names: tuple[str, ...], schema: pl.Schema) -> list[PlanProblem]:
    problems = []
    for name in names:
        if name in schema:
            continue
        close = difflib.get_close_matches(name, schema.names(), n=2, cutoff=0.6)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        problems.append(
            PlanProblem(
                "extract",
                f"{kind} column {name!r} is not in the source (columns: "
                f"{', '.join(schema.names())}){hint}",
            )
        )
    return problems


def _incremental_problems(spec: IncrementalSpec | None, schema: pl.Schema) -> list[PlanProblem]:
    if spec is None:
        return []
    return _unknown("incremental", (spec.column,), schema) + _unknown("key", spec.key, schema)


def _empty_references(lake: Lake, checks: Checks, base: str) -> tuple[Checks, list[PlanProblem]]:
    """Dataset references replaced by empty frames of their schema (no rows read)."""
    problems: list[PlanProblem] = []
    frames: dict[str, pl.LazyFrame] = {}
    datasets = sorted(
        {ref.dataset for ref in checks.references.values() if isinstance(ref, DatasetRef)}
    )
    for dataset in datasets:
        scanned = unwrap_io(lake.scan_frame(dataset, ref=base))
        if isinstance(scanned, Failure):
            problems.append(PlanProblem("validate", scanned.failure().message, scanned.failure()))
            continue
        try:
            frames[dataset] = pl.LazyFrame(schema=scanned.unwrap().collect_schema())
        except pl.exceptions.PolarsError as exc:
            problems.append(PlanProblem("validate", f"reference {dataset!r}: {exc}"))
    if problems:
        return checks, problems
    return (resolve_references(checks, frames.__getitem__) if frames else checks), []


def _step_of(error: StageError) -> Step:
    return "validate" if error.kind in ("validation_failed",) else "transform"


def check_plan(
    pipeline: Pipeline,
    lake: Lake,
    base: str,
    watermark: Watermark | None = None,
    *,
    now: datetime,
) -> PlanReport:
    """Effect. Check ``pipeline``'s whole plan against its source's schema, reading no rows.

    Sources that cannot tell their schema without reading (custom :class:`Source` classes
    that do not implement :class:`SchemaSource`) are reported as not checked.
    """
    source: Source = pipeline.resolved_source()
    described = dict(source.describe())
    if not isinstance(source, SchemaSource):
        return PlanReport(described, checked=False)
    context = ExtractContext(watermark=watermark, lake=lake, base_ref=base)
    found = unwrap_io(source.plan_schema(context))
    if isinstance(found, Failure):
        problem = PlanProblem("extract", found.failure().message, found.failure())
        return PlanReport(described, checked=True, problems=(problem,))
    schema = found.unwrap()
    problems = _incremental_problems(source.incremental, schema)
    frame = pl.LazyFrame(schema=schema)
    for leaf in pipeline.run_transform.leaves:
        stepped = leaf(frame)
        if isinstance(stepped, Failure):
            problems.append(PlanProblem("transform", stepped.failure().message, stepped.failure()))
        else:
            frame = stepped.unwrap()
    checks, reference_problems = _empty_references(lake, pipeline.run_checks, base)
    problems.extend(reference_problems)
    output = _schema_items(frame.collect_schema())
    planned = plan_validation(frame, checks, now=now)
    if isinstance(planned, Failure):
        problems.append(PlanProblem("validate", planned.failure().message, planned.failure()))
    elif not problems:
        plan = planned.unwrap()
        ran = collect_together([plan.stats, plan.valid, plan.quarantine], engine="in-memory")
        if isinstance(ran, Failure):
            error = ran.failure()
            problems.append(PlanProblem(_step_of(error), error.message, error))
    return PlanReport(described, True, _schema_items(schema), output, tuple(problems))
