"""Planning a run's writes and records: what to write where, as values.

Pure. Given what a run attempt has done so far (:class:`Progress`) and the facts of the attempt
(:class:`RunFacts`: ids, timings, versions), these functions say which objects the run puts on
its branch (:class:`WritePlan`), with which commit metadata, and build the run's record. The
transaction (:mod:`lakeflow.run.transaction`) only carries the plan out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from lakeflow.core.errors import LakeError, StageError
from lakeflow.core.incremental import Watermark
from lakeflow.core.records import (
    FailureRecord,
    RecordError,
    RowCounts,
    RunRecord,
    RunStatus,
    Step,
    WatermarkRange,
)
from lakeflow.ports import Change
from lakeflow.run.layout import RunPaths

__all__ = [
    "Progress",
    "RunFacts",
    "StepFailure",
    "WritePlan",
    "commit_metadata",
    "failure_record",
    "foreign_changes",
    "plan_writes",
    "progress_of",
    "run_record",
]


@dataclass(frozen=True, slots=True)
class Progress:
    """What one run attempt has done so far; each step returns a new one."""

    target: str
    source: Mapping[str, object] = field(default_factory=dict)
    base: str | None = None
    branch: str | None = None
    commit: str | None = None
    merge_commit: str | None = None
    watermark: WatermarkRange | None = None
    rows: RowCounts = field(default_factory=RowCounts)
    validation: Mapping[str, object] | None = None
    quality: Mapping[str, object] | None = None
    outputs: Mapping[str, str] = field(default_factory=dict)
    note: str = ""
    sinks: tuple[Mapping[str, object], ...] = ()
    table: Mapping[str, object] | None = None

    def noted(self, text: str) -> Progress:
        """Pure. This progress with ``text`` appended to its note."""
        return replace(self, note=f"{self.note} {text}".strip())


def progress_of(record: RunRecord | FailureRecord) -> Progress:
    """Pure. Where a recorded run stood, to carry it on (publish it, load it again)."""
    return Progress(
        target=record.target,
        source=record.source,
        base=record.base_commit,
        branch=record.run_branch,
        commit=record.commit,
        merge_commit=record.merge_commit,
        watermark=record.watermark,
        rows=record.rows,
        validation=record.validation,
        quality=record.quality,
        outputs=record.outputs,
        note=record.note,
        sinks=record.sinks,
    )


def foreign_changes(step: str, target: str, changes: tuple[Change, ...]) -> LakeError | None:
    """Pure. Why a merge into ``target`` holding someone's uncommitted ``changes`` cannot work.

    lakeFS refuses a merge into a branch with uncommitted changes; the error says which
    changes, and how to commit or drop them.
    """
    if not changes:
        return None
    shown = ", ".join(c.path for c in changes[:5]) + (" ..." if len(changes) > 5 else "")
    reason = (
        f"branch {target!r} has {len(changes)} uncommitted change(s) that this run did not "
        f"make ({shown}); a merge into it would be refused. Commit them, or drop them with "
        "`lakeflow init CONFIG --discard-uncommitted`"
    )
    return LakeError(step, reason, "precondition")


@dataclass(frozen=True, slots=True)
class StepFailure:
    """A step failed with a value; ``progress`` is where the run stood.

    ``files`` are the scratch files the execution had produced by then (the quarantine of a
    failed validation is kept on the run branch).
    """

    step: Step
    error: StageError
    progress: Progress
    files: Mapping[str, Path] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What a record says about the attempt itself (ids, timings, versions)."""

    run_id: str
    pipeline: str
    started_at: datetime
    finished_at: datetime
    steps: Mapping[str, float]
    attempts: Mapping[str, int]
    config_sha256: str | None
    lakeflow_version: str


def _record_fields(progress: Progress, facts: RunFacts, status: RunStatus) -> dict[str, object]:
    return {
        "run_id": facts.run_id,
        "pipeline": facts.pipeline,
        "status": status,
        "started_at": facts.started_at,
        "finished_at": facts.finished_at,
        "target": progress.target,
        "base_commit": progress.base,
        "commit": progress.commit,
        "merge_commit": progress.merge_commit,
        "run_branch": progress.branch,
        "source": dict(progress.source),
        "watermark": progress.watermark,
        "rows": progress.rows,
        "steps": dict(facts.steps),
        "attempts": dict(facts.attempts),
        "validation": progress.validation,
        "quality": progress.quality,
        "outputs": dict(progress.outputs),
        "config_sha256": facts.config_sha256,
        "lakeflow_version": facts.lakeflow_version,
        "note": progress.note,
        "sinks": progress.sinks,
        "table": progress.table,
    }


def run_record(progress: Progress, facts: RunFacts, status: RunStatus) -> RunRecord:
    """Pure. The record of a run that committed (and maybe published) its outputs."""
    return RunRecord(**_record_fields(progress, facts, status))  # type: ignore[arg-type]


def failure_record(
    failure: StepFailure, facts: RunFacts, message: str, status: RunStatus = "failed"
) -> FailureRecord:
    """Pure. The record of a run that stopped at ``failure.step``.

    ``message`` is the failure's message as it may be shown (secrets already removed).
    """
    error = failure.error
    code = error.code if isinstance(error, LakeError) else None
    return FailureRecord(
        **_record_fields(failure.progress, facts, status),  # type: ignore[arg-type]
        failed_step=failure.step,
        error=RecordError(error.kind, message, bool(error.retryable), code),
    )


def commit_metadata(facts: RunFacts, rows: RowCounts, status: str) -> dict[str, str]:
    """Pure. The string-to-string metadata of a run's commits and merge."""
    return {
        "lakeflow.run_id": facts.run_id,
        "lakeflow.pipeline": facts.pipeline,
        "lakeflow.status": status,
        "lakeflow.rows.extracted": str(rows.extracted),
        "lakeflow.rows.transformed": str(rows.transformed),
        "lakeflow.rows.valid": str(rows.valid),
        "lakeflow.rows.quarantined": str(rows.quarantined),
        "lakeflow.version": facts.lakeflow_version,
    }


@dataclass(frozen=True, slots=True)
class WritePlan:
    """The objects a run puts on its branch before its one commit.

    ``files`` are ``(output kind, lake path)`` pairs of parquet files the execution produced
    (the kind names the scratch file); ``documents`` are ``(lake path, JSON-able value)``;
    ``replace_folder`` is the dataset folder an ``overwrite`` run empties first.
    """

    files: tuple[tuple[str, str], ...]
    documents: tuple[tuple[str, Mapping[str, object]], ...]
    replace_folder: str | None
    progress: Progress


def _note(rows: RowCounts) -> str:
    if rows.valid > 0:
        return ""
    if rows.extracted == 0:
        return "no new input since the last run: nothing new published"
    return "no valid rows: nothing new published"


def plan_writes(
    progress: Progress,
    facts: RunFacts,
    paths: RunPaths,
    *,
    new_watermark: Watermark | None,
    keep_raw: bool,
    replace_folder: str | None,
    valid_part: bool = True,
) -> WritePlan:
    """Pure. What a run that passed validation writes, and its ``committed`` record.

    ``valid_part=False`` when the valid rows are published otherwise (into a Delta table, by
    :mod:`lakeflow.run.table`): no ``part-<run_id>.parquet`` is written.
    """
    rows = progress.rows
    files: list[tuple[str, str]] = []
    if rows.valid > 0 and valid_part:
        files.append(("valid", paths.valid))
    if keep_raw and rows.extracted > 0:
        files.append(("raw", paths.raw))
    if rows.quarantined > 0:
        files.append(("quarantine", paths.quarantine))
    outputs = {
        **progress.outputs,
        **dict(files),
        "quality": paths.quality,
        "checkpoint": paths.checkpoint,
        "record": paths.record,
    }
    planned = replace(progress, outputs=outputs).noted(_note(rows))
    checkpoint = {
        "pipeline": facts.pipeline,
        "last_run_id": facts.run_id,
        "watermark": new_watermark.to_json() if new_watermark else None,
    }
    quality = {"run_id": facts.run_id, "report": planned.validation, "metrics": planned.quality}
    record = run_record(planned, facts, "committed").to_json()
    documents = (
        (paths.quality, quality),
        (paths.checkpoint, checkpoint),
        (paths.record, record),
    )
    return WritePlan(tuple(files), documents, replace_folder, planned)
