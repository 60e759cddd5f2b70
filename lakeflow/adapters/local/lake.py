"""LocalLake: an embedded, single-machine lake on local disk with lakeFS semantics.

Effectful. ``LocalLake(root, repository)`` implements :class:`lakeflow.ports.Lake` with no
server: branches, staged (uncommitted) writes, commits, three-way merges against the merge
base, reverts, log and diff behave like lakeFS, so a pipeline moves to lakeFS by changing its
lake URL. This module only sequences the parts, each in its own module:

* :mod:`~lakeflow.adapters.local.trees` — pure: trees as content-defined ranges, diff and
  the three-way merge;
* :mod:`~lakeflow.adapters.local.metadata`, :mod:`~lakeflow.adapters.local.history` and
  :mod:`~lakeflow.adapters.local.staging` — the SQLite metadata: opening it (no lake, a lake,
  damage, read-only), refs, commits, staging;
* :mod:`~lakeflow.adapters.local.blobs` — the content-addressed blob store and read
  verification;
* :mod:`~lakeflow.adapters.local.maintenance` — ``gc`` and ``fsck``.

Layout (format 1): ``ROOT/lake.sqlite3`` (metadata), ``ROOT/objects/ab/cdef…`` (blobs named by
their sha256), ``ROOT/tmp/`` (writes in flight). One folder holds any number of repositories.

**Crash safety.** Every metadata change is one SQLite transaction (``synchronous=FULL``), and
blobs are installed by rename before being referenced, so a ``kill -9`` at any instant leaves
every branch at a valid commit whose objects all exist; at worst an unreferenced blob or a temp
file remains, which :meth:`LocalLake.gc` removes. ``durable=False`` skips the fsyncs: still
safe against process crashes, not against power loss.

**Verified reads.** ``get_bytes`` always checks the bytes against their sha256; ``scan_frame``
hashes the blob files before handing them to Polars unless ``verify_reads=False``. Damage is a
``corrupt`` :class:`~lakeflow.core.errors.LakeError` naming the path, ref and blob — never
different rows.
"""

from __future__ import annotations

import os
import sqlite3
import stat as stat_module
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final, TypeVar

import polars as pl
from returns.io import IOFailure, IOResult, IOSuccess

from lakeflow.adapters.lake_helpers import (
    check_branch_id,
    check_metadata,
    check_object_metadata,
    check_path,
    check_repository_id,
    lake_error_from_os,
)
from lakeflow.adapters.local import history, staging
from lakeflow.adapters.local.blobs import BlobRead, BlobStore, read_chunks, unlink_quietly
from lakeflow.adapters.local.failures import Refused, check, sqlite_error
from lakeflow.adapters.local.maintenance import FsckReport, GcReport, fsck, gc
from lakeflow.adapters.local.metadata import Metadata
from lakeflow.adapters.local.trees import Entry, change, lookup
from lakeflow.adapters.local.trees import diff as tree_diff
from lakeflow.adapters.table_scan import scan_dataset
from lakeflow.core.errors import LakeError, LakeflowError
from lakeflow.ports import (
    BranchInfo,
    Change,
    CommitInfo,
    MergeStrategy,
    ObjectInfo,
    RepositoryInfo,
)

__all__ = ["LocalLake"]

T = TypeVar("T")

_MERGE_STRATEGY_KEY: Final = ".lakefs.merge.strategy"  # lakeFS adds it to every merge commit
_STRATEGIES: Final = (None, "dest-wins", "source-wins")


def _checked_meta(op: str, metadata: object) -> dict[str, str]:
    meta = check_metadata(op, metadata)
    if isinstance(meta, LakeError):
        raise Refused.of(meta)
    return meta


class LocalLake:
    """Effect. An embedded lake on local disk with lakeFS semantics (see the module docstring).

    Args:
        root: The lake's folder (created by :meth:`create_repository` when missing).
        repository: The repository this handle is bound to (a lakeFS repository id).
        busy_timeout: Seconds to wait for another process's metadata write to finish before
            failing with a retryable ``unavailable`` error.
        durable: ``fsync`` blobs, folders and metadata (default). ``False`` is still safe
            against process crashes (``kill -9``) but not against power loss or an OS crash.
        verify_reads: Hash data blobs before ``scan_frame`` hands them to Polars (default).
            ``get_bytes`` verifies whatever this says: its bytes are in memory anyway.

    Raises:
        LakeflowError: ``repository`` is not a valid lakeFS repository id.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as root, LocalLake(root, "example-repo") as lake:
    ...     _ = lake.create_repository()
    ...     _ = lake.put_bytes("hello.txt", b"hi", branch="main", content_type="text/plain")
    ...     print(lake.commit("main", "say hi").map(lambda c: c.message))
    ...     print(lake.get_bytes("hello.txt", ref="main"))
    <IOResult: <Success: say hi>>
    <IOResult: <Success: b'hi'>>
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        repository: str,
        *,
        busy_timeout: float = 30.0,
        durable: bool = True,
        verify_reads: bool = True,
    ) -> None:
        problem = check_repository_id(repository)
        if problem is not None:
            raise LakeflowError(problem)
        self._root = Path(root).expanduser().absolute()
        self._repo = repository
        self._verify_reads = verify_reads
        self._meta = Metadata(
            self._root, repository, self.url, busy_timeout=busy_timeout, durable=durable
        )
        self._blobs = BlobStore(self._root, durable=durable)

    def __repr__(self) -> str:
        return f"LocalLake({self.url!r}, repository={self._repo!r})"

    def close(self) -> None:
        """Effect. Close this handle's metadata connection (it reopens on next use)."""
        self._meta.close()

    def __enter__(self) -> LocalLake:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        """Where the lake lives: ``local:///absolute/path``."""
        return f"local://{self._root.as_posix()}"

    @property
    def repository(self) -> str:
        """The repository id this handle is bound to."""
        return self._repo

    @property
    def root(self) -> Path:
        """The lake's folder on disk."""
        return self._root

    @property
    def scratch_dir(self) -> Path:
        """A folder on the lake's filesystem for files headed into it (``put_file(move=True)``
        then renames instead of copying). :meth:`gc` leaves everything here but ``put-*``."""
        return self._blobs.tmp

    def _run(self, op: str, body: Callable[[], T]) -> IOResult[T, LakeError]:
        """Run one operation; expected failures and OS/SQLite errors become ``IOFailure``."""
        try:
            return IOSuccess(body())
        except Refused as refused:
            return IOFailure(refused.to_error(op))
        except sqlite3.Error as exc:
            error = sqlite_error(op, exc, self._meta.db)
            if error is None:
                raise
            return IOFailure(error)
        except OSError as exc:
            return IOFailure(lake_error_from_os(op, exc, what=f"in the lake at {self.url}"))

    # -- repository ---------------------------------------------------------------------------
    def create_repository(
        self, *, default_branch: str = "main", exist_ok: bool = False
    ) -> IOResult[RepositoryInfo, LakeError]:
        """Effect. Create the repository with an empty ``Repository created`` commit.

        Refused (``corrupt``) over a damaged lake, and (``read_only``) on a lake this process
        cannot write — unless the repository exists and ``exist_ok`` is set.
        """

        def existing() -> tuple[str, str] | None:
            try:
                with self._meta.read() as conn:
                    return history.repository_row(self._meta, conn)
            except Refused as refused:
                if refused.code != "not_found":
                    raise
                return None

        def body() -> RepositoryInfo:
            check(check_branch_id("create_repository", default_branch))
            row = existing()
            if row is None:
                with self._meta.write("create_repository", create=True) as conn:
                    row = history.repository_row(self._meta, conn)
                    if row is None:
                        return history.create_repository(self._meta, conn, default_branch)
            if not exist_ok:
                raise Refused("conflict", f"{self._where} already exists")
            return RepositoryInfo(self._repo, row[0], datetime.fromisoformat(row[1]))

        return self._run("create_repository", body)

    def get_repository(self) -> IOResult[RepositoryInfo, LakeError]:
        """Effect. The repository's info; ``not_found`` (saying why) if there is none."""

        def body() -> RepositoryInfo:
            with self._meta.read() as conn:
                default_branch, created_at = self._meta.repo_row(conn)
            return RepositoryInfo(self._repo, default_branch, datetime.fromisoformat(created_at))

        return self._run("get_repository", body)

    # -- branches and refs --------------------------------------------------------------------
    def create_branch(
        self, name: str, source: str, *, exist_ok: bool = False
    ) -> IOResult[str, LakeError]:
        """Effect. Create ``name`` at ``source``'s commit (staged writes are not carried over)."""

        def body() -> str:
            check(check_branch_id("create_branch", name))
            with self._meta.write("create_branch") as conn:
                return history.create_branch(self._meta, conn, name, source, exist_ok=exist_ok)

        return self._run("create_branch", body)

    @property
    def _where(self) -> str:
        return self._meta.where()

    def delete_branch(self, name: str) -> IOResult[None, LakeError]:
        """Effect. Delete a branch and its staged writes; its commits stay readable by id."""

        def body() -> None:
            check(check_branch_id("delete_branch", name))
            with self._meta.write("delete_branch") as conn:
                history.delete_branch(self._meta, conn, name)

        return self._run("delete_branch", body)

    def list_branches(self) -> IOResult[tuple[BranchInfo, ...], LakeError]:
        """Effect. All branches, sorted by name."""

        def body() -> tuple[BranchInfo, ...]:
            with self._meta.read() as conn:
                return history.branches(self._meta, conn)

        return self._run("list_branches", body)

    def resolve(self, ref: str) -> IOResult[str, LakeError]:
        """Effect. The commit id ``ref`` names (branch, commit id, prefix, ``~N``/``^N``)."""

        def body() -> str:
            with self._meta.read() as conn:
                return history.resolve(self._meta, conn, ref)[0]

        return self._run("resolve", body)

    def discard_changes(self, branch: str) -> IOResult[None, LakeError]:
        """Effect. Drop every uncommitted change on ``branch`` (lakeFS' branch reset)."""

        def body() -> None:
            check(check_branch_id("discard_changes", branch))
            with self._meta.write("discard_changes") as conn:
                self._meta.branch_row(conn, branch)
                staging.discard(self._meta, conn, branch)

        return self._run("discard_changes", body)

    # -- objects ------------------------------------------------------------------------------
    def _checked_put(
        self, op: str, path: str, branch: str, content_type: str, metadata: object
    ) -> dict[str, str]:
        check(check_branch_id(op, branch))
        check(check_path(op, path))
        if not isinstance(content_type, str) or not content_type:
            raise Refused("invalid", f"content_type must be a non-empty str, got {content_type!r}")
        meta = check_object_metadata(op, metadata)
        if isinstance(meta, LakeError):
            raise Refused.of(meta)
        with self._meta.read() as conn:
            self._meta.branch_row(conn, branch)  # fail before writing any bytes
        self._meta.require_writable(op)
        return meta

    def put_bytes(
        self,
        path: str,
        data: bytes,
        *,
        branch: str,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> IOResult[ObjectInfo, LakeError]:
        """Effect. Stage an object from bytes on ``branch`` (visible after the next commit)."""

        def body() -> ObjectInfo:
            if not isinstance(data, bytes | bytearray | memoryview):
                raise Refused("invalid", f"data must be bytes, got {type(data).__name__}")
            meta = self._checked_put("put_bytes", path, branch, content_type, metadata)
            checksum, size = self._blobs.write([memoryview(data)])
            entry = Entry(checksum, size, content_type, tuple(sorted(meta.items())))
            staging.stage(self._meta, "put_bytes", branch, path, entry)
            return entry.info(path)

        return self._run("put_bytes", body)

    def put_file(
        self,
        path: str,
        source: Path,
        *,
        branch: str,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
        move: bool = False,
    ) -> IOResult[ObjectInfo, LakeError]:
        """Effect. Stage an object from a local file, streamed in 1 MiB chunks.

        With ``move=True`` the file is consumed: when it is a regular, singly linked file on
        the lake's filesystem it is hashed (one read) and renamed into the blob store with no
        second copy; otherwise it is copied and then removed. Do not modify it meanwhile.
        """

        def body() -> ObjectInfo:
            meta = self._checked_put("put_file", path, branch, content_type, metadata)
            src = Path(source)
            try:
                info = os.stat(src)
            except OSError as exc:
                raise Refused.of(
                    lake_error_from_os("put_file", exc, what=f"source file {str(src)!r}")
                ) from None
            if not stat_module.S_ISREG(info.st_mode):
                raise Refused("invalid", f"source {str(src)!r} is not a regular file")
            stored = self._blobs.move_in(src) if move else None
            if stored is None:
                with open(src, "rb") as handle:
                    stored = self._blobs.write(read_chunks(handle))
                if move:
                    unlink_quietly(src)
            checksum, size = stored
            entry = Entry(checksum, size, content_type, tuple(sorted(meta.items())))
            staging.stage(self._meta, "put_file", branch, path, entry)
            return entry.info(path)

        return self._run("put_file", body)

    def delete_object(self, path: str, *, branch: str) -> IOResult[None, LakeError]:
        """Effect. Stage the removal of ``path``; deleting a missing path is a no-op (lakeFS)."""

        def body() -> None:
            check(check_branch_id("delete_object", branch))
            check(check_path("delete_object", path))
            staging.stage(self._meta, "delete_object", branch, path, None)

        return self._run("delete_object", body)

    def _entry(self, op: str, path: str, ref: str) -> Entry:
        check(check_path(op, path))
        with self._meta.read() as conn:
            found = staging.entry_at(self._meta, conn, history.resolve(self._meta, conn, ref), path)
        if found is None:
            raise Refused("not_found", f"no object {path!r} at {ref!r} in {self._where}")
        return found

    def get_bytes(self, path: str, *, ref: str) -> IOResult[bytes, LakeError]:
        """Effect. An object's content at ``ref``, verified against its sha256 (always)."""

        def body() -> bytes:
            entry = self._entry("get_bytes", path, ref)
            return self._blobs.read(BlobRead(entry.checksum, entry.size, _named(path, ref)))

        return self._run("get_bytes", body)

    def stat(self, path: str, *, ref: str) -> IOResult[ObjectInfo, LakeError]:
        """Effect. An object's stats at ``ref``; ``not_found`` if absent."""
        return self._run("stat", lambda: self._entry("stat", path, ref).info(path))

    def blob_path(self, path: str, *, ref: str) -> IOResult[Path, LakeError]:
        """Effect. The read-only local file holding an object's bytes (not verified)."""
        return self._run(
            "blob_path", lambda: self._blobs.file(self._entry("blob_path", path, ref).checksum)
        )

    def list_objects(
        self, prefix: str = "", *, ref: str
    ) -> IOResult[tuple[ObjectInfo, ...], LakeError]:
        """Effect. Objects whose path starts with ``prefix`` at ``ref``, sorted by path."""

        def body() -> tuple[ObjectInfo, ...]:
            if not isinstance(prefix, str) or prefix.startswith("/"):
                raise Refused("invalid", f"invalid prefix {prefix!r}: lake paths are relative")
            with self._meta.read() as conn:
                at = history.resolve(self._meta, conn, ref)
                items = staging.view_prefix(self._meta, conn, at, prefix)
            return tuple(entry.info(path) for path, entry in items)

        return self._run("list_objects", body)

    def scan_frame(self, path: str, *, ref: str) -> IOResult[pl.LazyFrame, LakeError]:
        """Effect. A lazy frame over the dataset at ``path``: a parquet object or folder, or a
        Delta table's live rows (:func:`lakeflow.adapters.table_scan.scan_dataset`). Zero-copy:
        Polars scans the blob files in place, each hashed first unless ``verify_reads=False``.
        """
        return scan_dataset(self, path, ref=ref)

    def local_files(
        self, paths: Sequence[str], *, ref: str
    ) -> IOResult[tuple[Path, ...], LakeError]:
        """Effect. The blob files holding the objects at ``ref`` (read-only, shared: never
        write to one), each hashed against its name first unless ``verify_reads=False``."""

        def body() -> tuple[Path, ...]:
            for path in paths:
                check(check_path("local_files", path))
            with self._meta.read() as conn:
                at = history.resolve(self._meta, conn, ref)
                entries = [(p, staging.entry_at(self._meta, conn, at, p)) for p in paths]
            missing = [p for p, e in entries if e is None]
            if missing:
                raise Refused("not_found", f"no object {missing[0]!r} at {ref!r} in {self._where}")
            blobs = [BlobRead(e.checksum, e.size, _named(p, ref)) for p, e in entries if e]
            if self._verify_reads:
                return tuple(self._blobs.verify_all(blobs))
            return tuple(self._blobs.file(b.checksum) for b in blobs)

        return self._run("local_files", body)

    # -- commits, merges, history -------------------------------------------------------------
    def uncommitted(self, branch: str) -> IOResult[tuple[Change, ...], LakeError]:
        """Effect. Staged changes on ``branch`` that differ from its head commit."""

        def body() -> tuple[Change, ...]:
            check(check_branch_id("uncommitted", branch))
            with self._meta.read() as conn:
                row = self._meta.branch_row(conn, branch)
                tree = history.tree_of(self._meta, conn, row.head)
                load = self._meta.loader(conn)
                changes = staging.effective(tree, staging.rows(self._meta, conn, branch)[0], load)
                return tuple(change(p, lookup(tree, p, load), changes[p]) for p in sorted(changes))

        return self._run("uncommitted", body)

    def commit(
        self,
        branch: str,
        message: str,
        metadata: Mapping[str, str] | None = None,
        *,
        allow_empty: bool = False,
    ) -> IOResult[CommitInfo, LakeError]:
        """Effect. Commit the branch's staged changes; ``invalid`` when there are none.

        A concurrent commit or merge that moves the branch first makes this one fail with a
        retryable ``conflict``. Writes staged while the commit runs stay staged.
        """

        def body() -> CommitInfo:
            check(check_branch_id("commit", branch))
            if not isinstance(message, str):
                raise Refused("invalid", f"commit message must be a str, got {message!r}")
            meta = _checked_meta("commit", metadata)
            return history.commit_staged(
                self._meta, branch, message=message, metadata=meta, allow_empty=allow_empty
            )

        return self._run("commit", body)

    def merge(
        self,
        source: str,
        dest_branch: str,
        *,
        message: str = "",
        metadata: Mapping[str, str] | None = None,
        strategy: MergeStrategy = None,
    ) -> IOResult[str, LakeError]:
        """Effect. Three-way merge of ``source`` into ``dest_branch``; the merge commit's id.

        As :meth:`lakeflow.ports.Lake.merge`; losing a race with a concurrent commit or merge
        into ``dest_branch`` is a retryable ``conflict``.
        """

        def body() -> str:
            check(check_branch_id("merge", dest_branch))
            if strategy not in _STRATEGIES:
                raise Refused(
                    "invalid",
                    f"unknown merge strategy {strategy!r}; allowed: None, 'dest-wins', "
                    "'source-wins'",
                )
            if not isinstance(message, str):
                raise Refused("invalid", f"merge message must be a str, got {message!r}")
            meta = {**_checked_meta("merge", metadata), _MERGE_STRATEGY_KEY: strategy or "default"}
            return history.commit_on_clean(
                self._meta,
                "merge",
                dest_branch,
                lambda conn, dest, tree: history.merge_plan(
                    self._meta, conn, source=source, dest=dest, dest_tree=tree, strategy=strategy
                ),
                refs_first=(source,),
                message=message,
                metadata=meta,
            ).id

        return self._run("merge", body)

    def revert(
        self,
        branch: str,
        commit: str,
        *,
        parent_number: int = 1,
        message: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> IOResult[CommitInfo, LakeError]:
        """Effect. Commit on ``branch`` the undoing of what ``commit`` changed (lakeFS' revert).

        As :meth:`lakeflow.ports.Lake.revert`; an out-of-range ``parent_number`` is ``invalid``.
        """

        def body() -> CommitInfo:
            check(check_branch_id("revert", branch))
            if isinstance(parent_number, bool) or not isinstance(parent_number, int):
                raise Refused("invalid", f"parent_number must be an int, got {parent_number!r}")
            if parent_number < 1:
                raise Refused("invalid", f"parent_number counts from 1, got {parent_number}")
            if not isinstance(message, str):
                raise Refused("invalid", f"revert message must be a str, got {message!r}")
            return history.commit_on_clean(
                self._meta,
                "revert",
                branch,
                lambda conn, dest, tree: history.revert_plan(
                    self._meta,
                    conn,
                    commit=commit,
                    parent_number=parent_number,
                    dest=dest,
                    dest_tree=tree,
                ),
                refs_first=(commit,),
                message=message,
                metadata=_checked_meta("revert", metadata),
            )

        return self._run("revert", body)

    def log_commits(
        self, ref: str, *, limit: int | None = None
    ) -> IOResult[tuple[CommitInfo, ...], LakeError]:
        """Effect. Commits reachable from ``ref``, newest first (children before parents)."""

        def body() -> tuple[CommitInfo, ...]:
            if limit is not None and (not isinstance(limit, int) or limit < 0):
                raise Refused("invalid", f"limit must be a non-negative int, got {limit!r}")
            with self._meta.read() as conn:
                start, _ = history.resolve(self._meta, conn, ref)
                return history.log(self._meta, conn, start, limit)

        return self._run("log", body)

    def diff(self, left: str, right: str) -> IOResult[tuple[Change, ...], LakeError]:
        """Effect. Changes on ``right`` since its merge base with ``left`` (three-dot diff)."""

        def body() -> tuple[Change, ...]:
            with self._meta.read() as conn:
                left_id, _ = history.resolve(self._meta, conn, left)
                right_id, _ = history.resolve(self._meta, conn, right)
                base = history.merge_base(self._meta, conn, left_id, right_id)
                changes = tree_diff(
                    history.tree_of(self._meta, conn, base),
                    history.tree_of(self._meta, conn, right_id),
                    self._meta.loader(conn),
                )
            return tuple(change(p, *changes[p]) for p in sorted(changes))

        return self._run("diff", body)

    # -- maintenance (LocalLake only) ---------------------------------------------------------
    def gc(
        self, *, grace: timedelta = timedelta(hours=1), dry_run: bool = False
    ) -> IOResult[GcReport, LakeError]:
        """Effect. Delete blobs and temp files nothing references, older than ``grace``.

        See :func:`lakeflow.adapters.local.maintenance.gc` (it covers the whole lake folder).
        """
        return self._run("gc", lambda: gc(self._meta, self._blobs, grace=grace, dry_run=dry_run))

    def fsck(self, *, deep: bool = False) -> IOResult[FsckReport, LakeError]:
        """Effect. Check every branch, commit, tree, range and blob of this repository.

        See :func:`lakeflow.adapters.local.maintenance.fsck`: problems are reported, each
        naming the damaged object; a metadata file too damaged to read is a ``corrupt`` error.
        """
        return self._run("fsck", lambda: fsck(self._meta, self._blobs, deep=deep))


def _named(path: str, ref: str) -> str:
    """Pure. How a damaged object is named in an error."""
    return f"object {path!r} at {ref!r}"
