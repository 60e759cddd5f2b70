"""Writes that move refs on lakeFS: branches, commits, merges and reverts, made safe to retry.

Effect. A write whose request was sent but got no answer (a timeout, a reset connection) may
still have been applied by lakeFS. Retrying it blindly would fail or duplicate: a retried
commit finds "no changes" (its first attempt took them), a retried merge finds nothing to merge
or merges twice, a retried branch creation finds the branch. So each of these writes:

1. on an unknown outcome, checks at once whether it landed — a commit is the branch head whose
   parent is the head seen before and whose message and metadata are ours; a merge is a commit
   on the destination whose second parent is the source's commit; a branch exists at the
   source's commit — and reports success if so;
2. otherwise reports a retryable ``unavailable`` error and remembers the write
   (:meth:`Session.remember_unsure`): when the same write is tried again, it checks again
   first, and once more if lakeFS then says there is nothing to do.

The checks cost requests only on those paths; a write that got its answer costs one request
(a commit: two, it reads the branch head first).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from lakefs_sdk.models.branch_creation import BranchCreation
from lakefs_sdk.models.commit_creation import CommitCreation
from lakefs_sdk.models.merge import Merge
from lakefs_sdk.models.revert_creation import RevertCreation
from returns.io import IOFailure, IOResult, IOSuccess

from lakeflow.adapters.lakefs.errors import BOUNDARY_ERRORS, answer_of
from lakeflow.adapters.lakefs.session import Session, commit_info, failure_of
from lakeflow.core.errors import LakeError
from lakeflow.ports import CommitInfo, MergeStrategy

__all__ = ["History"]

T = TypeVar("T")
_LOOK_BACK = 20  # commits of a destination searched for a merge whose outcome was unknown
_SHOWN_PATHS = 10


def _unknown(error: LakeError) -> LakeError:
    return LakeError(
        error.op,
        f"{error.reason}; the request was sent, so lakeFS may have applied it: a retry "
        "checks first",
        error.code,
        retryable=True,
    )


class History:
    """Effect. Ref-moving writes of one lake (see the module docstring)."""

    def __init__(self, session: Session) -> None:
        self._s = session
        self._sdk = session.sdk
        self._repo = session.repository

    def _quiet(self, read: Callable[[], T]) -> T | None:
        """Effect. ``read()``, or ``None`` when it fails (used only to check an outcome)."""
        try:
            return read()
        except BOUNDARY_ERRORS:
            return None

    # -- branches -------------------------------------------------------------------------------
    def _branch_at(self, name: str, source: str) -> str | None:
        head = self._quiet(lambda: self._s.head(name))
        origin = self._quiet(lambda: self._s.commit_at(source).id)
        return head if head is not None and head == origin else None

    def create_branch(self, name: str, source: str, *, exist_ok: bool) -> IOResult[str, LakeError]:
        """Effect. Create ``name`` at ``source``; its commit id (see the port)."""
        op = "create_branch"
        key = (op, name, source)
        if exist_ok:  # usually it exists (the run history's branch): one read, no write
            existing = self._s.call(op, lambda: self._s.head(name))
            problem = failure_of(existing)
            if problem is None or problem.code != "not_found":
                return existing
        creation = BranchCreation.from_dict({"name": name, "source": source})
        try:
            return IOSuccess(str(self._sdk.branches_api.create_branch(self._repo, creation)))
        except BOUNDARY_ERRORS as exc:
            error = self._s.error(op, exc)
            answer = answer_of(exc)
        if answer is None:
            landed = self._branch_at(name, source)
            if landed is not None:
                return IOSuccess(landed)
            self._s.remember_unsure(key)
            return IOFailure(_unknown(error))
        if answer.status == 409:
            unsure = self._s.take_unsure(key) is not None
            if exist_ok:
                return self._s.call(op, lambda: self._s.head(name))
            landed = self._branch_at(name, source) if unsure else None
            if landed is not None:
                return IOSuccess(landed)
            reason = f"branch {name!r} already exists ({error.reason})"
            return IOFailure(LakeError(op, reason, "conflict"))
        return IOFailure(error)

    def delete_branch(self, name: str) -> IOResult[None, LakeError]:
        """Effect. Delete a branch; a retry after an unknown outcome accepts it gone."""
        op = "delete_branch"
        key = (op, name)

        def delete() -> None:
            self._sdk.branches_api.delete_branch(self._repo, name)

        deleted = self._s.call(op, delete, branch=name, deleting=True)
        if not isinstance(deleted, IOFailure):
            self._s.take_unsure(key)
            return deleted
        error = failure_of(deleted)
        if error is None:  # pragma: no cover - a failure was just checked
            return deleted
        if error.code == "not_found" and self._s.take_unsure(key) is not None:
            return IOSuccess(None)
        if error.code == "unavailable" and error.retryable:
            self._s.remember_unsure(key)
        return deleted

    # -- commits --------------------------------------------------------------------------------
    def _landed_commit(
        self, branch: str, parent: str, message: str, metadata: Mapping[str, str]
    ) -> CommitInfo | None:
        head = self._quiet(lambda: self._s.commit_at(branch))
        if (
            head is None
            or head.parents[:1] != (parent,)
            or head.message != message
            or any(head.metadata.get(k) != v for k, v in metadata.items())
        ):
            return None
        return head

    def commit(
        self, branch: str, message: str, metadata: Mapping[str, str], *, allow_empty: bool
    ) -> IOResult[CommitInfo, LakeError]:
        """Effect. Commit ``branch`` (inputs already checked); see the port and the module."""
        op = "commit"
        key = (op, branch, message, json.dumps(dict(metadata), sort_keys=True), str(allow_empty))
        try:
            head = self._s.head(branch)
        except BOUNDARY_ERRORS as exc:
            return IOFailure(self._s.error(op, exc))
        earlier = self._s.take_unsure(key)
        if earlier is not None:
            landed = self._landed_commit(branch, earlier, message, metadata)
            if landed is not None:
                return IOSuccess(landed)
        creation = CommitCreation.from_dict(
            {"message": message, "metadata": dict(metadata), "allow_empty": allow_empty}
        )
        try:
            made = self._sdk.commits_api.commit(self._repo, branch, creation)
            return IOSuccess(commit_info(made))
        except BOUNDARY_ERRORS as exc:
            error = self._s.error(op, exc)
            answer = answer_of(exc)
        if answer is None:
            landed = self._landed_commit(branch, head, message, metadata)
            if landed is not None:
                return IOSuccess(landed)
            self._s.remember_unsure(key, head)
            return IOFailure(_unknown(error))
        if answer.status == 400 and earlier is not None:
            landed = self._landed_commit(branch, earlier, message, metadata)
            if landed is not None:
                return IOSuccess(landed)
        if answer.status == 403:
            return IOFailure(self._s.forbidden(op, branch, error, deleting=False))
        return IOFailure(error)

    # -- merges ---------------------------------------------------------------------------------
    def _landed_merge(self, source: str, dest: str, message: str) -> str | None:
        origin = self._quiet(lambda: self._s.commit_at(source).id)
        if origin is None:
            return None
        recent = self._quiet(lambda: self.log(dest, _LOOK_BACK))
        for info in recent or ():
            if info.parents[1:2] == (origin,) and (not message or info.message == message):
                return info.id
        return None

    def _conflicting(self, source: str, dest: str) -> str:
        """Effect. The paths both sides changed since their merge base, for the message."""
        theirs = self._quiet(lambda: self._s.diff(dest, source))
        ours = self._quiet(lambda: self._s.diff(source, dest))
        if theirs is None or ours is None:
            return ""
        both = sorted({c.path for c in theirs} & {c.path for c in ours})
        if not both:
            return ""
        more = f" and {len(both) - _SHOWN_PATHS} more" if len(both) > _SHOWN_PATHS else ""
        return f": {', '.join(both[:_SHOWN_PATHS])}{more} changed on both sides"

    def merge(
        self,
        source: str,
        dest: str,
        message: str,
        metadata: Mapping[str, str],
        strategy: MergeStrategy,
    ) -> IOResult[str, LakeError]:
        """Effect. Merge ``source`` into ``dest`` (inputs already checked); see the port."""
        op = "merge"
        key = (op, source, dest, message, json.dumps(dict(metadata), sort_keys=True), str(strategy))
        earlier = self._s.take_unsure(key) is not None
        if earlier:
            landed = self._landed_merge(source, dest, message)
            if landed is not None:
                return IOSuccess(landed)
        body = Merge.from_dict(
            {"message": message or None, "metadata": dict(metadata), "strategy": strategy}
        )
        try:
            merged = self._sdk.refs_api.merge_into_branch(self._repo, source, dest, merge=body)
            return IOSuccess(str(merged.reference))
        except BOUNDARY_ERRORS as exc:
            error = self._s.error(op, exc)
            answer = answer_of(exc)
        if answer is None:
            landed = self._landed_merge(source, dest, message)
            if landed is not None:
                return IOSuccess(landed)
            self._s.remember_unsure(key)
            return IOFailure(_unknown(error))
        if answer.status == 400 and earlier:
            landed = self._landed_merge(source, dest, message)
            if landed is not None:
                return IOSuccess(landed)
        if answer.status == 409 and not error.retryable:
            reason = f"merging {source!r} into {dest!r} conflicts{self._conflicting(source, dest)}"
            return IOFailure(LakeError(op, reason, "conflict"))
        if answer.status == 403:
            return IOFailure(self._s.forbidden(op, dest, error, deleting=False))
        return IOFailure(error)

    def revert(
        self,
        branch: str,
        commit: str,
        parent_number: int,
        message: str,
        metadata: Mapping[str, str],
    ) -> IOResult[CommitInfo, LakeError]:
        """Effect. Revert ``commit`` on ``branch`` (inputs already checked); the new head."""
        overrides = {"message": message or None, "metadata": dict(metadata)}
        creation = RevertCreation.from_dict(
            {
                "ref": commit,
                "parent_number": parent_number,
                "commit_overrides": overrides,
                "allow_empty": False,
            }
        )

        def revert() -> CommitInfo:
            self._sdk.branches_api.revert_branch(self._repo, branch, creation)
            return self._s.commit_at(branch)

        return self._s.call("revert", revert, branch=branch)

    # -- log --------------------------------------------------------------------------------------
    def log(self, ref: str, limit: int | None) -> tuple[CommitInfo, ...]:
        """Effect. Commits reachable from ``ref``, newest first (raises the SDK's exceptions)."""
        if limit == 0:
            return ()
        amount = min(limit, self._s.page_size) if limit else self._s.page_size
        listed: Any = self._s.pages(
            self._sdk.refs_api.log_commits, self._repo, ref, amount=amount, max_amount=limit
        )
        return tuple(commit_info(c) for c in listed)
