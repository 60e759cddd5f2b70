"""What every operation of a lakeFS lake shares: the client, the boundary and the diagnoses.

Effect. :class:`Session` holds one lake's explicit ``lakefs.Client`` (through
:class:`~lakeflow.adapters.lakefs.transport.Transport`), its repository id and its secrets, and
provides:

* :meth:`Session.call` — the boundary: run one SDK or transport call and return an
  ``IOResult``; every exception of :data:`~lakeflow.adapters.lakefs.errors.BOUNDARY_ERRORS`
  becomes a :class:`LakeError` (nothing else is caught: it would be a bug);
* the diagnosis of a 403 on a write (one or two more requests, only then): the default branch
  (``invalid``), a read-only repository (``read_only``), a protected branch
  (``precondition``: only merges may change it) or, failing those, missing permissions
  (``auth``);
* listings with lakeFS' pagination, and conversions of lakeFS' shapes to the port's values;
* the memory of writes whose outcome is unknown (a request sent, no answer), so that the retry
  of such a write first checks whether it landed.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from lakefs.reference import generate_listing
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure

from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.adapters.lakefs.errors import BOUNDARY_ERRORS, answer_of, lake_error
from lakeflow.adapters.lakefs.transport import Transport, clean_checksum
from lakeflow.core.errors import LakeError
from lakeflow.core.secrets import Secret, scrub
from lakeflow.ports import BranchInfo, Change, ChangeType, CommitInfo, ObjectInfo, RepositoryInfo

__all__ = [
    "Session",
    "change_of",
    "commit_info",
    "failure_of",
    "object_info",
    "repository_info",
    "valid",
]

T = TypeVar("T")

_CHANGE_TYPES: Final[Mapping[str, ChangeType]] = {
    "added": "added",
    "removed": "removed",
    "changed": "changed",
    "conflict": "changed",
}


def failure_of(result: IOResult[Any, LakeError]) -> LakeError | None:
    """Pure. The error inside a failed ``IOResult``, or ``None`` for a success."""
    outcome = unwrap_io(result)
    return outcome.failure() if isinstance(outcome, Failure) else None


def valid(*problems: LakeError | None) -> IOResult[None, LakeError]:
    """Pure. The first problem found by the input checks, or success when there is none."""
    for problem in problems:
        if problem is not None:
            return IOFailure(problem)
    return IOSuccess(None)


def _fields(model: Any) -> Mapping[str, Any]:
    if isinstance(model, Mapping):
        return model
    fields: Mapping[str, Any] = model.to_dict()
    return fields


def _utc(seconds: Any) -> datetime:
    return datetime.fromtimestamp(int(seconds or 0), UTC)


def object_info(model: Any) -> ObjectInfo:
    """Pure. lakeFS' ``ObjectStats`` (a model or its JSON) as an :class:`ObjectInfo`."""
    fields = _fields(model)
    metadata = fields.get("metadata") or {}
    return ObjectInfo(
        path=str(fields["path"]),
        size=int(fields.get("size_bytes") or 0),
        checksum=clean_checksum(str(fields.get("checksum") or "")),
        content_type=str(fields.get("content_type") or "application/octet-stream"),
        metadata={str(k): str(v) for k, v in metadata.items()},
    )


def commit_info(model: Any) -> CommitInfo:
    """Pure. lakeFS' ``Commit`` as a :class:`CommitInfo` (creation time in UTC)."""
    fields = _fields(model)
    metadata = fields.get("metadata") or {}
    return CommitInfo(
        id=str(fields["id"]),
        parents=tuple(str(p) for p in fields.get("parents") or ()),
        message=str(fields.get("message") or ""),
        metadata={str(k): str(v) for k, v in metadata.items()},
        created_at=_utc(fields.get("creation_date")),
    )


def repository_info(model: Any) -> RepositoryInfo:
    """Pure. lakeFS' ``Repository`` as a :class:`RepositoryInfo`."""
    fields = _fields(model)
    return RepositoryInfo(
        id=str(fields["id"]),
        default_branch=str(fields["default_branch"]),
        created_at=_utc(fields.get("creation_date")),
    )


def change_of(model: Any) -> Change:
    """Pure. One line of a lakeFS diff as a :class:`Change`."""
    fields = _fields(model)
    return Change(str(fields["path"]), _CHANGE_TYPES.get(str(fields.get("type")), "changed"))


class Session:
    """Effect. One lake's client, repository and secrets, and the helpers every operation uses.

    Args:
        transport: The lake's client and streamed transfers.
        repository: The repository id.
        url: The lake's secret-free URL (named in transport errors).
        secrets: Values scrubbed from every message (the access key and secret).
        page_size: Items per page of every listing (lakeFS allows 1 to 1000).
    """

    def __init__(
        self,
        transport: Transport,
        repository: str,
        *,
        url: str,
        secrets: tuple[Secret, ...],
        page_size: int,
    ) -> None:
        self.transport = transport
        self.sdk = transport.sdk
        self.repository = repository
        self.url = url
        self.secrets = secrets
        self.page_size = page_size
        self._unsure: dict[tuple[str, ...], str] = {}
        self._unsure_lock = threading.Lock()

    # -- the boundary -------------------------------------------------------------------------
    def error(self, op: str, exc: BaseException) -> LakeError:
        """Pure. ``exc`` (one of the boundary's types) as a scrubbed :class:`LakeError`."""
        return lake_error(op, exc, self.url, self.secrets)

    def scrub(self, text: str) -> str:
        """Pure. ``text`` without the lake's secrets."""
        return scrub(text, self.secrets)

    def call(
        self,
        op: str,
        call: Callable[[], T],
        *,
        branch: str | None = None,
        deleting: bool = False,
    ) -> IOResult[T, LakeError]:
        """Effect. ``call()``'s value, or its failure as a :class:`LakeError`.

        Args:
            op: The operation, for the error.
            call: One or more SDK or transport calls.
            branch: The branch a write goes to: a 403 is then diagnosed (see
                :meth:`forbidden`).
            deleting: The write deletes ``branch`` (the default branch cannot be deleted).
        """
        try:
            return IOSuccess(call())
        except BOUNDARY_ERRORS as exc:
            answer = answer_of(exc)
            if branch is not None and answer is not None and answer.status == 403:
                return IOFailure(self.forbidden(op, branch, self.error(op, exc), deleting))
            return IOFailure(self.error(op, exc))

    def forbidden(self, op: str, branch: str, refused: LakeError, deleting: bool) -> LakeError:
        """Effect (reads the repository and its protection rules). Why lakeFS refused a write.

        lakeFS answers 403 for the default branch's deletion, for a read-only repository and
        for a protected branch as well as for missing permissions; only the last is ``auth``.
        """
        try:
            repo = self.sdk.repositories_api.get_repository(self.repository)
            if deleting and repo.default_branch == branch:
                return LakeError(op, f"{branch!r} is the repository's default branch", "invalid")
            if repo.read_only:
                reason = f"repository {self.repository!r} is read-only in lakeFS"
                return LakeError(op, reason, "read_only")
            rules = self.sdk.repositories_api.get_branch_protection_rules(self.repository)
        except BOUNDARY_ERRORS:
            return refused  # cannot tell more: the credentials may not read the settings either
        patterns = [str(rule.pattern) for rule in rules or ()]
        matched = [p for p in patterns if fnmatch.fnmatchcase(branch, p)]
        if matched:
            refusal = "cannot be deleted" if deleting else "takes merges only"
            reason = f"branch {branch!r} is protected (rule {matched[0]!r}): it {refusal}"
            return LakeError(op, reason, "precondition")
        return refused

    def pages(self, listing: Callable[..., Any], *args: Any, **kwargs: Any) -> Iterator[Any]:
        """Effect. Every result of a lakeFS listing, page by page (``page_size`` per request).

        Raises the SDK's exceptions: iterate inside :meth:`call`.
        """
        amount = kwargs.pop("amount", self.page_size)
        yield from generate_listing(listing, *args, amount=amount, **kwargs)

    # -- reads shared by several operations -----------------------------------------------------
    def head(self, branch: str) -> str:
        """Effect. The commit a branch points at (raises the SDK's exceptions)."""
        return str(self.sdk.branches_api.get_branch(self.repository, branch).commit_id)

    def commit_at(self, ref: str) -> CommitInfo:
        """Effect. The commit any ref points at (raises the SDK's exceptions)."""
        return commit_info(self.sdk.commits_api.get_commit(self.repository, ref))

    def branches(self) -> tuple[BranchInfo, ...]:
        """Effect. Every visible branch, sorted by name (raises the SDK's exceptions)."""
        listed = self.pages(self.sdk.branches_api.list_branches, self.repository)
        return tuple(sorted((BranchInfo(str(r.id), str(r.commit_id)) for r in listed), key=_name))

    def diff(self, left: str, right: str) -> tuple[Change, ...]:
        """Effect. What ``right`` changed since its merge base with ``left`` (three-dot)."""
        listed = self.pages(self.sdk.refs_api.diff_refs, self.repository, left, right)
        return tuple(sorted((change_of(d) for d in listed), key=_path))

    # -- writes with an unknown outcome ---------------------------------------------------------
    def remember_unsure(self, key: tuple[str, ...], note: str = "") -> None:
        """Effect. Remember that a write was sent and its outcome is unknown."""
        with self._unsure_lock:
            self._unsure[key] = note

    def take_unsure(self, key: tuple[str, ...]) -> str | None:
        """Effect. The note of an unsure write with this key (forgotten now), or ``None``."""
        with self._unsure_lock:
            return self._unsure.pop(key, None)


def _name(info: BranchInfo) -> str:
    return info.name


def _path(change: Change) -> str:
    return change.path
