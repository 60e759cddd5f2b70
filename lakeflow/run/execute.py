"""Extract, transform and validate: plan the whole run, then execute it once.

Effect. The source's lazy frame, the transform stage and the validation plan become one
execution (:func:`lakeflow.execute.collect_together`) that streams the valid rows, the
quarantine and the raw copy to parquet files in a scratch folder while it computes the counts
and the new watermark, reading the source once. Failures come back as
:class:`~lakeflow.run.plan.StepFailure` values naming the step they belong to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from functools import partial
from pathlib import Path

import polars as pl
from returns.result import Failure, Result, Success

from lakeflow.core.errors import ExtractError, LakeError, LoadError, StageError, ValidationFailed
from lakeflow.core.incremental import Watermark, advance, after_watermark, watermark_stats
from lakeflow.core.records import RowCounts, Step, WatermarkRange
from lakeflow.core.validate import (
    Checks,
    DatasetRef,
    ValidationOutcome,
    plan_validation,
    resolve_references,
)
from lakeflow.execute import collect_together
from lakeflow.ports import ExtractContext, Lake, Source
from lakeflow.run.journal import Journal
from lakeflow.run.pipeline import Pipeline
from lakeflow.run.plan import Progress, StepFailure
from lakeflow.run.published import with_published_rows

__all__ = ["Executed", "execute"]


@dataclass(frozen=True, slots=True)
class Executed:
    """What one execution of the run's plan produced."""

    outcome: ValidationOutcome | None
    validation_error: ValidationFailed | None
    files: Mapping[str, Path]
    new_watermark: Watermark | None
    progress: Progress


def _step_of(error: StageError) -> Step:
    """The step an execution failure belongs to (plans run extract to validate at once)."""
    if isinstance(error, ExtractError):
        return "extract"
    if isinstance(error, ValidationFailed):
        return "validate"
    if isinstance(error, LoadError):
        return "load"
    if isinstance(error, LakeError):
        return "write"
    return "transform"


def _extract_detail(source: Mapping[str, object], watermark: Watermark | None) -> str:
    """What was read, in words: ``sql users from updated_at 2024-01-01T00:00:00``."""
    what = next((str(source[k]) for k in ("table", "path", "name") if source.get(k)), "")
    where = f"{source.get('kind', 'source')} {what}".strip()
    if watermark is None:
        return where
    value = watermark.value.isoformat() if isinstance(watermark.value, date) else watermark.value
    return f"{where} from {watermark.column} {value}"


def _resolve_datasets(
    journal: Journal, lake: Lake, checks: Checks, base: str
) -> Result[Checks, StageError]:
    """Scan ``references: {dataset: ...}`` at the run's base commit (no data is read)."""
    datasets = sorted(
        {ref.dataset for ref in checks.references.values() if isinstance(ref, DatasetRef)}
    )
    frames: dict[str, pl.LazyFrame] = {}
    for dataset in datasets:
        scanned = journal.call("validate", partial(lake.scan_frame, dataset, ref=base))
        if isinstance(scanned, Failure):
            return Failure(scanned.failure())
        frames[dataset] = scanned.unwrap()
    return Success(resolve_references(checks, frames.__getitem__) if frames else checks)


def execute(
    pipeline: Pipeline,
    source: Source,
    lake: Lake,
    journal: Journal,
    progress: Progress,
    *,
    watermark: Watermark | None,
    scratch: Path,
) -> Result[Executed, StepFailure]:
    """Effect. Extract, transform and validate ``source`` in one execution.

    Returns the execution's files and counts (a validation failure included, as
    ``validation_error``), or the failure of the step that could not go on.
    """
    base = progress.base
    assert base is not None  # noqa: S101 - set by the resolve step

    def stop(step: Step, error: StageError) -> Failure[StepFailure]:
        return Failure(StepFailure(step, error, progress))

    spec = source.incremental
    with journal.timed("extract"):
        context = ExtractContext(
            watermark=watermark,
            lake=lake,
            base_ref=base,
            on_rows=partial(journal.progress, "extract"),
        )
        extracted_result = journal.call("extract", partial(source.extract, context))
    if isinstance(extracted_result, Failure):
        return stop("extract", extracted_result.failure())
    frame = extracted_result.unwrap()
    if spec is not None:
        selected = after_watermark(frame, watermark, spec)
        if isinstance(selected, Failure):
            return stop("extract", selected.failure())
        frame = selected.unwrap()
    extracted = frame.cache()
    journal.done("extract", _extract_detail(progress.source, watermark))

    with journal.timed("transform"):
        transformed = pipeline.run_transform(extracted)
    if isinstance(transformed, Failure):
        return stop("transform", transformed.failure())
    journal.done("transform", pipeline.transform.name)

    with journal.timed("validate"):
        resolved = _resolve_datasets(journal, lake, pipeline.run_checks, base).bind(
            partial(with_published_rows, pipeline, lake, journal, base=base)
        )
        planned = resolved.bind(
            lambda checks: plan_validation(transformed.unwrap(), checks, now=journal.started)
        )
        if isinstance(planned, Failure):
            return stop("validate", planned.failure())
        plan = planned.unwrap()
        files = {"valid": scratch / "valid.parquet", "quarantine": scratch / "quarantine.parquet"}
        sinks = [(plan.valid, files["valid"]), (plan.quarantine, files["quarantine"])]
        if pipeline.keep_raw:
            files["raw"] = scratch / "raw.parquet"
            sinks.append((extracted, files["raw"]))
        frames = [plan.stats, extracted.select(pl.len().alias("rows"))]
        if spec is not None:
            frames.append(watermark_stats(extracted, spec))
        collected = collect_together(frames, sinks, stage="execution")
        if isinstance(collected, Failure):
            error: StageError = collected.failure()
            return stop(_step_of(error), error)
        stats, counted, *rest = collected.unwrap()
        new_watermark = watermark
        if spec is not None:
            schema = extracted.collect_schema()
            advanced = advance(watermark, rest[0].row(0, named=True), spec, schema)
            if isinstance(advanced, Failure):
                return stop("extract", advanced.failure())
            new_watermark = advanced.unwrap()
        concluded = plan.conclude(stats)

    outcome = concluded.value_or(None)
    validation_error = None if outcome is not None else concluded.failure()
    report = outcome.report if outcome is not None else validation_error.report  # type: ignore[union-attr]
    totals = report.totals()
    rows = RowCounts(
        extracted=int(counted["rows"][0]),
        transformed=totals.rows,
        valid=totals.valid,
        quarantined=totals.quarantined,
    )
    window = None
    if spec is not None:
        window = WatermarkRange(
            spec.column,
            watermark.to_json()["value"] if watermark else None,
            new_watermark.to_json()["value"] if new_watermark else None,
        )
    done = replace(
        progress,
        rows=rows,
        validation=report.to_json(),
        quality=report.metrics.to_json() if report.metrics is not None else None,
        watermark=window,
    )
    journal.emit(
        "validate",
        "ok" if validation_error is None else "failed",
        f"{rows.valid} valid, {rows.quarantined} quarantined of {rows.transformed} rows "
        f"({rows.extracted} extracted); {report.status}",
        journal.steps["validate"],
    )
    return Success(Executed(outcome, validation_error, files, new_watermark, done))
