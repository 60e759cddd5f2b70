"""Database loads: after the merge, and again on demand (``lakeflow load``).

Effect. Sinks load the published rows once the lake merge succeeded; a failed load leaves the
run ``published_not_loaded`` and :func:`load_run` re-applies it from the published commit
(idempotently for ``upsert`` sinks).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import polars as pl
from returns.result import Failure, Result, Success

from lakeflow.core.errors import LakeflowError
from lakeflow.core.records import FailureRecord, RunRecord
from lakeflow.lakes import LakeLike, port_of
from lakeflow.ports import Lake
from lakeflow.run.history import record_in_history, show_run
from lakeflow.run.journal import Journal, now
from lakeflow.run.pipeline import Pipeline
from lakeflow.run.plan import Progress, StepFailure, failure_record, progress_of, run_record

__all__ = ["load_published", "load_run", "load_sinks"]


def load_sinks(
    pipeline: Pipeline, journal: Journal, progress: Progress, rows: pl.LazyFrame, row_count: int
) -> Result[Progress, StepFailure]:
    """Effect. Load every database sink from the published ``rows``; stop at the first failure."""
    for sink in pipeline.sinks:
        description = dict(sink.describe())
        with journal.timed("load"):
            result = journal.call("load", partial(sink.load, rows))
        if isinstance(result, Failure):
            failed = replace(progress, sinks=(*progress.sinks, {**description, "status": "failed"}))
            return Failure(StepFailure("load", result.failure(), failed))
        changed = result.unwrap()
        loaded = {**description, "status": "loaded", "rows_changed": changed}
        progress = replace(progress, sinks=(*progress.sinks, loaded))
        target = description.get("table", "sink")
        journal.done("load", f"{changed} row(s) changed in {target}")
    return Success(replace(progress, rows=replace(progress.rows, loaded=row_count)))


def load_published(
    pipeline: Pipeline, lake: Lake, journal: Journal, progress: Progress, merge_commit: str
) -> Result[Progress, StepFailure]:
    """Effect. Load every database sink from the valid rows a run published at ``merge_commit``.

    The rows are read back from the lake (``progress.outputs["valid"]``), so this works long
    after the run itself: ``lakeflow load`` and ``lakeflow publish`` use it.
    """
    valid_path = progress.outputs.get("valid")
    if valid_path is None:
        return load_sinks(pipeline, journal, progress, pl.LazyFrame(), 0)
    scanned = journal.call("load", partial(lake.scan_frame, valid_path, ref=merge_commit))
    if isinstance(scanned, Failure):
        return Failure(StepFailure("load", scanned.failure(), progress))
    return load_sinks(pipeline, journal, progress, scanned.unwrap(), progress.rows.valid)


def load_run(pipeline: Pipeline, lake: LakeLike, run_id: str) -> Result[RunRecord, FailureRecord]:
    """Effect: re-apply a published run's database loads from its published commit.

    For a run recorded as ``published_not_loaded`` (or to reload a published one). Loads are
    idempotent for ``upsert`` sinks. The new outcome is also added to the run history.

    Raises:
        LakeflowError: The run was never published, or the pipeline has no database sink.
    """
    port = port_of(lake)
    record = show_run(port, run_id, pipeline.name)
    if record.merge_commit is None:
        raise LakeflowError(
            f"run {run_id} was never published (status {record.status}); nothing to load"
        )
    if not pipeline.sinks:
        raise LakeflowError(f"pipeline {pipeline.name!r} has no database sink to load")
    journal = Journal(
        pipeline.name, run_id, record.started_at, policy=pipeline.retry, secrets=pipeline.secrets
    )
    progress = replace(
        progress_of(record), branch=None, rows=replace(record.rows, loaded=0), note="", sinks=()
    )
    outcome = load_published(pipeline, port, journal, progress, record.merge_commit)
    note = f"loaded again by `lakeflow load` at {now().isoformat()}"
    facts = journal.facts(pipeline.config_sha256)
    final: RunRecord | FailureRecord
    if isinstance(outcome, Success):
        final = run_record(outcome.unwrap().noted(note), facts, "published")
    else:
        failure = outcome.failure()
        final = failure_record(
            failure, facts, journal.scrub(failure.error.message), "published_not_loaded"
        )
    record_in_history(port, final)
    return Success(final) if isinstance(final, RunRecord) else Failure(final)
