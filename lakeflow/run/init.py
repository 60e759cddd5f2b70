"""Repository set-up: the repository, the standard branches and the layout, atomically.

Effect. :func:`init_lake` is idempotent, safe to run concurrently and safe to interrupt: the
layout is written and committed on a branch of its own (``lakeflow-init-<id>``) and reaches the
default branch by one merge, so a ``kill -9`` at any instant leaves the default branch either
without the layout or with it — never with a staged change that blocks every later run. A lake
left with such a change by an older lakeflow is resumed: the staged layout is committed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from functools import partial

from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from lakeflow.core.errors import LakeError
from lakeflow.lakes import LakeLike, port_of
from lakeflow.ports import Lake, unwrap_io
from lakeflow.run.layout import (
    HISTORY_BRANCH,
    INIT_BRANCH_PREFIX,
    LAYOUT_README,
    LAYOUT_README_PATH,
    STANDARD_BRANCHES,
)
from lakeflow.run.pipeline import RetryPolicy
from lakeflow.run.retry import retrying

__all__ = ["InitReport", "init_lake"]

_LAYOUT = LAYOUT_README.encode()
_MESSAGE = "lakeflow: lay out the repository"
_METADATA = {"lakeflow.init": "1"}
_RACES = RetryPolicy(
    max_retries=10, timeout_seconds=60.0, initial_backoff_s=0.01, max_backoff_s=0.5
)


@dataclass(frozen=True, slots=True)
class InitReport:
    """What :func:`init_lake` found and did: ``created``, ``exists`` or ``resumed`` each."""

    repository: str
    default_branch: str
    created_repository: bool
    branches: dict[str, str] = field(default_factory=dict)
    layout: str = "exists"


def _layout_at(lake: Lake, ref: str) -> bool:
    """Effect. True when the committed layout at ``ref`` is the current one."""
    found = unwrap_io(lake.get_bytes(LAYOUT_README_PATH, ref=ref))
    return isinstance(found, Success) and found.unwrap() == _LAYOUT


def _resume(lake: Lake, default: str) -> Result[bool, LakeError]:
    """Effect. Commit a layout an interrupted older ``init`` staged on the default branch.

    Only a staged change that is exactly the layout README is committed; any other staged
    change is left alone (runs report it with the command that drops it).
    """
    pending = unwrap_io(lake.uncommitted(default))
    if isinstance(pending, Failure):
        return Failure(pending.failure())
    changes = pending.unwrap()
    if [c.path for c in changes] != [LAYOUT_README_PATH]:
        return Success(False)
    staged = unwrap_io(lake.get_bytes(LAYOUT_README_PATH, ref=default))
    if not (isinstance(staged, Success) and staged.unwrap() == _LAYOUT):
        return Success(False)
    committed = unwrap_io(lake.commit(default, _MESSAGE, _METADATA))
    if isinstance(committed, Failure) and not _layout_at(lake, default):
        return Failure(committed.failure())
    return Success(True)


def _lay_out(lake: Lake, default: str) -> IOResult[str, LakeError]:
    """Effect. Write the layout on an init branch and merge it; ``created`` or ``exists``."""
    if _layout_at(lake, default):
        return IOSuccess("exists")
    branch = f"{INIT_BRANCH_PREFIX}{uuid.uuid4().hex[:12]}"
    made = unwrap_io(lake.create_branch(branch, default))
    if isinstance(made, Failure):
        return IOFailure(made.failure())
    try:
        outcome = (
            unwrap_io(
                lake.put_bytes(
                    LAYOUT_README_PATH, _LAYOUT, branch=branch, content_type="text/markdown"
                )
            )
            .bind(lambda _: unwrap_io(lake.commit(branch, _MESSAGE, _METADATA)))
            .bind(
                lambda _: unwrap_io(
                    lake.merge(branch, default, message=_MESSAGE, metadata=_METADATA)
                )
            )
        )
    finally:
        unwrap_io(lake.delete_branch(branch))
    if isinstance(outcome, Success) or _layout_at(lake, default):
        # Another init may have merged the same layout first: that is success too.
        return IOSuccess("created" if isinstance(outcome, Success) else "exists")
    error: LakeError = outcome.failure()
    if error.code in ("conflict", "invalid"):  # a race with another init: try again
        error = LakeError(error.op, error.reason, error.code, retryable=True)
    return IOFailure(error)


def init_lake(lake: LakeLike, *, default_branch: str = "main") -> Result[InitReport, LakeError]:
    """Effect. Create the repository, the standard branches, the history branch and the layout.

    Idempotent and safe to run concurrently or to interrupt (see the module docs). An
    existing repository keeps its own default branch.
    """
    lake = port_of(lake)
    existed = isinstance(unwrap_io(lake.get_repository()), Success)
    created = unwrap_io(lake.create_repository(default_branch=default_branch, exist_ok=True))
    if isinstance(created, Failure):
        return Failure(created.failure())
    default = created.unwrap().default_branch
    report = InitReport(lake.repository, default, created_repository=not existed)
    for name in (*STANDARD_BRANCHES, HISTORY_BRANCH):
        had = isinstance(unwrap_io(lake.resolve(name)), Success)
        made = unwrap_io(lake.create_branch(name, default, exist_ok=True))
        if isinstance(made, Failure):
            return Failure(made.failure())
        report.branches[name] = "exists" if had else "created"
    resumed = _resume(lake, default)
    if isinstance(resumed, Failure):
        return Failure(resumed.failure())
    if resumed.unwrap():
        return Success(replace(report, layout="resumed"))
    laid_out, _ = retrying(_RACES, partial(_lay_out, lake, default))
    return laid_out.map(lambda state: replace(report, layout=state))
