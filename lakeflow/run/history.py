"""The run history: every run's record on the ``lakeflow-history`` branch.

Effect. Every run, published or failed, adds its record to the history branch, so
``lakeflow runs`` lists them without scanning run branches. Reading the history never raises
for a bad record: a record that cannot be read (damaged, or written by a newer lakeflow)
becomes an :class:`UnreadableRecord` value naming it, and the rest are still listed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from lakeflow.core.errors import LakeError, LakeflowError
from lakeflow.core.records import FailureRecord, RunRecord, encode_json, record_from_json
from lakeflow.lakes import LakeLike, port_of
from lakeflow.ports import Lake, unwrap_io
from lakeflow.run.layout import HISTORY_BRANCH, is_internal_branch, records_prefix
from lakeflow.run.pipeline import RetryPolicy
from lakeflow.run.retry import retrying

__all__ = [
    "History",
    "UnreadableRecord",
    "read_history",
    "record_in_history",
    "runs",
    "show_run",
]

JSON = "application/json"
_HISTORY_RETRY = RetryPolicy(
    max_retries=20, timeout_seconds=60.0, initial_backoff_s=0.005, max_backoff_s=0.2
)
"""History commits of concurrent runs race on one branch head: lost races are retried."""
_REPAIR_LOG_DEPTH = 1000


@dataclass(frozen=True, slots=True)
class UnreadableRecord:
    """A record in the history that could not be read, and why."""

    path: str
    reason: str

    @property
    def run_id(self) -> str:
        return self.path.rsplit("/", 1)[-1].removesuffix(".json")

    @property
    def pipeline(self) -> str:
        parts = self.path.split("/")
        return parts[-2] if len(parts) >= 2 else ""


@dataclass(frozen=True, slots=True)
class History:
    """The readable records, newest first, and the records that could not be read."""

    records: tuple[RunRecord | FailureRecord, ...]
    unreadable: tuple[UnreadableRecord, ...] = ()


def _default_branch(lake: Lake) -> str:
    info = unwrap_io(lake.get_repository())
    return info.map(lambda r: r.default_branch).value_or("main")


def _put_and_commit(
    lake: Lake, path: str, payload: bytes, message: str, metadata: dict[str, str]
) -> IOResult[None, LakeError]:
    """Effect. Stage ``payload`` at ``path`` on the history branch and commit it."""
    put = unwrap_io(lake.put_bytes(path, payload, branch=HISTORY_BRANCH, content_type=JSON))
    if isinstance(put, Failure):
        return IOFailure(put.failure())
    committed = unwrap_io(lake.commit(HISTORY_BRANCH, message, metadata))
    if isinstance(committed, Success):
        return IOSuccess(None)
    error: LakeError = committed.failure()
    if error.retryable:
        return IOFailure(error)
    # Nothing to commit: another run's history commit took our staged record along (lakeFS
    # staging is per branch). That is fine when the record is committed as we wrote it.
    recorded = unwrap_io(lake.get_bytes(path, ref=HISTORY_BRANCH))
    pending = unwrap_io(lake.uncommitted(HISTORY_BRANCH))
    if (
        isinstance(recorded, Success)
        and recorded.unwrap() == payload
        and isinstance(pending, Success)
        and all(c.path != path for c in pending.unwrap())
    ):
        return IOSuccess(None)
    return IOFailure(error)


def record_in_history(lake: Lake, record: RunRecord | FailureRecord) -> str | None:
    """Effect. Commit ``record`` to the history branch; a problem text, or None when recorded."""
    created = unwrap_io(lake.create_branch(HISTORY_BRANCH, _default_branch(lake), exist_ok=True))
    if isinstance(created, Failure):
        return str(created.failure().message)
    path = f"{records_prefix(record.pipeline)}{record.run_id}.json"
    payload = (encode_json(record.to_json()) + "\n").encode()
    message = f"lakeflow: record {record.pipeline} run {record.run_id} ({record.status})"
    metadata = {"lakeflow.run_id": record.run_id, "lakeflow.pipeline": record.pipeline}
    operation: Callable[[], IOResult[None, LakeError]] = partial(
        _put_and_commit, lake, path, payload, message, metadata
    )
    result, _ = retrying(_HISTORY_RETRY, operation)
    return None if isinstance(result, Success) else result.failure().message


def _read_record(lake: Lake, path: str) -> RunRecord | FailureRecord | UnreadableRecord:
    data = unwrap_io(lake.get_bytes(path, ref=HISTORY_BRANCH))
    if isinstance(data, Failure):
        return UnreadableRecord(path, data.failure().message)
    try:
        return record_from_json(json.loads(data.unwrap()))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return UnreadableRecord(path, f"{type(exc).__name__}: {exc}")


def _merge_commit_of(lake: Lake, branch: str, run_id: str) -> str | None:
    """Effect. The merge commit that published ``run_id`` on ``branch`` (recent history)."""
    log = unwrap_io(lake.log_commits(branch, limit=_REPAIR_LOG_DEPTH))
    for commit in log.value_or(()):
        meta = commit.metadata
        if meta.get("lakeflow.run_id") == run_id and meta.get("lakeflow.status") == "published":
            return commit.id
    return None


def _published_but_unrecorded(
    lake: Lake, pipeline: str | None, known: set[str]
) -> list[RunRecord | FailureRecord]:
    """Effect. Runs whose records reached a target by merge but never reached the history.

    A crash between a run's merge and its history commit leaves the run published without a
    history entry; its record (written before the merge, status ``committed``) is on the
    target. It is recovered as ``published``, with the merge commit found in the target's log.
    """
    branches = unwrap_io(lake.list_branches())
    found: dict[str, RunRecord | FailureRecord] = {}
    for branch in branches.value_or(()):
        if is_internal_branch(branch.name):
            continue
        listed = unwrap_io(lake.list_objects(records_prefix(pipeline), ref=branch.name))
        for info in listed.value_or(()):
            run_id = info.path.rsplit("/", 1)[-1].removesuffix(".json")
            if run_id in known or run_id in found or not info.path.endswith(".json"):
                continue
            data = unwrap_io(lake.get_bytes(info.path, ref=branch.name))
            try:
                record = record_from_json(json.loads(data.unwrap()))
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # not a record lakeflow can read: left for `lakeflow fsck`
            if isinstance(record, RunRecord) and record.status == "committed":
                record = replace(
                    record,
                    status="published",
                    run_branch=None,
                    merge_commit=_merge_commit_of(lake, branch.name, run_id),
                    note=f"{record.note} recovered from {branch.name!r}: the run was published "
                    "but its history entry was lost (interrupted after the merge)".strip(),
                )
            found[run_id] = record
    return list(found.values())


def read_history(lake: LakeLike, pipeline: str | None = None) -> Result[History, LakeError]:
    """Effect. Every recorded run (of ``pipeline``, or of all), newest first.

    Reads the history branch, and the records published on target branches so that a run
    whose history entry was lost to a crash (between its merge and its history commit) is
    found and written back to the history (when the lake can be written). A lake without a
    history yet has an empty one. Fails only when the lake itself cannot be read.
    """
    lake = port_of(lake)
    listed = unwrap_io(lake.list_objects(records_prefix(pipeline), ref=HISTORY_BRANCH))
    if isinstance(listed, Failure):
        error: LakeError = listed.failure()
        if error.code == "not_found":
            repository = unwrap_io(lake.get_repository())
            if isinstance(repository, Failure):
                return Failure(repository.failure())
            return Success(History(()))
        return Failure(error)
    records: list[RunRecord | FailureRecord] = []
    unreadable: list[UnreadableRecord] = []
    for info in listed.unwrap():
        if not info.path.endswith(".json"):
            continue
        read = _read_record(lake, info.path)
        if isinstance(read, UnreadableRecord):
            unreadable.append(read)
        else:
            records.append(read)
    known = {r.run_id for r in records} | {u.run_id for u in unreadable}
    for recovered in _published_but_unrecorded(lake, pipeline, known):
        record_in_history(lake, recovered)
        records.append(recovered)
    records.sort(key=lambda r: (r.started_at, r.run_id), reverse=True)
    return Success(History(tuple(records), tuple(unreadable)))


def runs(lake: LakeLike, pipeline: str | None = None) -> list[RunRecord | FailureRecord]:
    """Effect: every readable recorded run (published or failed), newest first.

    For notebooks: raises :class:`LakeflowError` when the lake cannot be read. Records that
    cannot be read are left out (:func:`read_history` lists them).
    """
    history = read_history(lake, pipeline)
    if isinstance(history, Failure):
        raise LakeflowError(f"cannot read the run history: {history.failure().message}")
    return list(history.unwrap().records)


def show_run(lake: LakeLike, run_id: str, pipeline: str | None = None) -> RunRecord | FailureRecord:
    """Effect: the record of one run; raises :class:`LakeflowError` if there is none."""
    history = read_history(lake, pipeline)
    if isinstance(history, Failure):
        raise LakeflowError(f"cannot read the run history: {history.failure().message}")
    for record in history.unwrap().records:
        if record.run_id == run_id:
            return record
    for bad in history.unwrap().unreadable:
        if bad.run_id == run_id:
            raise LakeflowError(f"the record of run {run_id} cannot be read: {bad.reason}")
    raise LakeflowError(
        f"no run {run_id!r} in the run history"
        + (f" of pipeline {pipeline!r}" if pipeline else "")
        + "; `lakeflow runs CONFIG` lists them"
    )
