"""``run()``: one pipeline run as a write-audit-publish transaction over a :class:`Lake`.

Effect; the one place effects are sequenced. A run:

1. resolves the target's head ``B`` (the base commit), refuses a target with uncommitted
   changes it did not make, reads the checkpoint at ``B`` and creates a visible run branch
   ``lakeflow-run-<pipeline>-<run_id>`` at ``B``;
2. extracts (transient errors retried with backoff), transforms and validates in one lazy
   plan executed once (:mod:`lakeflow.run.execute`);
3. applies the dataset's schema policy and, for a Delta table, writes its new files and log
   entry on the run branch (:mod:`lakeflow.run.table`); puts the outputs, quarantine, quality
   report, run record and advanced checkpoint on the run branch
   (:func:`lakeflow.run.plan.plan_writes` says what goes where) and commits once with string
   metadata;
4. merges the run branch into the target (never fast-forward) and deletes the run branch;
5. loads database sinks from the published rows;
6. records the run in the run history, with the SLAs it broke, then sends its alerts and
   metrics (:mod:`lakeflow.run.monitor`).

Each step is a function from the run's state to ``Result[next state, StepFailure]``, chained
with ``bind``. On any failure the failure record (and the quarantined rows, if any) is committed
on the kept run branch, the target is left untouched and ``Failure(FailureRecord)`` is
returned. The checkpoint is committed together with the data and names the run, so two runs
from the same base always conflict on merge: one publishes, the other fails (or, with
``retry_on_conflict``, re-plans from the new base). Bugs still raise.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TypeAlias

import polars as pl
from returns.result import Failure, Result, Success

from lakeflow.core.errors import LakeError, LakeflowError
from lakeflow.core.incremental import Watermark
from lakeflow.core.records import FailureRecord, RunRecord, RunStatus, encode_json
from lakeflow.core.secrets import redact_values
from lakeflow.lakes import LakeLike, port_of
from lakeflow.ports import Lake, Source, unwrap_io
from lakeflow.run.check import check_plan
from lakeflow.run.execute import Executed, execute
from lakeflow.run.history import record_in_history
from lakeflow.run.journal import Journal, now
from lakeflow.run.layout import checkpoint_path, run_branch_name, run_paths, target_problem
from lakeflow.run.load import load_sinks
from lakeflow.run.monitor import Monitoring, check_sla, deliver
from lakeflow.run.pipeline import Pipeline, RunEvent
from lakeflow.run.plan import (
    Progress,
    StepFailure,
    commit_metadata,
    failure_record,
    foreign_changes,
    plan_writes,
    run_record,
)
from lakeflow.run.table import publish_table
from lakeflow.run.watermarks import initial_watermark

__all__ = ["Outcome", "run"]

Outcome: TypeAlias = Result[RunRecord, FailureRecord]
JSON = "application/json"
PARQUET = "application/vnd.apache.parquet"


@dataclass(frozen=True, slots=True)
class _Resolved:
    progress: Progress
    watermark: Watermark | None


@dataclass(frozen=True, slots=True)
class _Staged:
    progress: Progress
    files: Mapping[str, Path]


def _new_run_id(started: datetime) -> str:
    return f"{started:%Y%m%dT%H%M%S}{started.microsecond // 1000:03d}Z-{uuid.uuid4().hex[:8]}"


class _Transaction:
    """The steps of one run attempt; each returns ``Result[next state, StepFailure]``."""

    def __init__(
        self,
        pipeline: Pipeline,
        lake: Lake,
        journal: Journal,
        source: Source,
        scratch: Path,
        *,
        merge: bool,
    ) -> None:
        self.pipeline = pipeline
        self.lake = lake
        self.journal = journal
        self.source = source
        self.scratch = scratch
        self.merge = merge

    # -- resolve --------------------------------------------------------------------------------
    def resolve(self, progress: Progress) -> Result[_Resolved, StepFailure]:
        """Base commit, no foreign staged changes on the target, checkpoint, run branch."""
        journal, lake, target = self.journal, self.lake, progress.target
        with journal.timed("resolve"):
            resolved = (
                journal.call("resolve", partial(lake.resolve, target))
                .map(lambda base: replace(progress, base=base))
                .alt(lambda error: StepFailure("resolve", error, progress))
                .bind(self._no_foreign_changes)
                .bind(self._checkpoint)
                .bind(self._plan)
                .bind(self._branch)
            )
        if isinstance(resolved, Success):
            done = resolved.unwrap().progress
            journal.done(
                "resolve",
                f"{target} at {(done.base or '')[:12]}; run branch {done.branch}",
            )
        return resolved

    def _no_foreign_changes(self, progress: Progress) -> Result[Progress, StepFailure]:
        """A target with uncommitted changes cannot take a merge: say so before any work."""
        target = progress.target
        pending = self.journal.call("resolve", partial(self.lake.uncommitted, target))
        if isinstance(pending, Failure):
            return Failure(StepFailure("resolve", pending.failure(), progress))
        problem = foreign_changes("resolve", target, pending.unwrap())
        if problem is None:
            return Success(progress)
        return Failure(StepFailure("resolve", problem, progress))

    def _checkpoint(self, progress: Progress) -> Result[_Resolved, StepFailure]:
        base = progress.base
        assert base is not None  # noqa: S101 - set just before
        path = checkpoint_path(self.pipeline.name)
        found = self.journal.call("resolve", partial(self.lake.get_bytes, path, ref=base))
        if isinstance(found, Failure):
            error: LakeError = found.failure()
            if error.code == "not_found":
                return self._initial(progress)
            return Failure(StepFailure("resolve", error, progress))
        try:
            raw = json.loads(found.unwrap()).get("watermark")
            mark = Watermark.from_json(raw) if raw else None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            reason = f"{path} at {base} is corrupt ({exc}); fix or delete it on the target"
            error = LakeError("read checkpoint", reason, "corrupt")
            return Failure(StepFailure("resolve", error, progress))
        # A checkpoint without a watermark (lakeflow reset) starts over, like no checkpoint.
        return Success(_Resolved(progress, mark)) if mark is not None else self._initial(progress)

    def _initial(self, progress: Progress) -> Result[_Resolved, StepFailure]:
        """No checkpoint yet: start at ``incremental.initial`` when the source sets one."""
        assert progress.base is not None  # noqa: S101 - set by the resolve step
        started = initial_watermark(self.source, self.lake, progress.base)
        return started.map(lambda mark: _Resolved(progress, mark)).alt(
            lambda error: StepFailure("resolve", error, progress)
        )

    def _plan(self, resolved: _Resolved) -> Result[_Resolved, StepFailure]:
        """Check the whole plan against the source's schema before reading any row."""
        progress = resolved.progress
        assert progress.base is not None  # noqa: S101 - set by the resolve step
        report = check_plan(
            self.pipeline, self.lake, progress.base, resolved.watermark, now=self.journal.started
        )
        if report.ok:
            return Success(resolved)
        return Failure(StepFailure(report.failed_step(), report.error(), progress))

    def _branch(self, resolved: _Resolved) -> Result[_Resolved, StepFailure]:
        progress = resolved.progress
        base = progress.base
        assert base is not None  # noqa: S101 - set by the resolve step
        branch = run_branch_name(self.pipeline.name, self.journal.run_id)
        created = self.journal.call("branch", partial(self.lake.create_branch, branch, base))
        if isinstance(created, Failure):
            return Failure(StepFailure("resolve", created.failure(), progress))
        return Success(replace(resolved, progress=replace(progress, branch=branch)))

    # -- execute and audit -----------------------------------------------------------------------
    def execute(self, resolved: _Resolved) -> Result[Executed, StepFailure]:
        """Extract, transform and validate in one execution."""
        return execute(
            self.pipeline,
            self.source,
            self.lake,
            self.journal,
            resolved.progress,
            watermark=resolved.watermark,
            scratch=self.scratch,
        )

    def audit(self, executed: Executed) -> Result[Executed, StepFailure]:
        """Stop a run whose data failed validation (its quarantine is kept on its branch)."""
        if executed.validation_error is None:
            return Success(executed)
        failure = StepFailure(
            "validate", executed.validation_error, executed.progress, executed.files
        )
        return Failure(failure)

    def table(self, executed: Executed) -> Result[Executed, StepFailure]:
        """Apply the schema policy; publish into a Delta table (:mod:`lakeflow.run.table`)."""
        return publish_table(self.pipeline, self.lake, self.journal, executed, self.scratch)

    # -- write and commit ------------------------------------------------------------------------
    def write(self, executed: Executed) -> Result[_Staged, StepFailure]:
        """Put every output of the run on the run branch (not yet committed)."""
        pipeline, journal = self.pipeline, self.journal
        progress = executed.progress
        branch = progress.branch
        assert branch is not None  # noqa: S101 - set by the resolve step
        paths = run_paths(pipeline.name, pipeline.output_path, journal.run_id)
        plan = plan_writes(
            progress,
            journal.facts(pipeline.config_sha256),
            paths,
            new_watermark=executed.new_watermark,
            keep_raw=pipeline.keep_raw,
            replace_folder=(
                pipeline.output_path
                if pipeline.mode == "overwrite" and pipeline.format == "parquet"
                else None
            ),
            valid_part=pipeline.format == "parquet",
        )

        def fail(error: LakeError) -> StepFailure:
            return StepFailure("write", error, progress, executed.files)

        with journal.timed("write"):
            steps: list[Callable[[], Result[None, LakeError]]] = []
            if plan.replace_folder is not None:
                steps.append(partial(self._empty_folder, branch, plan.replace_folder))
            for kind, path in plan.files:
                steps.append(partial(self._put_file, branch, kind, path, executed.files[kind]))
            for path, document in plan.documents:
                steps.append(partial(self._put_json, branch, path, document))
            for put in steps:
                done = put()
                if isinstance(done, Failure):
                    return Failure(fail(done.failure()))
        journal.done("write", f"{len(plan.files)} data file(s) on {branch}")
        return Success(_Staged(plan.progress, executed.files))

    def _empty_folder(self, branch: str, folder: str) -> Result[None, LakeError]:
        listing = self.journal.call(
            "write", partial(self.lake.list_objects, folder + "/", ref=branch)
        )
        if isinstance(listing, Failure):
            return Failure(listing.failure())
        for info in listing.unwrap():
            deleted = self.journal.call(
                "write", partial(self.lake.delete_object, info.path, branch=branch)
            )
            if isinstance(deleted, Failure):
                return Failure(deleted.failure())
        return Success(None)

    def _put_file(self, branch: str, kind: str, path: str, file: Path) -> Result[None, LakeError]:
        # The valid rows are read again by database loads after the merge: keep that file.
        move = not (kind == "valid" and self.pipeline.sinks)
        put = partial(
            self.lake.put_file, path, file, branch=branch, content_type=PARQUET, move=move
        )
        return self.journal.call("write", put).map(lambda _: None)

    def _put_json(
        self, branch: str, path: str, document: Mapping[str, object]
    ) -> Result[None, LakeError]:
        payload = (encode_json(document) + "\n").encode()
        put = partial(self.lake.put_bytes, path, payload, branch=branch, content_type=JSON)
        return self.journal.call("write", put).map(lambda _: None)

    def commit(self, staged: _Staged) -> Result[_Staged, StepFailure]:
        """Commit everything the run put on its branch, once."""
        journal, progress = self.journal, staged.progress
        branch = progress.branch
        assert branch is not None  # noqa: S101 - set by the resolve step
        with journal.timed("commit"):
            committed = journal.call(
                "commit",
                partial(
                    self.lake.commit,
                    branch,
                    f"lakeflow: {self.pipeline.name} run {journal.run_id}",
                    commit_metadata(
                        journal.facts(self.pipeline.config_sha256), progress.rows, "committed"
                    ),
                    allow_empty=True,
                ),
            )
        if isinstance(committed, Failure):
            return Failure(StepFailure("commit", committed.failure(), progress, staged.files))
        commit_id = committed.unwrap().id
        journal.done("commit", commit_id[:12])
        return Success(replace(staged, progress=replace(progress, commit=commit_id)))

    # -- publish and load ------------------------------------------------------------------------
    def publish(self, staged: _Staged) -> Result[_Staged, StepFailure]:
        """Merge the run branch into the target, then delete the run branch."""
        journal, progress, lake = self.journal, staged.progress, self.lake
        branch, target = progress.branch, progress.target
        assert branch is not None  # noqa: S101 - set by the resolve step
        with journal.timed("merge"):
            merged = journal.call(
                "merge",
                partial(
                    lake.merge,
                    branch,
                    target,
                    message=f"lakeflow: publish {self.pipeline.name} run {journal.run_id}",
                    metadata=commit_metadata(
                        journal.facts(self.pipeline.config_sha256), progress.rows, "published"
                    ),
                ),
            )
        if isinstance(merged, Failure):
            return Failure(StepFailure("merge", merged.failure(), progress, staged.files))
        progress = replace(progress, merge_commit=merged.unwrap())
        journal.done("merge", f"{target} at {merged.unwrap()[:12]}")
        with journal.timed("cleanup"):
            deleted = unwrap_io(lake.delete_branch(branch))
        if isinstance(deleted, Failure):
            progress = progress.noted(f"run branch kept: {deleted.failure().message}")
        else:
            progress = replace(progress, branch=None)
        return Success(replace(staged, progress=progress))

    def load(self, staged: _Staged) -> Result[Progress, StepFailure]:
        """Load database sinks from the published rows."""
        if not self.pipeline.sinks:
            return Success(staged.progress)
        valid = staged.files.get("valid")
        frame = pl.scan_parquet(valid) if valid is not None else pl.LazyFrame()
        return load_sinks(
            self.pipeline, self.journal, staged.progress, frame, staged.progress.rows.valid
        )

    # -- the whole attempt -----------------------------------------------------------------------
    def attempt(self, target: str) -> Outcome:
        """One attempt of the run, from the base commit to the merge and the loads."""
        described = redact_values(self.source.describe(), self.journal.secrets)
        start = Progress(target=target, source=described)
        staged = (
            self.resolve(start)
            .bind(self.execute)
            .bind(self.audit)
            .bind(self.table)
            .bind(self.write)
            .bind(self.commit)
        )
        facts = partial(self.journal.facts, self.pipeline.config_sha256)
        if not self.merge:
            done = staged.map(lambda s: run_record(s.progress, facts(), "committed"))
        else:
            published = staged.bind(self.publish).bind(self.load)
            done = published.map(lambda p: run_record(p, facts(), "published"))
        return done.alt(self.fail)

    def fail(self, failure: StepFailure) -> FailureRecord:
        """The failure record; a failed run's record and quarantine are kept on its branch."""
        journal = self.journal
        if failure.step not in journal.failed:
            journal.emit(failure.step, "failed", failure.error.message)
        message = journal.scrub(failure.error.message)
        status: RunStatus = "published_not_loaded" if failure.progress.merge_commit else "failed"
        record = failure_record(
            failure, journal.facts(self.pipeline.config_sha256), message, status
        )
        if status == "failed":
            record = self._keep_on_branch(failure, record)
        return record

    def _keep_on_branch(self, failure: StepFailure, record: FailureRecord) -> FailureRecord:
        """Commit the failure record (and quarantine) on the kept run branch; never raises.

        A run that failed after its own commit (at the merge) gets a second commit on top, so
        the branch head always explains why it was not published.
        """
        branch = record.run_branch
        if branch is None:
            return record
        lake, journal = self.lake, self.journal
        paths = run_paths(self.pipeline.name, self.pipeline.output_path, journal.run_id)
        problems: list[str] = []
        quarantine = failure.files.get("quarantine")
        if (
            quarantine is not None
            and record.rows.quarantined > 0
            and paths.quarantine not in set(record.outputs.values())
        ):
            put = unwrap_io(
                lake.put_file(paths.quarantine, quarantine, branch=branch, content_type=PARQUET)
            )
            if isinstance(put, Failure):
                problems.append(put.failure().message)
            else:
                record = replace(record, outputs={**record.outputs, "quarantine": paths.quarantine})
        record = replace(record, outputs={**record.outputs, "record": paths.record})
        payload = (encode_json(record.to_json()) + "\n").encode()
        put_record = unwrap_io(
            lake.put_bytes(paths.record, payload, branch=branch, content_type=JSON)
        )
        if isinstance(put_record, Failure):
            problems.append(put_record.failure().message)
        committed = unwrap_io(
            lake.commit(
                branch,
                f"lakeflow: {self.pipeline.name} run {journal.run_id} failed at "
                f"{record.failed_step}",
                commit_metadata(journal.facts(self.pipeline.config_sha256), record.rows, "failed"),
                allow_empty=True,
            )
        )
        match committed:
            case Success(info):
                record = replace(record, commit=info.id)
            case Failure(error):
                problems.append(error.message)
        if problems:
            note = "could not keep the failure on the run branch: " + "; ".join(problems)
            record = replace(record, note=journal.scrub(f"{record.note} {note}".strip()))
        return record


def _lost_merge_race(outcome: Outcome) -> bool:
    if isinstance(outcome, Success):
        return False
    failed: FailureRecord = outcome.failure()
    return failed.failed_step == "merge" and failed.error.code == "conflict"


def _scratch_of(lake: Lake) -> Path | None:
    """The lake's own scratch folder, when it has one (same filesystem: moves, not copies)."""
    scratch = getattr(lake, "scratch_dir", None)
    return scratch if isinstance(scratch, Path) and scratch.is_dir() else None


def run(
    pipeline: Pipeline,
    lake: LakeLike,
    target: str = "main",
    *,
    merge: bool = True,
    on_event: Callable[[RunEvent], None] | None = None,
    scratch_dir: Path | None = None,
    monitoring: Monitoring | None = None,
) -> Outcome:
    """Effect: run ``pipeline`` as one write-audit-publish transaction on ``lake``.

    Returns ``Success(RunRecord)`` when the outputs were committed (and merged into ``target``
    unless ``merge=False``), or ``Failure(FailureRecord)`` naming the failed step: the target
    is then untouched (or, for ``published_not_loaded``, published but not loaded into a
    database sink). Every run is recorded in the run history (:func:`lakeflow.runs`).
    Programming errors raise.

    Args:
        pipeline: What to run.
        lake: Where to publish (a :class:`~lakeflow.adapters.local.LocalLake`, ...).
        target: The branch to publish to.
        merge: ``False`` commits on the run branch and keeps it, without merging.
        on_event: Called with a :class:`RunEvent` as each step starts, ends or retries.
        scratch_dir: Where the run's temporary parquet files go (default: the lake's own
            scratch folder when it has one, so they move into the lake without a copy).
        monitoring: Service levels, alert channels and metrics targets
            (:class:`~lakeflow.run.monitor.Monitoring`); breaches and deliveries are recorded
            in the returned record and never change what was published.

    Raises:
        LakeflowError: ``target`` is not a branch a run may publish to (empty, not a branch
            id, or one of lakeflow's own branches).
    """
    lake = port_of(lake)
    monitoring = monitoring or Monitoring(secrets=tuple(pipeline.secrets))
    problem = target_problem(target)
    if problem is not None:
        raise LakeflowError(f"cannot publish to {target!r}: {problem}")
    source = pipeline.resolved_source()
    scratch_root = scratch_dir or _scratch_of(lake)
    conflicts_left = pipeline.retry.retry_on_conflict
    earlier: dict[str, int] = {}
    while True:
        started = now()
        journal = Journal(
            pipeline.name,
            _new_run_id(started),
            started,
            policy=pipeline.retry,
            secrets=pipeline.secrets,
            on_event=on_event,
        )
        for step, count in earlier.items():
            journal.count(step, count)
        outcome = _with_scratch(
            pipeline=pipeline,
            lake=lake,
            journal=journal,
            source=source,
            scratch_root=scratch_root,
            merge=merge,
            target=target,
        )
        if conflicts_left > 0 and _lost_merge_race(outcome):
            conflicts_left -= 1
            earlier = dict(journal.attempts)
            journal.emit("merge", "retry", "conflict: re-planning from the target's new head")
            branch = outcome.failure().run_branch
            if branch is not None:
                unwrap_io(lake.delete_branch(branch))
            continue
        break
    record: RunRecord | FailureRecord = outcome.value_or(None) or outcome.failure()
    # Monitoring (lakeflow.run.monitor): SLA breaches go into the record the history keeps.
    record = check_sla(monitoring, lake, record, now=now())
    problem = record_in_history(lake, record)
    if problem is not None:
        note = f"{record.note} not recorded in the run history: {problem}".strip()
        record = replace(record, note=journal.scrub(note))
    # Monitoring: alerts and metrics, bounded in time; their failures only go into the record.
    record = deliver(monitoring, lake, record)
    return Success(record) if isinstance(record, RunRecord) else Failure(record)


def _with_scratch(
    *,
    pipeline: Pipeline,
    lake: Lake,
    journal: Journal,
    source: Source,
    scratch_root: Path | None,
    merge: bool,
    target: str,
) -> Outcome:
    """One attempt inside a scratch folder that is removed afterwards."""
    try:
        scratch = Path(tempfile.mkdtemp(prefix=f"lakeflow-{pipeline.name}-", dir=scratch_root))
    except OSError as exc:
        where = scratch_root or Path(tempfile.gettempdir())
        error = LakeError(
            "scratch", f"cannot create a scratch folder in {where}: {exc.strerror}", "read_only"
        )
        failure = StepFailure("resolve", error, Progress(target=target))
        journal.emit("resolve", "failed", error.message)
        facts = journal.facts(pipeline.config_sha256)
        return Failure(failure_record(failure, facts, journal.scrub(error.message)))
    try:
        return _Transaction(pipeline, lake, journal, source, scratch, merge=merge).attempt(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
