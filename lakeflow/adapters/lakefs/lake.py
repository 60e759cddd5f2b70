"""LakeFSLake: the Lake port on a lakeFS server, through the ``lakefs`` SDK.

Effect. Every operation of :class:`lakeflow.ports.Lake` (the narrow port: path first, ``ref=``
for reads, ``branch=`` for writes) maps onto one or two lakeFS API calls made with this lake's
own ``lakefs.Client``; every failure is a :class:`~lakeflow.core.errors.LakeError` value (see
:mod:`lakeflow.adapters.lakefs.errors` for the table). Inputs lakeFS would refuse (branch ids,
paths, metadata) are refused before any request, with the same codes as ``LocalLake``.

What lakeFS leaves to its clients, done here:

* **Streaming.** Uploads stream from files in 1 MiB chunks; ``put_file(move=True)`` deletes the
  local file after a successful upload. Reads stream into memory (``get_bytes``) or into
  local files Polars scans lazily (``scan_frame``; see :mod:`~lakeflow.adapters.lakefs.downloads`
  for how long those files live).
* **Verified reads.** What is read is hashed and compared with lakeFS' checksum (its
  ``ETag``): an MD5 for 32 hex digits (lakeFS' local, S3 single-part, GCS and Azure block
  stores), a SHA-256 for 64 (lakeflow's server double); other checksums (S3 multipart ETags)
  cannot be checked and are not. A mismatch is a ``corrupt`` error naming the object.
  ``verify_reads=False`` turns it off for ``scan_frame`` — for block stores whose ETags are
  not content MD5s (S3 with SSE-KMS), which would otherwise read as corrupt.
* **Unknown outcomes.** A commit, merge or branch creation whose request was sent but got no
  answer (timeout, reset) may have been applied. Before reporting it as a retryable
  failure, the lake checks whether it landed; if it cannot tell yet, it remembers the write,
  and its retry checks again before (and after) trying, so a retried publish never merges
  twice and never fails for "no changes" because its first attempt did land.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import polars as pl
from lakefs_sdk.models.repository_creation import RepositoryCreation
from lakefs_sdk.models.reset_creation import ResetCreation
from returns.io import IOResult

from lakeflow.adapters.lake_helpers import (
    check_branch_id,
    check_metadata,
    check_object_metadata,
    check_path,
    check_repository_id,
)
from lakeflow.adapters.lakefs import admin
from lakeflow.adapters.lakefs.admin import HealthPart
from lakeflow.adapters.lakefs.connect import lake_url, normalize_endpoint
from lakeflow.adapters.lakefs.downloads import DownloadCache
from lakeflow.adapters.lakefs.history import History
from lakeflow.adapters.lakefs.objects import Objects
from lakeflow.adapters.lakefs.session import (
    Session,
    change_of,
    failure_of,
    repository_info,
    valid,
)
from lakeflow.adapters.lakefs.transport import Transport, new_client
from lakeflow.adapters.table_scan import scan_dataset
from lakeflow.core.errors import LakeError, LakeflowError
from lakeflow.core.secrets import Secret
from lakeflow.ports import (
    BranchInfo,
    Change,
    CommitInfo,
    MergeStrategy,
    ObjectInfo,
    RepositoryInfo,
)

__all__ = ["HealthPart", "LakeFSLake"]

_OCTET: Final = "application/octet-stream"
_NAMESPACE: Final = re.compile(r"(s3|gs|https?|mem|local|transient)://.*", re.DOTALL)
_MAX_PAGE: Final = 1000


def _ref_problem(op: str, ref: object, what: str = "ref") -> LakeError | None:
    if isinstance(ref, str) and ref.strip() and ref == ref.strip() and "\n" not in ref:
        return None
    return LakeError(op, f"invalid {what} {ref!r}: a branch name, tag or commit id", "invalid")


def _text_problem(op: str, name: str, value: object) -> LakeError | None:
    if isinstance(value, str):
        return None
    return LakeError(op, f"{name} must be a string, got {type(value).__name__}", "invalid")


class LakeFSLake:
    """Effect. A lakeFS repository as a :class:`lakeflow.ports.Lake` (see the module docstring).

    Args:
        endpoint: lakeFS' URL, ``http(s)://host[:port]`` (``/api/v1`` optional).
        repository: The repository id (3-63 of ``a-z``, ``0-9``, ``-``).
        access_key_id: The lakeFS access key id (a secret: never shown).
        secret_access_key: The lakeFS secret access key.
        storage_namespace: Where :meth:`create_repository` puts the repository's data
            (``s3://bucket/path``, ``local://name``...); not needed to use an existing one.
        timeout_s: Seconds a request may wait for the server before failing as retryable
            ``unavailable`` (connecting: at most 10).
        verify_reads: Hash what ``scan_frame`` downloads against lakeFS' checksums (default).
            ``get_bytes`` always verifies.
        page_size: Items per listing request (lakeFS allows up to 1000).

    Raises:
        LakeflowError: The endpoint or repository id is invalid, or a key is not a Secret.

    Use :func:`lakeflow.adapters.lakefs.open_lakefs` to take the endpoint and keys from
    lakectl's environment variables.
    """

    def __init__(
        self,
        endpoint: str,
        repository: str,
        *,
        access_key_id: Secret,
        secret_access_key: Secret,
        storage_namespace: str | None = None,
        timeout_s: float = 60.0,
        verify_reads: bool = True,
        page_size: int = _MAX_PAGE,
    ) -> None:
        problem = check_repository_id(repository)
        if problem is not None:
            raise LakeflowError(problem)
        if not isinstance(access_key_id, Secret) or not isinstance(secret_access_key, Secret):
            raise LakeflowError("lakeFS keys must be lakeflow.Secret values")
        if storage_namespace is not None and not _NAMESPACE.fullmatch(storage_namespace):
            raise LakeflowError(
                f"invalid lakeFS storage namespace {storage_namespace!r}: lakeFS takes "
                "s3://, gs://, http(s)://, mem://, local:// or transient:// URIs"
            )
        if not 1 <= page_size <= _MAX_PAGE or timeout_s <= 0:
            raise LakeflowError("page_size must be 1-1000 and timeout_s positive")
        self._endpoint = normalize_endpoint(endpoint)
        self._url = lake_url(self._endpoint)
        self._namespace = storage_namespace
        self._verify_reads = verify_reads
        client = new_client(self._endpoint, access_key_id, secret_access_key, timeout_s=timeout_s)
        self._session = Session(
            Transport(client),
            repository,
            url=self._url,
            secrets=(secret_access_key, access_key_id),
            page_size=page_size,
        )
        self._history = History(self._session)
        self._downloads = DownloadCache()
        self._objects = Objects(self._session, self._downloads, verify_reads=verify_reads)

    def __repr__(self) -> str:
        return f"LakeFSLake({self._url!r}, repository={self.repository!r})"

    @property
    def url(self) -> str:
        """Where the lake lives, without secrets: ``lakefs://host:port`` (HTTPS:
        ``lakefs+https://host``)."""
        return self._url

    @property
    def repository(self) -> str:
        """The repository id this lake is bound to."""
        return self._session.repository

    @property
    def storage_namespace(self) -> str | None:
        """Where :meth:`create_repository` puts the data, if configured."""
        return self._namespace

    def close(self) -> None:
        """Effect. Delete the local copies ``scan_frame`` made and close the connections.

        Frames from :meth:`scan_frame` cannot be collected afterwards.
        """
        self._downloads.close()
        self._session.transport.close()

    def __enter__(self) -> LakeFSLake:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def _sdk(self) -> Any:
        return self._session.sdk

    # -- repository ---------------------------------------------------------------------------
    def create_repository(
        self, *, default_branch: str = "main", exist_ok: bool = False
    ) -> IOResult[RepositoryInfo, LakeError]:
        """Effect. Create the repository in the storage namespace given to the constructor.

        lakeFS makes an initial commit on ``default_branch``. An existing repository is a
        ``conflict`` unless ``exist_ok`` (then its info is returned, whatever its namespace).
        """
        op = "create_repository"
        missing = (
            None
            if self._namespace
            else LakeError(
                op,
                "a storage namespace is needed to create a lakeFS repository: pass "
                "storage_namespace= (lake.storage_namespace in a config), e.g. "
                "'s3://bucket/path' or 'local://name' on a quickstart lakeFS",
                "invalid",
            )
        )

        def create() -> IOResult[RepositoryInfo, LakeError]:
            creation = RepositoryCreation.from_dict(
                {
                    "name": self.repository,
                    "storage_namespace": self._namespace,
                    "default_branch": default_branch,
                }
            )
            made = self._session.call(
                op, lambda: self._sdk.repositories_api.create_repository(creation)
            )
            problem = failure_of(made)
            if exist_ok and problem is not None and problem.code == "conflict":
                return self.get_repository()  # created meanwhile by someone else
            return made.map(repository_info)

        def existing_or_new(_: None) -> IOResult[RepositoryInfo, LakeError]:
            if exist_ok:  # an existing repository needs no storage namespace
                got = self.get_repository()
                problem = failure_of(got)
                if problem is None or problem.code != "not_found":
                    return got
            return valid(missing).bind(lambda _: create())

        return valid(check_branch_id(op, default_branch)).bind(existing_or_new)

    def get_repository(self) -> IOResult[RepositoryInfo, LakeError]:
        """Effect. The repository's id, default branch and creation time; ``not_found`` if none."""
        return self._session.call(
            "get_repository",
            lambda: repository_info(self._sdk.repositories_api.get_repository(self.repository)),
        )

    # -- branches and refs --------------------------------------------------------------------
    def create_branch(
        self, name: str, source: str, *, exist_ok: bool = False
    ) -> IOResult[str, LakeError]:
        """Effect. Create branch ``name`` at ``source`` (branch, tag or commit); its commit id.

        An existing branch is a ``conflict`` unless ``exist_ok`` (then its head is returned).
        """
        op = "create_branch"
        return valid(check_branch_id(op, name), _ref_problem(op, source, "source")).bind(
            lambda _: self._history.create_branch(name, source, exist_ok=exist_ok)
        )

    def delete_branch(self, name: str) -> IOResult[None, LakeError]:
        """Effect. Delete a branch (its commits stay readable by id).

        The default branch is ``invalid``; a protected branch is ``precondition``.
        """
        return valid(check_branch_id("delete_branch", name)).bind(
            lambda _: self._history.delete_branch(name)
        )

    def list_branches(self) -> IOResult[tuple[BranchInfo, ...], LakeError]:
        """Effect. Every branch and its head, sorted by name (paged, ``page_size`` per request)."""
        return self._session.call("list_branches", self._session.branches)

    def resolve(self, ref: str) -> IOResult[str, LakeError]:
        """Effect. The commit id a branch, tag, commit id or ref expression points at."""
        op = "resolve"
        return valid(_ref_problem(op, ref)).bind(
            lambda _: self._session.call(op, lambda: self._session.commit_at(ref).id)
        )

    def discard_changes(self, branch: str) -> IOResult[None, LakeError]:
        """Effect. Drop every uncommitted change on ``branch`` (lakeFS' branch reset)."""
        op = "discard_changes"
        reset = ResetCreation.from_dict({"type": "reset"})
        return valid(check_branch_id(op, branch)).bind(
            lambda _: self._session.call(
                op,
                lambda: self._sdk.branches_api.reset_branch(self.repository, branch, reset),
                branch=branch,
            )
        )

    # -- objects ------------------------------------------------------------------------------
    def _put_checks(
        self, op: str, path: str, branch: str, content_type: object, metadata: object
    ) -> IOResult[dict[str, str], LakeError]:
        meta = check_object_metadata(op, metadata)
        problems = valid(
            check_path(op, path),
            check_branch_id(op, branch),
            _text_problem(op, "content_type", content_type),
            meta if isinstance(meta, LakeError) else None,
        )
        return problems.map(lambda _: meta if isinstance(meta, dict) else {})

    def put_bytes(
        self,
        path: str,
        data: bytes,
        *,
        branch: str,
        content_type: str = _OCTET,
        metadata: Mapping[str, str] | None = None,
    ) -> IOResult[ObjectInfo, LakeError]:
        """Effect. Stage ``data`` as ``path`` on ``branch`` (visible after the next commit).

        Object metadata keys are stored lower-cased, as lakeFS stores them.
        """
        op = "put_bytes"
        return self._put_checks(op, path, branch, content_type, metadata).bind(
            lambda meta: self._objects.upload(
                op, path, io.BytesIO(data), branch=branch, content_type=content_type, metadata=meta
            )
        )

    def put_file(
        self,
        path: str,
        source: Path,
        *,
        branch: str,
        content_type: str = _OCTET,
        metadata: Mapping[str, str] | None = None,
        move: bool = False,
    ) -> IOResult[ObjectInfo, LakeError]:
        """Effect. Stage a local file as ``path``, streamed (1 MiB in memory at a time).

        With ``move=True`` the file is deleted once lakeFS has it; a failed upload leaves it.
        """
        return self._put_checks("put_file", path, branch, content_type, metadata).bind(
            lambda meta: self._objects.upload_file(
                path, source, branch=branch, content_type=content_type, metadata=meta, move=move
            )
        )

    def delete_object(self, path: str, *, branch: str) -> IOResult[None, LakeError]:
        """Effect. Stage the removal of ``path``; deleting a path that is not there succeeds."""
        op = "delete_object"
        return valid(check_path(op, path), check_branch_id(op, branch)).bind(
            lambda _: self._objects.delete(path, branch=branch)
        )

    def get_bytes(self, path: str, *, ref: str) -> IOResult[bytes, LakeError]:
        """Effect. An object's content at ``ref``, verified against lakeFS' checksum."""
        op = "get_bytes"
        buffer = io.BytesIO()
        return valid(check_path(op, path), _ref_problem(op, ref)).bind(
            lambda _: self._objects.read(path, ref=ref, sink=buffer).map(
                lambda _: buffer.getvalue()
            )
        )

    def stat(self, path: str, *, ref: str) -> IOResult[ObjectInfo, LakeError]:
        """Effect. An object's size, checksum, content type and metadata at ``ref``."""
        op = "stat"
        return valid(check_path(op, path), _ref_problem(op, ref)).bind(
            lambda _: self._objects.stat(path, ref=ref)
        )

    def list_objects(
        self, prefix: str = "", *, ref: str
    ) -> IOResult[tuple[ObjectInfo, ...], LakeError]:
        """Effect. Objects under ``prefix`` at ``ref``, sorted by path (paged)."""
        op = "list_objects"
        return valid(_text_problem(op, "prefix", prefix), _ref_problem(op, ref)).bind(
            lambda _: self._objects.list_under(prefix, ref=ref)
        )

    def scan_frame(self, path: str, *, ref: str) -> IOResult[pl.LazyFrame, LakeError]:
        """Effect. A lazy frame over the dataset at ``path`` (a parquet object or folder, or a
        Delta table's live rows; see :func:`lakeflow.adapters.table_scan.scan_dataset`).

        One listing request finds the objects; each data file is downloaded once (verified
        unless ``verify_reads=False``) into the lake's local copies, which live until
        :meth:`close` (see :mod:`lakeflow.adapters.lakefs.downloads`).
        """
        op = "scan_frame"
        target = path[:-1] if isinstance(path, str) and path.endswith("/") else path
        return valid(check_path(op, target), _ref_problem(op, ref)).bind(
            lambda _: scan_dataset(self, target, ref=ref)
        )

    def local_files(
        self, paths: Sequence[str], *, ref: str
    ) -> IOResult[tuple[Path, ...], LakeError]:
        """Effect. Verified local copies of the objects at ``ref`` (downloaded unless already
        copied), which live until :meth:`close`."""
        op = "local_files"
        problems = [check_path(op, p) for p in paths]
        return valid(*problems, _ref_problem(op, ref)).bind(
            lambda _: self._objects.local_files(paths, ref=ref)
        )

    # -- commits, merges, history -------------------------------------------------------------
    def uncommitted(self, branch: str) -> IOResult[tuple[Change, ...], LakeError]:
        """Effect. The uncommitted changes on ``branch``, sorted by path (paged)."""
        op = "uncommitted"

        def listed() -> tuple[Change, ...]:
            pages = self._session.pages(self._sdk.branches_api.diff_branch, self.repository, branch)
            return tuple(sorted((change_of(d) for d in pages), key=lambda c: c.path))

        return valid(check_branch_id(op, branch)).bind(lambda _: self._session.call(op, listed))

    def commit(
        self,
        branch: str,
        message: str,
        metadata: Mapping[str, str] | None = None,
        *,
        allow_empty: bool = False,
    ) -> IOResult[CommitInfo, LakeError]:
        """Effect. Commit the branch's staged changes with string metadata.

        ``invalid`` when there is nothing to commit and not ``allow_empty``; a lost race on the
        branch head is a retryable ``conflict``; a protected branch is ``precondition``.
        """
        op = "commit"
        meta = check_metadata(op, metadata)
        return valid(
            check_branch_id(op, branch),
            _text_problem(op, "message", message),
            meta if isinstance(meta, LakeError) else None,
        ).bind(
            lambda _: self._history.commit(
                branch, message, meta if isinstance(meta, dict) else {}, allow_empty=allow_empty
            )
        )

    def merge(
        self,
        source: str,
        dest_branch: str,
        *,
        message: str = "",
        metadata: Mapping[str, str] | None = None,
        strategy: MergeStrategy = None,
    ) -> IOResult[str, LakeError]:
        """Effect. Merge ``source`` into ``dest_branch`` (never a fast-forward); the merge commit.

        A path changed differently on both sides is a non-retryable ``conflict`` naming the
        paths; nothing to merge, or uncommitted changes on the destination, is ``invalid``.
        """
        op = "merge"
        meta = check_metadata(op, metadata)
        bad_strategy = (
            None
            if strategy in (None, "dest-wins", "source-wins")
            else LakeError(op, f"unknown merge strategy {strategy!r}", "invalid")
        )
        return valid(
            check_branch_id(op, dest_branch),
            _ref_problem(op, source, "source"),
            _text_problem(op, "message", message),
            bad_strategy,
            meta if isinstance(meta, LakeError) else None,
        ).bind(
            lambda _: self._history.merge(
                source, dest_branch, message, meta if isinstance(meta, dict) else {}, strategy
            )
        )

    def revert(
        self,
        branch: str,
        commit: str,
        *,
        parent_number: int = 1,
        message: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> IOResult[CommitInfo, LakeError]:
        """Effect. Commit on ``branch`` the undoing of what ``commit`` changed against a parent.

        ``parent_number`` is 1-based (lakeFS' SDK defaults to 0, which lakeFS refuses for a
        merge commit). A branch with uncommitted changes or a revert that changes nothing is
        ``invalid``; a path changed since ``commit`` is a ``conflict``.
        """
        op = "revert"
        meta = check_metadata(op, metadata)
        bad_parent = (
            None
            if isinstance(parent_number, int)
            and not isinstance(parent_number, bool)
            and parent_number >= 1
            else LakeError(op, f"parent_number is 1-based, got {parent_number!r}", "invalid")
        )
        return valid(
            check_branch_id(op, branch),
            _ref_problem(op, commit, "commit"),
            _text_problem(op, "message", message),
            bad_parent,
            meta if isinstance(meta, LakeError) else None,
        ).bind(
            lambda _: self._history.revert(
                branch, commit, parent_number, message, meta if isinstance(meta, dict) else {}
            )
        )

    def log_commits(
        self, ref: str, *, limit: int | None = None
    ) -> IOResult[tuple[CommitInfo, ...], LakeError]:
        """Effect. Commits reachable from ``ref``, newest first, at most ``limit`` (paged)."""
        op = "log_commits"
        bad_limit = (
            None
            if limit is None or (isinstance(limit, int) and limit >= 0)
            else LakeError(op, f"limit must be a non-negative int, got {limit!r}", "invalid")
        )
        return valid(_ref_problem(op, ref), bad_limit).bind(
            lambda _: self._session.call(op, lambda: self._history.log(ref, limit))
        )

    def diff(self, left: str, right: str) -> IOResult[tuple[Change, ...], LakeError]:
        """Effect. What ``right`` changed since its merge base with ``left`` (three-dot)."""
        op = "diff"
        return valid(_ref_problem(op, left), _ref_problem(op, right)).bind(
            lambda _: self._session.call(op, lambda: self._session.diff(left, right))
        )

    # -- beyond the port: set-up and health -----------------------------------------------------
    def protect_branch(self, name: str) -> IOResult[None, LakeError]:
        """Effect. Add a lakeFS branch protection rule for ``name`` (idempotent).

        A protected branch takes merges only: direct writes, commits and its deletion are
        refused (``precondition``). Used for ``lake.protect_target: true``.
        """
        return valid(check_branch_id("protect_branch", name)).bind(
            lambda _: admin.protect_branch(self._session, name)
        )

    def health(self) -> tuple[tuple[HealthPart, IOResult[str, LakeError]], ...]:
        """Effect. Check the endpoint, then the credentials, then the repository.

        Each part is checked only when the one before it passed (otherwise its result says
        it was not checked); the success value says what was found.
        """
        return admin.health(self._session)
