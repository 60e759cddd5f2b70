"""Operations that are not runs but publish like one: a commit of their own, merged, recorded.

Effect. ``lakeflow reset`` (a new checkpoint) and ``lakeflow optimize`` (a compacted, vacuumed
table) change the target the way a run does: on a visible run branch created at the target's
head, committed once, merged (never fast-forward) and recorded in the run history, so they
conflict with a concurrent run instead of racing it, show in ``lakeflow runs`` and are undone
by the lake's revert of their merge commit. On failure the branch is deleted and the target is
untouched.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial

from returns.result import Failure, Result, Success

from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.core.errors import LakeError, StageError
from lakeflow.core.records import FailureRecord, RunRecord, Step, encode_json
from lakeflow.ports import Lake
from lakeflow.run.history import record_in_history
from lakeflow.run.journal import Journal, now
from lakeflow.run.layout import records_prefix, run_branch_name
from lakeflow.run.pipeline import Pipeline
from lakeflow.run.plan import Progress, StepFailure, commit_metadata, failure_record, run_record

__all__ = ["Operation", "new_run_id"]

Change = Callable[[Progress], Result[Progress, StepFailure]]
"""Stages the operation's objects on ``progress.branch``; returns what it did."""


def new_run_id() -> str:
    """Effect (clock, randomness). A run id like a run's: ``<UTC time>Z-<8 hex>``."""
    started = now()
    return f"{started:%Y%m%dT%H%M%S}{started.microsecond // 1000:03d}Z-{uuid.uuid4().hex[:8]}"


class Operation:
    """Effect. One operation of ``kind`` on ``pipeline``'s target (see the module docstring)."""

    def __init__(self, pipeline: Pipeline, lake: Lake, target: str, kind: str) -> None:
        self.pipeline = pipeline
        self.lake = lake
        self.target = target
        self.kind = kind
        self.journal = Journal(
            pipeline.name, new_run_id(), now(), policy=pipeline.retry, secrets=pipeline.secrets
        )

    def fail(self, step: Step, error: StageError, progress: Progress) -> Failure[StepFailure]:
        """Pure. The operation's failure at ``step``."""
        return Failure(StepFailure(step, error, progress))

    def base(self) -> Result[Progress, StepFailure]:
        """Effect. The target's head: the operation's base commit."""
        start = Progress(target=self.target, source={"kind": self.kind})
        resolved = self.journal.call("resolve", partial(self.lake.resolve, self.target))
        return resolved.map(lambda base: replace(start, base=base)).alt(
            lambda error: StepFailure("resolve", error, start)
        )

    def publish(
        self, progress: Progress, change: Change, message: str
    ) -> Result[RunRecord, FailureRecord]:
        """Effect. Stage ``change`` on a run branch at the base, commit, merge, record."""
        outcome = self._branch(progress).bind(change).bind(partial(self._commit, message))
        outcome = outcome.bind(self._merge)
        facts = self.journal.facts(self.pipeline.config_sha256)
        record: RunRecord | FailureRecord
        if isinstance(outcome, Success):
            record = run_record(outcome.unwrap(), facts, "published")
        else:
            failure: StepFailure = outcome.failure()
            branch = failure.progress.branch
            if branch is not None:
                unwrap_io(self.lake.delete_branch(branch))
                failure = replace(failure, progress=replace(failure.progress, branch=None))
            record = failure_record(failure, facts, self.journal.scrub(failure.error.message))
        problem = record_in_history(self.lake, record)
        if problem is not None:
            record = replace(record, note=f"{record.note} not recorded: {problem}".strip())
        return Success(record) if isinstance(record, RunRecord) else Failure(record)

    def _branch(self, progress: Progress) -> Result[Progress, StepFailure]:
        branch = run_branch_name(self.pipeline.name, self.journal.run_id)
        assert progress.base is not None  # noqa: S101 - set by base()
        made = self.journal.call("resolve", partial(self.lake.create_branch, branch, progress.base))
        return made.map(lambda _: replace(progress, branch=branch)).alt(
            lambda error: StepFailure("resolve", error, progress)
        )

    def _commit(self, message: str, progress: Progress) -> Result[Progress, StepFailure]:
        branch = progress.branch
        assert branch is not None  # noqa: S101 - set by _branch
        path = f"{records_prefix(self.pipeline.name)}{self.journal.run_id}.json"
        progress = replace(progress, outputs={**progress.outputs, "record": path})
        facts = self.journal.facts(self.pipeline.config_sha256)
        document = run_record(progress, facts, "committed").to_json()
        payload = (encode_json(document) + "\n").encode()
        put = self.journal.call(
            "write",
            partial(
                self.lake.put_bytes, path, payload, branch=branch, content_type="application/json"
            ),
        )
        if isinstance(put, Failure):
            return self.fail("write", put.failure(), progress)
        metadata = commit_metadata(facts, progress.rows, "committed")
        committed = self.journal.call(
            "commit", partial(self.lake.commit, branch, message, {**metadata, **self._meta()})
        )
        return committed.map(lambda info: replace(progress, commit=info.id)).alt(
            lambda error: StepFailure("commit", error, progress)
        )

    def _merge(self, progress: Progress) -> Result[Progress, StepFailure]:
        branch = progress.branch
        assert branch is not None  # noqa: S101 - set by _branch
        facts = self.journal.facts(self.pipeline.config_sha256)
        metadata = {**commit_metadata(facts, progress.rows, "published"), **self._meta()}
        merged = self.journal.call(
            "merge",
            partial(
                self.lake.merge,
                branch,
                self.target,
                message=f"lakeflow: {self.kind} {self.pipeline.name} ({self.journal.run_id})",
                metadata=metadata,
            ),
        )
        if isinstance(merged, Failure):
            error: LakeError = merged.failure()
            return self.fail("merge", error, progress)
        unwrap_io(self.lake.delete_branch(branch))
        return Success(replace(progress, merge_commit=merged.unwrap(), branch=None))

    def _meta(self) -> Mapping[str, str]:
        return {"lakeflow.operation": self.kind}
