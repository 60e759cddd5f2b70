"""Write-audit-publish by hand: publish, discard and prune the runs kept on their branches.

Effect. ``run(..., merge=False)`` (``lakeflow run --no-merge``) commits a run on its kept
branch and records it ``committed``. A person audits that branch (``lake.scan(path,
ref=record.run_branch)``), then either

* :func:`publish_run` merges the audited commit into the run's target, exactly as the run
  would have: the checkpoint travels with the data, so if another run published from the same
  base meanwhile the merge conflicts on the checkpoint and nothing is published twice; database
  sinks load after the merge; the history records the run ``published``; or
* :func:`discard_run` deletes the kept branch and records the run ``discarded``.

:func:`prune_runs` deletes the kept branches of failed and discarded runs older than an age
(and of runs that died before recording anything); their records stay in the history. It
never deletes the branch of a ``committed`` run (still waiting for its audit) unless asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Final

from returns.result import Failure, Result, Success

from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.core.errors import LakeError, LakeflowError
from lakeflow.core.records import FailureRecord, RunRecord, RunStatus
from lakeflow.lakes import LakeLike, port_of
from lakeflow.ports import Lake
from lakeflow.run.history import read_history, record_in_history, show_run
from lakeflow.run.journal import Journal, now
from lakeflow.run.layout import run_branch_name, run_id_of_branch, run_started_at
from lakeflow.run.load import load_published
from lakeflow.run.pipeline import Pipeline, RunEvent
from lakeflow.run.plan import (
    Progress,
    RunFacts,
    StepFailure,
    commit_metadata,
    failure_record,
    foreign_changes,
    progress_of,
    run_record,
)

__all__ = ["PruneReport", "PrunedBranch", "discard_run", "prune_runs", "publish_run"]

_PUBLISHABLE: Final = "committed"


def _committed_run(lake: Lake, pipeline: str, run_id: str) -> RunRecord:
    """Effect. The record of a ``committed`` run; raises :class:`LakeflowError` otherwise."""
    record = show_run(lake, run_id, pipeline)
    if record.status == _PUBLISHABLE and isinstance(record, RunRecord) and record.commit:
        return record
    why = {
        "published": "it is published already",
        "published_not_loaded": "it is published already (`lakeflow load` loads it again)",
        "failed": f"it failed at {getattr(record, 'failed_step', '?')}: nothing to publish",
        "discarded": "it was discarded",
    }.get(record.status, f"its status is {record.status}")
    raise LakeflowError(
        f"run {run_id} cannot be published: {why}; only runs committed with "
        "`lakeflow run --no-merge` wait to be published"
    )


def _facts(record: RunRecord, journal: Journal) -> RunFacts:
    """Effect (reads nothing). The record's own facts, with the steps this command timed added.

    The run's start and end stay those of the run itself: the time it waited for its audit is
    not the run's duration.
    """
    attempts = dict(record.attempts)
    for step, count in journal.attempts.items():
        attempts[step] = attempts.get(step, 0) + count
    return RunFacts(
        run_id=record.run_id,
        pipeline=record.pipeline,
        started_at=record.started_at,
        finished_at=record.finished_at,
        steps={**record.steps, **journal.steps},
        attempts=attempts,
        config_sha256=record.config_sha256,
        lakeflow_version=record.lakeflow_version,
    )


def _merge(
    lake: Lake, journal: Journal, record: RunRecord, progress: Progress
) -> Result[Progress, StepFailure]:
    """Effect. Merge the audited commit into the target (never the branch's later commits)."""
    target, commit = record.target, record.commit
    assert commit is not None  # noqa: S101 - a committed run has its commit
    with journal.timed("merge"):
        pending = journal.call("merge", partial(lake.uncommitted, target))
        if isinstance(pending, Failure):
            return Failure(StepFailure("merge", pending.failure(), progress))
        problem = foreign_changes("merge", target, pending.unwrap())
        if problem is not None:
            return Failure(StepFailure("merge", problem, progress))
        merged = journal.call(
            "merge",
            partial(
                lake.merge,
                commit,
                target,
                message=f"lakeflow: publish {record.pipeline} run {record.run_id}",
                metadata=commit_metadata(_facts(record, journal), record.rows, "published"),
            ),
        )
    if isinstance(merged, Failure):
        return Failure(StepFailure("merge", _explained(merged.failure(), record), progress))
    journal.done("merge", f"{target} at {merged.unwrap()[:12]}")
    return Success(replace(progress, merge_commit=merged.unwrap()))


def _explained(error: LakeError, record: RunRecord) -> LakeError:
    """Pure. A merge failure in words a person publishing a run can act on."""
    if error.code == "conflict" and not error.retryable:
        base = (record.base_commit or "")[:12]
        reason = (
            f"another run published to {record.target!r} since this run's base {base}, so "
            f"publishing it would publish rows twice; nothing was published ({error.reason}). "
            f"Discard it (`lakeflow discard CONFIG {record.run_id}`) and run the pipeline again"
        )
        return replace(error, reason=reason)
    if error.code == "invalid":
        reason = (
            f"{error.reason} (was run {record.run_id} published already, by another "
            "`lakeflow publish`?)"
        )
        return replace(error, reason=reason)
    return error


def _cleanup(lake: Lake, journal: Journal, progress: Progress) -> Progress:
    """Effect. Delete the published run's branch; a failure only leaves a note."""
    branch = progress.branch
    if branch is None:
        return progress
    with journal.timed("cleanup"):
        deleted = unwrap_io(lake.delete_branch(branch))
    if isinstance(deleted, Failure) and deleted.failure().code != "not_found":
        return progress.noted(f"run branch kept: {deleted.failure().message}")
    return replace(progress, branch=None)


def publish_run(
    pipeline: Pipeline,
    lake: LakeLike,
    run_id: str,
    *,
    on_event: Callable[[RunEvent], None] | None = None,
) -> Result[RunRecord, FailureRecord]:
    """Effect: publish a run committed with ``merge=False``, after a person audited it.

    Merges the run's commit (the one audited, even if its branch moved since) into the run's
    target, deletes the run branch, loads the database sinks from the published rows and
    records the run ``published`` in the history. Returns ``Failure(FailureRecord)`` when it
    could not publish: ``status="failed"`` (recorded in the history) when another run
    published from the same base first -- publishing would duplicate rows; ``"committed"``
    (nothing recorded: try again) for transient failures; ``"published_not_loaded"`` when the
    merge succeeded but a database load failed (``lakeflow load`` re-applies it).

    Raises:
        LakeflowError: There is no such run, or it is not ``committed`` (published, failed or
            discarded already).
    """
    port = port_of(lake)
    record = _committed_run(port, pipeline.name, run_id)
    journal = Journal(
        pipeline.name,
        run_id,
        record.started_at,
        policy=pipeline.retry,
        secrets=pipeline.secrets,
        on_event=on_event,
    )
    start = replace(progress_of(record), rows=replace(record.rows, loaded=0), sinks=())
    merged = _merge(port, journal, record, start)
    if isinstance(merged, Failure):
        return Failure(_not_published(port, journal, record, merged.failure()))
    progress = _cleanup(port, journal, merged.unwrap())
    merge_commit = progress.merge_commit
    assert merge_commit is not None  # noqa: S101 - set by the merge
    loaded: Result[Progress, StepFailure] = Success(progress)
    if pipeline.sinks:  # database sinks load after the merge, as in a run
        loaded = load_published(pipeline, port, journal, progress, merge_commit)
    note = f"published by `lakeflow publish` at {now().isoformat()}"
    final: RunRecord | FailureRecord
    if isinstance(loaded, Success):
        final = run_record(loaded.unwrap().noted(note), _facts(record, journal), "published")
    else:
        failure = loaded.failure()
        failure = replace(failure, progress=failure.progress.noted(note))
        message = journal.scrub(failure.error.message)
        final = failure_record(failure, _facts(record, journal), message, "published_not_loaded")
    problem = record_in_history(port, final)
    if problem is not None:
        final = replace(final, note=journal.scrub(f"{final.note} not recorded: {problem}"))
    return Success(final) if isinstance(final, RunRecord) else Failure(final)


def _not_published(
    lake: Lake, journal: Journal, record: RunRecord, failure: StepFailure
) -> FailureRecord:
    """Effect. The outcome of a publish that merged nothing: recorded ``failed`` when it can
    never succeed (another run published from its base), else left ``committed``."""
    journal.emit("merge", "failed", failure.error.message)
    error = failure.error
    lost = isinstance(error, LakeError) and error.code == "conflict" and not error.retryable
    status: RunStatus = "failed" if lost else "committed"
    message = journal.scrub(error.message)
    if not lost:
        failure = replace(
            failure,
            progress=failure.progress.noted(
                "still committed: publish it again when the lake answers"
            ),
        )
    found = failure_record(failure, _facts(record, journal), message, status)
    if lost:
        problem = record_in_history(lake, found)
        if problem is not None:
            found = replace(found, note=journal.scrub(f"{found.note} not recorded: {problem}"))
    return found


def discard_run(
    pipeline: str, lake: LakeLike, run_id: str
) -> Result[RunRecord | FailureRecord, LakeError]:
    """Effect: drop a run that was never published: delete its kept branch, record it
    ``discarded`` (its record stays in the history). Discarding a discarded run changes
    nothing.

    Raises:
        LakeflowError: There is no such run, or it was published.
    """
    port = port_of(lake)
    record = show_run(port, run_id, pipeline)
    if record.status in ("published", "published_not_loaded"):
        raise LakeflowError(
            f"run {run_id} is published: discard drops only runs that were never published "
            "(committed with --no-merge, or failed)"
        )
    branch = record.run_branch or run_branch_name(pipeline, run_id)
    deleted = unwrap_io(port.delete_branch(branch))
    if isinstance(deleted, Failure) and deleted.failure().code != "not_found":
        return Failure(deleted.failure())
    if record.status == "discarded":
        return Success(record)
    note = f"{record.note} discarded by `lakeflow discard` at {now().isoformat()}".strip()
    discarded = replace(record, status="discarded", run_branch=None, note=note)
    problem = record_in_history(port, discarded)
    if problem is not None:
        reason = f"the branch is deleted but the run is not recorded as discarded: {problem}"
        return Failure(LakeError("discard", reason, "unavailable", retryable=True))
    return Success(discarded)


@dataclass(frozen=True, slots=True)
class PrunedBranch:
    """A run branch :func:`prune_runs` looked at: its run, status and age, and why it was kept
    (``reason`` is empty for a branch that was deleted, or would be with ``dry_run``)."""

    branch: str
    run_id: str
    status: str
    age: timedelta
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PruneReport:
    """The run branches :func:`prune_runs` deleted (``pruned``) and kept (``kept``)."""

    pruned: tuple[PrunedBranch, ...]
    kept: tuple[PrunedBranch, ...]
    dry_run: bool = False


def _verdict(status: str, age: timedelta, older_than: timedelta, *, include_committed: bool) -> str:
    """Pure. Why a run branch is kept, or ``""`` when it may be pruned."""
    if status == "unreadable":
        return "its record cannot be read (see `lakeflow runs`)"
    if status == _PUBLISHABLE and not include_committed:
        return "committed, waiting to be published or discarded (--include-committed prunes it)"
    if age < older_than:
        return f"younger than {older_than}"
    return ""


def prune_runs(
    pipeline: str,
    lake: LakeLike,
    older_than: timedelta,
    *,
    include_committed: bool = False,
    dry_run: bool = False,
    at: datetime | None = None,
) -> Result[PruneReport, LakeError]:
    """Effect: delete ``pipeline``'s kept run branches whose runs ended longer ago than
    ``older_than``: failed and discarded runs, runs that died before recording anything (by
    the start time in their id), and published runs whose branch was left behind. Their
    records stay in the history.

    Args:
        pipeline: The pipeline whose run branches to prune (never another pipeline's).
        lake: The lake.
        older_than: The age a run must have reached (from its end, as recorded).
        include_committed: Also prune ``committed`` runs that were never published.
        dry_run: Only report what would be deleted.
        at: The time ages are measured at (default: now).
    """
    port = port_of(lake)
    listed = unwrap_io(port.list_branches())
    if isinstance(listed, Failure):
        return Failure(listed.failure())
    history = read_history(port, pipeline)
    if isinstance(history, Failure):
        return Failure(history.failure())
    records = {r.run_id: r for r in history.unwrap().records}
    unreadable = {u.run_id for u in history.unwrap().unreadable}
    moment = at or now()
    pruned: list[PrunedBranch] = []
    kept: list[PrunedBranch] = []
    for branch in listed.unwrap():
        run_id = run_id_of_branch(pipeline, branch.name)
        if run_id is None:
            continue
        record = records.get(run_id)
        ended = record.finished_at if record is not None else run_started_at(run_id)
        status = (
            record.status
            if record is not None
            else "unreadable"
            if run_id in unreadable
            else "unrecorded"
        )
        age = moment - ended if ended is not None else timedelta(0)
        found = PrunedBranch(branch.name, run_id, status, age)
        reason = _verdict(status, age, older_than, include_committed=include_committed)
        if reason:
            kept.append(replace(found, reason=reason))
            continue
        if not dry_run:
            deleted = unwrap_io(port.delete_branch(branch.name))
            if isinstance(deleted, Failure) and deleted.failure().code != "not_found":
                return Failure(deleted.failure())
        pruned.append(found)
    return Success(PruneReport(tuple(pruned), tuple(kept), dry_run))
