"""Repository set-up: the repository, the standard branches and the layout, atomically.

Effect. :func:`init_lake` is idempotent, safe to run concurrently and safe to interrupt: the
layout is written and committed on a branch of its own (``lakeflow-init-<id>``) and reaches the
default branch by one merge, so a ``kill -9`` at any instant leaves the default branch either
without the layout or with it — never with a staged change that blocks every later run. A lake
left with such a change by an older lakeflow is resumed: the staged layout is committed.

On request it also drops uncommitted changes someone staged on the default and standard
branches (a staged change on a target refuses every run's merge), saying what it dropped, and
protects the default branch on a lake that can (lakeFS branch protection: only merges reach
it, which is how runs publish).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Protocol, runtime_checkable

from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from lakeflow.core.errors import LakeError
from lakeflow.lakes import LakeLike, port_of
from lakeflow.ports import Change, Lake, unwrap_io
from lakeflow.run.layout import (
    HISTORY_BRANCH,
    INIT_BRANCH_PREFIX,
    LAYOUT_README,
    LAYOUT_README_PATH,
    STANDARD_BRANCHES,
)
from lakeflow.run.pipeline import RetryPolicy
from lakeflow.run.retry import retrying

__all__ = ["BranchProtection", "InitReport", "init_lake"]

_LAYOUT = LAYOUT_README.encode()
_MESSAGE = "lakeflow: lay out the repository"
_METADATA = {"lakeflow.init": "1"}
_RACES = RetryPolicy(
    max_retries=10, timeout_seconds=60.0, initial_backoff_s=0.01, max_backoff_s=0.5
)


@runtime_checkable
class BranchProtection(Protocol):
    """A lake that can protect a branch so that only merges reach it (beyond the Lake port)."""

    def protect_branch(self, name: str) -> IOResult[None, LakeError]:
        """Protect ``name`` (idempotent)."""
        ...


@dataclass(frozen=True, slots=True)
class InitReport:
    """What :func:`init_lake` found and did: ``created``, ``exists`` or ``resumed`` each.

    ``discarded`` maps a branch to the uncommitted changes dropped from it
    (``discard_uncommitted=True``); ``protected`` names the branch protected
    (``protect_default=True``).
    """

    repository: str
    default_branch: str
    created_repository: bool
    branches: dict[str, str] = field(default_factory=dict)
    layout: str = "exists"
    discarded: dict[str, tuple[Change, ...]] = field(default_factory=dict)
    protected: str | None = None


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


def _discard(
    lake: Lake, branches: tuple[str, ...]
) -> Result[dict[str, tuple[Change, ...]], LakeError]:
    """Effect. Drop every uncommitted change on ``branches``; what was dropped, per branch."""
    dropped: dict[str, tuple[Change, ...]] = {}
    for branch in branches:
        pending = unwrap_io(lake.uncommitted(branch))
        if isinstance(pending, Failure):
            return Failure(pending.failure())
        changes = pending.unwrap()
        if not changes:
            continue
        discarded = unwrap_io(lake.discard_changes(branch))
        if isinstance(discarded, Failure):
            return Failure(discarded.failure())
        dropped[branch] = changes
    return Success(dropped)


def _clean_default(lake: Lake, default: str) -> Result[None, LakeError]:
    """Effect. Refuse to lay out a default branch holding someone's uncommitted changes.

    The layout reaches the default branch by a merge, which such changes refuse: say so (and
    how to drop them) rather than retry a merge that cannot succeed.
    """
    if _layout_at(lake, default):
        return Success(None)
    pending = unwrap_io(lake.uncommitted(default))
    if isinstance(pending, Failure):
        return Failure(pending.failure())
    changes = pending.unwrap()
    if not changes:
        return Success(None)
    shown = ", ".join(c.path for c in changes[:5]) + (" ..." if len(changes) > 5 else "")
    reason = (
        f"branch {default!r} has {len(changes)} uncommitted change(s) ({shown}) that refuse "
        "the merge of the layout. Commit them, or drop them with "
        "`lakeflow init CONFIG --discard-uncommitted`"
    )
    return Failure(LakeError("init", reason, "precondition"))


def _protect(lake: Lake, default: str) -> Result[str, LakeError]:
    if not isinstance(lake, BranchProtection):
        reason = f"{lake.url} cannot protect branches (lakeFS can: lake.protect_target)"
        return Failure(LakeError("protect_branch", reason, "invalid"))
    return unwrap_io(lake.protect_branch(default)).map(lambda _: default)


def init_lake(
    lake: LakeLike,
    *,
    default_branch: str = "main",
    discard_uncommitted: bool = False,
    protect_default: bool = False,
) -> Result[InitReport, LakeError]:
    """Effect. Create the repository, the standard branches, the history branch and the layout.

    Idempotent and safe to run concurrently or to interrupt (see the module docs). An
    existing repository keeps its own default branch.

    Args:
        lake: The lake (its repository need not exist).
        default_branch: The default branch of a repository this creates.
        discard_uncommitted: First drop the uncommitted changes on the default and standard
            branches (listed in the report's ``discarded``).
        protect_default: Protect the default branch so only merges reach it (lakeFS; a lake
            that cannot protect branches fails with ``invalid``).
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
    if discard_uncommitted:
        dropped = _discard(lake, (default, *STANDARD_BRANCHES))
        if isinstance(dropped, Failure):
            return Failure(dropped.failure())
        report = replace(report, discarded=dropped.unwrap())
    resumed = _resume(lake, default)
    if isinstance(resumed, Failure):
        return Failure(resumed.failure())
    if resumed.unwrap():
        report = replace(report, layout="resumed")
    else:
        clean = _clean_default(lake, default)
        if isinstance(clean, Failure):
            return Failure(clean.failure())
        laid_out, _ = retrying(_RACES, partial(_lay_out, lake, default))
        if isinstance(laid_out, Failure):
            return Failure(laid_out.failure())
        report = replace(report, layout=laid_out.unwrap())
    if not protect_default:
        return Success(report)
    return _protect(lake, default).map(lambda name: replace(report, protected=name))
