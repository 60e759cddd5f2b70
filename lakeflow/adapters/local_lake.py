"""LocalLake: an embedded, single-machine lake on local disk with lakeFS semantics.

Effectful. ``LocalLake(root, repository)`` implements :class:`lakeflow.ports.Lake` with no server:
branches, staged (uncommitted) writes, commits, three-way merges against the merge base, log
and diff behave like lakeFS, so a pipeline moves to lakeFS by changing its lake URL.

Storage layout (format 1)
-------------------------
::

    ROOT/                       the lake (``local:///ROOT``); holds any number of repositories
      lake.sqlite3              metadata, SQLite in WAL mode (+ -wal/-shm files)
      objects/ab/cdef…          blobs: immutable, read-only files named by their sha256
      tmp/                      in-flight writes (same filesystem, so a rename installs them)

* **Blobs** are content-addressed and shared by every repository in the root: writing the same
  bytes twice stores them once. A write streams into ``tmp/`` while hashing, ``fsync``s, then
  renames the file to ``objects/<sha[:2]>/<sha[2:]>`` and ``fsync``s the folder; only then is
  the object staged. A reader never sees a partial blob, and nothing ever copies one again:
  branching, committing and merging move ids, never bytes, and ``scan_frame`` hands Polars the
  blob files themselves (zero-copy). ``put_file(move=True)`` renames the caller's file into
  the store instead of copying it (one read to hash it, no second copy).
* **Metadata** lives in SQLite tables: ``repositories``, ``branches`` (name → head commit, plus
  an incarnation number so a deleted and re-created branch is a different branch),
  ``commits`` (id, tree, parents, message, metadata, UTC time, generation), ``staging``
  (branch, path → entry or tombstone, with a sequence number), ``trees`` and ``ranges``.
* **Trees** are stored like lakeFS' Graveler metaranges: a commit's object listing is a sorted
  sequence of entries (path → sha256, size, content type, metadata) cut into *ranges* at
  content-defined boundaries (after every path whose hash is 0 mod 64, so ~64 entries per
  range). A range is stored once, named by the sha256 of its bytes; a tree is the list of its
  ranges. The cut points depend only on the paths, so a commit that changes *k* paths rewrites
  at most ~*k* ranges plus the (small) range list, never the whole listing, and identical
  ranges are shared between commits. Diffs and merges skip ranges whose ids are equal on both
  sides, so they cost O(changed ranges), independent of object count and of bytes.
* **Commits and merges** compute the new tree from a read snapshot, then move the branch head
  with a compare-and-swap (``UPDATE branches SET head = new WHERE head = expected AND
  incarnation = expected``) in a short write transaction that also inserts the commit and its
  new ranges and clears the committed staging rows (by sequence number, so writes that land
  during the commit stay staged, as with lakeFS' staging tokens). A lost race is a
  ``conflict`` :class:`LakeError` with ``retryable=True``: retrying recomputes on the new head.
  A real content conflict is ``conflict`` with ``retryable=False``.
* **Crash safety.** Every metadata change is one SQLite transaction (``synchronous=FULL``), and
  blobs are installed by rename before being referenced, so a ``kill -9`` at any instant
  leaves every branch at a valid commit whose objects all exist; at worst an unreferenced blob
  or a temp file remains, which :meth:`LocalLake.gc` removes. ``durable=False`` skips the
  fsyncs: still safe against process crashes, not against power loss.
* **Garbage.** Like lakeFS, deleting a branch frees nothing (its commits stay readable by id).
  :meth:`LocalLake.gc` deletes blobs that no commit and no staged write references (lost
  races, overwritten staged writes, crashed writes) once they are older than a grace period,
  and :meth:`LocalLake.fsck` checks that every reference resolves and every blob hashes right.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import io
import json
import os
import re
import sqlite3
import stat as stat_module
import tempfile
import threading
import time
from bisect import bisect_left
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Final, NamedTuple, TypeVar

import polars as pl
from returns.io import IOFailure, IOResult, IOSuccess

from lakeflow.adapters.lake_helpers import (
    NotebookHelpers,
    check_branch_id,
    check_metadata,
    check_object_metadata,
    check_path,
    check_repository_id,
    lake_error_from_os,
)
from lakeflow.core.errors import LakeError, LakeErrorCode, LakeflowError
from lakeflow.ports import (
    BranchInfo,
    Change,
    CommitInfo,
    MergeStrategy,
    ObjectInfo,
    RepositoryInfo,
)

__all__ = ["FORMAT_VERSION", "FsckReport", "GcReport", "LocalLake"]

T = TypeVar("T")

FORMAT_VERSION: Final = 1
"""Version of the on-disk layout; a lake written by a newer format is refused, not guessed at."""

_DB_NAME: Final = "lake.sqlite3"
_RANGE_SPLIT: Final = 64  # a range ends after a path whose hash is 0 mod this: ~64 entries
_CHUNK: Final = 1 << 20  # streaming buffer for file writes and hashing
_MIN_PREFIX: Final = 6  # shortest commit-id prefix that resolves
_MERGE_STRATEGY_KEY: Final = ".lakefs.merge.strategy"  # lakeFS adds it to every merge commit
_STRATEGIES: Final = (None, "dest-wins", "source-wins")
_HEX: Final = re.compile(r"[0-9a-f]+")
_REF: Final = re.compile(r"(?P<base>[^~^]+)(?P<mods>(?:[~^][0-9]*)*)")
_MOD: Final = re.compile(r"([~^])([0-9]*)")

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY CHECK (id = 0), value INTEGER NOT NULL);
INSERT OR IGNORE INTO counter (id, value) VALUES (0, 0);
CREATE TABLE IF NOT EXISTS repositories (
    id TEXT PRIMARY KEY, default_branch TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS commits (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, repo TEXT NOT NULL, id TEXT NOT NULL,
    tree TEXT NOT NULL, parents TEXT NOT NULL, message TEXT NOT NULL, metadata TEXT NOT NULL,
    created_at TEXT NOT NULL, generation INTEGER NOT NULL, UNIQUE (repo, id));
CREATE TABLE IF NOT EXISTS branches (
    repo TEXT NOT NULL, name TEXT NOT NULL, head TEXT NOT NULL, incarnation INTEGER NOT NULL,
    PRIMARY KEY (repo, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS staging (
    repo TEXT NOT NULL, branch TEXT NOT NULL, path TEXT NOT NULL, seq INTEGER NOT NULL,
    entry TEXT, PRIMARY KEY (repo, branch, path)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS trees (id TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS ranges (id TEXT PRIMARY KEY, data BLOB NOT NULL);
"""


# ---------------------------------------------------------------------------------------------
# Failures: raised inside an operation, turned into IOFailure(LakeError) at its boundary.
# ---------------------------------------------------------------------------------------------
class _Refused(Exception):  # noqa: N818 - carries an expected failure to the op boundary
    """An expected failure inside an operation; :meth:`LocalLake._run` returns it as a value."""

    def __init__(self, code: LakeErrorCode, reason: str, *, retryable: bool = False) -> None:
        super().__init__(reason)
        self.code: LakeErrorCode = code
        self.reason = reason
        self.retryable = retryable

    @classmethod
    def of(cls, error: LakeError) -> _Refused:
        return cls(error.code, error.reason, retryable=error.retryable)


def _check(error: LakeError | None) -> None:
    if error is not None:
        raise _Refused.of(error)


def _sqlite_error(op: str, exc: sqlite3.Error) -> LakeError | None:
    """Translate an operational SQLite error; ``None`` for programming errors (bugs)."""
    if isinstance(
        exc,
        sqlite3.ProgrammingError
        | sqlite3.IntegrityError
        | sqlite3.InterfaceError
        | sqlite3.NotSupportedError
        | sqlite3.DataError,
    ):
        return None
    primary = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
    text = str(exc)
    if primary in {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED} or "locked" in text:
        return LakeError(
            op,
            f"the lake's metadata database stayed locked past the busy timeout ({text}); retry",
            "unavailable",
            retryable=True,
        )
    if primary == sqlite3.SQLITE_FULL:
        return LakeError(op, f"no space left for the lake's metadata ({text})", "unavailable")
    if primary in {sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH}:
        return LakeError(op, f"permission denied on the lake's metadata ({text})", "auth")
    if primary in {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}:
        return LakeError(op, f"the lake's metadata database is damaged ({text})", "unavailable")
    return LakeError(op, f"the lake's metadata database failed ({text})", "unavailable")


# ---------------------------------------------------------------------------------------------
# Trees: sorted entries cut into content-defined, content-addressed ranges. Pure functions.
# ---------------------------------------------------------------------------------------------
class _Entry(NamedTuple):
    """What a path points at: the blob's sha256, its size, content type and metadata."""

    checksum: str
    size: int
    content_type: str
    metadata: tuple[tuple[str, str], ...]

    def to_json(self) -> list[Any]:
        return [self.checksum, self.size, self.content_type, dict(self.metadata)]

    @staticmethod
    def from_json(value: Sequence[Any]) -> _Entry:
        return _Entry(
            str(value[0]), int(value[1]), str(value[2]), tuple(sorted(dict(value[3]).items()))
        )

    def info(self, path: str) -> ObjectInfo:
        return ObjectInfo(path, self.size, self.checksum, self.content_type, dict(self.metadata))


class _Range(NamedTuple):
    paths: list[str]
    entries: list[_Entry]


class _RangeRef(NamedTuple):
    id: str
    first: str
    last: str
    entries: int


class _Tree(NamedTuple):
    id: str
    refs: tuple[_RangeRef, ...]
    lasts: list[str]


_Loader = Callable[[str], _Range]
_Item = tuple[str, _Entry]


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _is_boundary(path: str) -> bool:
    digest = hashlib.blake2b(path.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % _RANGE_SPLIT == 0


def _encode_range(items: Sequence[_Item]) -> bytes:
    return _dumps([[path, *entry.to_json()] for path, entry in items])


def _decode_range(data: bytes) -> _Range:
    rows = json.loads(data)
    return _Range([r[0] for r in rows], [_Entry.from_json(r[1:]) for r in rows])


def _encode_tree(refs: Sequence[_RangeRef]) -> bytes:
    return _dumps([list(r) for r in refs])


def _decode_tree(tree_id: str, data: bytes) -> _Tree:
    refs = tuple(_RangeRef(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in json.loads(data))
    return _Tree(tree_id, refs, [r.last for r in refs])


_EMPTY_TREE_DATA: Final = _encode_tree([])
_EMPTY_TREE_ID: Final = hashlib.sha256(_EMPTY_TREE_DATA).hexdigest()


def _chunk(items: Sequence[_Item]) -> tuple[list[list[_Item]], list[_Item]]:
    """Cut sorted items after every boundary path; the tail has no boundary at its end."""
    chunks: list[list[_Item]] = []
    current: list[_Item] = []
    for item in items:
        current.append(item)
        if _is_boundary(item[0]):
            chunks.append(current)
            current = []
    return chunks, current


def _merge_items(
    items: Sequence[_Item], changes: Sequence[tuple[str, _Entry | None]]
) -> list[_Item]:
    merged = dict(items)
    for path, entry in changes:
        if entry is None:
            merged.pop(path, None)
        else:
            merged[path] = entry
    return sorted(merged.items())


def _apply(
    tree: _Tree, changes: Mapping[str, _Entry | None], load: _Loader
) -> tuple[list[_RangeRef], dict[str, bytes]]:
    """Pure. The ranges of ``tree`` with ``changes`` applied, and the new ranges' bytes.

    Only ranges that receive a change are rewritten (plus, when a boundary path is removed,
    the following range it merges into), so the cost is O(changes * range size + ranges).
    """
    new_ranges: dict[str, bytes] = {}

    def emit(items: Sequence[_Item]) -> _RangeRef:
        data = _encode_range(items)
        range_id = hashlib.sha256(data).hexdigest()
        new_ranges[range_id] = data
        return _RangeRef(range_id, items[0][0], items[-1][0], len(items))

    if not changes:
        return list(tree.refs), new_ranges
    refs = tree.refs
    by_range: defaultdict[int, list[tuple[str, _Entry | None]]] = defaultdict(list)
    for path in sorted(changes):
        by_range[min(bisect_left(tree.lasts, path), len(refs) - 1)].append((path, changes[path]))
    if not refs:
        chunks, tail = _chunk(_merge_items([], by_range[-1]))
        return [emit(c) for c in chunks] + ([emit(tail)] if tail else []), new_ranges
    out: list[_RangeRef] = []
    pending: list[_Item] = []
    for index, ref in enumerate(refs):
        todo = by_range.get(index)
        if todo is None and not pending:
            out.append(ref)
            continue
        loaded = load(ref.id)
        items: list[_Item] = list(zip(loaded.paths, loaded.entries, strict=True))
        if todo:
            items = _merge_items(items, todo)
        chunks, pending = _chunk(pending + items)
        out.extend(emit(c) for c in chunks)
    if pending:
        out.append(emit(pending))
    return out, new_ranges


def _lookup(tree: _Tree, path: str, load: _Loader) -> _Entry | None:
    index = bisect_left(tree.lasts, path)
    if index == len(tree.refs) or tree.refs[index].first > path:
        return None
    loaded = load(tree.refs[index].id)
    at = bisect_left(loaded.paths, path)
    if at < len(loaded.paths) and loaded.paths[at] == path:
        return loaded.entries[at]
    return None


def _iter_prefix(tree: _Tree, prefix: str, load: _Loader) -> Iterator[_Item]:
    for ref in tree.refs[bisect_left(tree.lasts, prefix) :]:
        if ref.first > prefix and not ref.first.startswith(prefix):
            return
        loaded = load(ref.id)
        start = bisect_left(loaded.paths, prefix)
        for path, entry in zip(loaded.paths[start:], loaded.entries[start:], strict=True):
            if not path.startswith(prefix):
                return
            yield path, entry


def _diff(
    left: _Tree, right: _Tree, load: _Loader
) -> dict[str, tuple[_Entry | None, _Entry | None]]:
    """Pure. Every path whose entry differs between two trees, skipping shared ranges."""
    if left.id == right.id:
        return {}
    shared = {r.id for r in left.refs} & {r.id for r in right.refs}

    def unshared(tree: _Tree) -> dict[str, _Entry]:
        found: dict[str, _Entry] = {}
        for ref in tree.refs:
            if ref.id not in shared:
                loaded = load(ref.id)
                found.update(zip(loaded.paths, loaded.entries, strict=True))
        return found

    before, after = unshared(left), unshared(right)
    return {
        path: (before.get(path), after.get(path))
        for path in before.keys() | after.keys()
        if before.get(path) != after.get(path)
    }


def _change(path: str, before: _Entry | None, after: _Entry | None) -> Change:
    if before is None:
        return Change(path, "added")
    if after is None:
        return Change(path, "removed")
    return Change(path, "changed")


# ---------------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------------
class _CommitRow(NamedTuple):
    seq: int
    id: str
    tree: str
    parents: tuple[str, ...]
    message: str
    metadata: dict[str, str]
    created_at: str
    generation: int

    def info(self) -> CommitInfo:
        return CommitInfo(
            self.id,
            self.parents,
            self.message,
            dict(self.metadata),
            datetime.fromisoformat(self.created_at),
        )


class _Prepared(NamedTuple):
    info: CommitInfo
    tree_id: str
    tree_data: bytes
    ranges: dict[str, bytes]
    generation: int


class _BranchRow(NamedTuple):
    name: str
    head: str
    incarnation: int


@dataclasses.dataclass(frozen=True, slots=True)
class GcReport:
    """What :meth:`LocalLake.gc` removed (or would remove, with ``dry_run``)."""

    blobs_deleted: int
    bytes_freed: int
    temp_files_deleted: int
    blobs_kept: int


@dataclasses.dataclass(frozen=True, slots=True)
class FsckReport:
    """What :meth:`LocalLake.fsck` checked, and every problem it found (empty when healthy)."""

    commits: int
    objects: int
    blobs_hashed: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


class _LRU(OrderedDict[str, T]):
    """A small least-recently-used cache for immutable, content-addressed values."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self._size = size

    def get_or(self, key: str, make: Callable[[], T]) -> T:
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = make()
        self[key] = value
        if len(self) > self._size:
            self.popitem(last=False)
        return value


def _now() -> datetime:
    return datetime.now(UTC)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink_quietly(path: str | Path) -> None:
    with suppress(FileNotFoundError):
        os.unlink(path)


# ---------------------------------------------------------------------------------------------
# The adapter
# ---------------------------------------------------------------------------------------------
class LocalLake(NotebookHelpers):
    """Effect. An embedded lake on local disk with lakeFS semantics (see the module docstring).

    Args:
        root: The lake's folder (created by :meth:`create_repository` when missing).
        repository: The repository this handle is bound to (a lakeFS repository id).
        busy_timeout: Seconds to wait for another process's metadata write to finish before
            failing with a retryable ``unavailable`` error.
        durable: ``fsync`` blobs, folders and metadata (default). ``False`` is still safe
            against process crashes (``kill -9``) but not against power loss or an OS crash.

    Raises:
        LakeflowError: ``repository`` is not a valid lakeFS repository id.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as root, LocalLake(root, "example-repo") as lake:
    ...     _ = lake.create_repository()
    ...     _ = lake.put_bytes("main", "hello.txt", b"hi", content_type="text/plain")
    ...     print(lake.commit("main", "say hi").map(lambda c: c.message))
    ...     print(lake.get_bytes("main", "hello.txt"))
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
    ) -> None:
        problem = check_repository_id(repository)
        if problem is not None:
            raise LakeflowError(problem)
        self._root = Path(root).expanduser().absolute()
        self._repo = repository
        self._busy_timeout = busy_timeout
        self._durable = durable
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self._ranges: _LRU[_Range] = _LRU(1024)
        self._trees: _LRU[_Tree] = _LRU(64)
        self._commits: _LRU[_CommitRow] = _LRU(4096)

    def __repr__(self) -> str:
        return f"LocalLake({self.url!r}, repository={self._repo!r})"

    def close(self) -> None:
        """Effect. Close this handle's metadata connection (it reopens on next use)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

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
        return self._root / "tmp"

    # -- plumbing ------------------------------------------------------------------------------
    def _run(self, op: str, body: Callable[[], T]) -> IOResult[T, LakeError]:
        """Run one operation; expected failures and OS/SQLite errors become ``IOFailure``."""
        try:
            return IOSuccess(body())
        except _Refused as refused:
            return IOFailure(LakeError(op, refused.reason, refused.code, refused.retryable))
        except sqlite3.Error as exc:
            error = _sqlite_error(op, exc)
            if error is None:
                raise
            return IOFailure(error)
        except OSError as exc:
            return IOFailure(lake_error_from_os(op, exc, what=f"in the lake at {self.url}"))

    def _connection(self, *, create: bool = False) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        # A connection inherited across fork() must not be used (nor closed) by the child.
        self._conn = None
        db = self._root / _DB_NAME
        if not create and not db.exists():
            raise _Refused(
                "not_found",
                f"no lake at {self.url} (repository {self._repo!r} does not exist; "
                "create it with create_repository())",
            )
        if create:
            for folder in (self._root, self._root / "objects", self._root / "tmp"):
                folder.mkdir(parents=True, exist_ok=True)
        mode = "rwc" if create else "rw"
        conn = sqlite3.connect(
            f"{db.as_uri()}?mode={mode}",
            uri=True,
            timeout=self._busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={'FULL' if self._durable else 'NORMAL'}")
            found = self._format(conn)
            if found is None and create:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(
                        "INSERT OR IGNORE INTO meta (key, value) VALUES ('format', ?)",
                        (str(FORMAT_VERSION),),
                    )
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                found = self._format(conn)
            if found is None:
                raise _Refused(
                    "not_found",
                    f"no lake at {self.url} (repository {self._repo!r} does not exist; "
                    "create it with create_repository())",
                )
            if found > FORMAT_VERSION:
                raise _Refused(
                    "unavailable",
                    f"the lake at {self.url} uses layout format {found}, newer than this "
                    f"lakeflow understands ({FORMAT_VERSION}); upgrade lakeflow",
                )
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._pid = os.getpid()
        return conn

    @staticmethod
    def _format(conn: sqlite3.Connection) -> int | None:
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None
            raise
        return None if row is None else int(row[0])

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot of the metadata (a deferred read transaction)."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")

    @contextmanager
    def _write(self, *, create: bool = False) -> Iterator[sqlite3.Connection]:
        """One atomic metadata change (``BEGIN IMMEDIATE`` … ``COMMIT``)."""
        with self._lock:
            conn = self._connection(create=create)
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise

    def _next_seq(self, conn: sqlite3.Connection) -> int:
        row = conn.execute(
            "UPDATE counter SET value = value + 1 WHERE id = 0 RETURNING value"
        ).fetchone()
        return int(row[0])

    def _where(self) -> str:
        return f"repository {self._repo!r} at {self.url}"

    def _repo_row(self, conn: sqlite3.Connection) -> tuple[str, str]:
        row = conn.execute(
            "SELECT default_branch, created_at FROM repositories WHERE id = ?", (self._repo,)
        ).fetchone()
        if row is None:
            raise _Refused(
                "not_found",
                f"repository {self._repo!r} does not exist at {self.url}; "
                "create it with create_repository()",
            )
        return str(row[0]), str(row[1])

    def _branch_row(self, conn: sqlite3.Connection, name: str) -> _BranchRow:
        row = conn.execute(
            "SELECT head, incarnation FROM branches WHERE repo = ? AND name = ?",
            (self._repo, name),
        ).fetchone()
        if row is None:
            self._repo_row(conn)
            raise _Refused("not_found", f"no branch {name!r} in {self._where()}")
        return _BranchRow(name, str(row[0]), int(row[1]))

    def _commit_row(self, conn: sqlite3.Connection, commit_id: str) -> _CommitRow:
        def fetch() -> _CommitRow:
            row = conn.execute(
                "SELECT seq, id, tree, parents, message, metadata, created_at, generation "
                "FROM commits WHERE repo = ? AND id = ?",
                (self._repo, commit_id),
            ).fetchone()
            if row is None:
                raise _Refused("not_found", f"no commit {commit_id!r} in {self._where()}")
            return _CommitRow(
                int(row[0]),
                str(row[1]),
                str(row[2]),
                tuple(json.loads(row[3])),
                str(row[4]),
                dict(json.loads(row[5])),
                str(row[6]),
                int(row[7]),
            )

        return self._commits.get_or(commit_id, fetch)

    def _tree(self, conn: sqlite3.Connection, tree_id: str) -> _Tree:
        def fetch() -> _Tree:
            row = conn.execute("SELECT data FROM trees WHERE id = ?", (tree_id,)).fetchone()
            if row is None:
                raise _Refused("unavailable", f"the lake is damaged: tree {tree_id} is missing")
            return _decode_tree(tree_id, bytes(row[0]))

        return self._trees.get_or(tree_id, fetch)

    def _loader(self, conn: sqlite3.Connection) -> _Loader:
        def load(range_id: str) -> _Range:
            def fetch() -> _Range:
                row = conn.execute("SELECT data FROM ranges WHERE id = ?", (range_id,)).fetchone()
                if row is None:
                    raise _Refused(
                        "unavailable", f"the lake is damaged: range {range_id} is missing"
                    )
                return _decode_range(bytes(row[0]))

            return self._ranges.get_or(range_id, fetch)

        return load

    def _commit_by_prefix(self, conn: sqlite3.Connection, ref: str) -> str | None:
        if len(ref) < _MIN_PREFIX or len(ref) > 64 or not _HEX.fullmatch(ref):
            return None
        rows = conn.execute(
            "SELECT id FROM commits WHERE repo = ? AND id >= ? AND id < ? ORDER BY id LIMIT 2",
            (self._repo, ref, ref + "g"),
        ).fetchall()
        if len(rows) > 1:
            raise _Refused("invalid", f"commit id prefix {ref!r} is ambiguous in {self._where()}")
        return str(rows[0][0]) if rows else None

    def _resolve(self, conn: sqlite3.Connection, ref: object) -> tuple[str, str | None]:
        """The commit ``ref`` names, and the branch name when ``ref`` is exactly a branch.

        ``ref`` is a branch, a commit id or a unique prefix of one (>= 6 hex digits),
        optionally followed by lakeFS/git ancestry modifiers: ``~N`` (N-th first-parent
        ancestor) and ``^N`` (N-th parent).
        """
        if not isinstance(ref, str) or not ref:
            raise _Refused("invalid", f"a ref must be a non-empty string, got {ref!r}")
        match = _REF.fullmatch(ref)
        if match is None:
            raise _Refused("invalid", f"invalid ref {ref!r}")
        base, mods = match["base"], match["mods"]
        self._repo_row(conn)
        row = conn.execute(
            "SELECT head FROM branches WHERE repo = ? AND name = ?", (self._repo, base)
        ).fetchone()
        branch: str | None = None
        if row is not None:
            commit_id = str(row[0])
            branch = None if mods else base
        else:
            found = self._commit_by_prefix(conn, base)
            if found is None:
                raise _Refused("not_found", f"no branch or commit {base!r} in {self._where()}")
            commit_id = found
        for kind, digits in _MOD.findall(mods):
            count = int(digits) if digits else 1
            if kind == "~":
                for _ in range(count):
                    parents = self._commit_row(conn, commit_id).parents
                    if not parents:
                        raise _Refused("not_found", f"{ref!r} goes past the first commit")
                    commit_id = parents[0]
            elif count:
                parents = self._commit_row(conn, commit_id).parents
                if count > len(parents):
                    raise _Refused("not_found", f"{ref!r}: commit has {len(parents)} parent(s)")
                commit_id = parents[count - 1]
        return commit_id, branch

    def _staged(
        self, conn: sqlite3.Connection, branch: str, *, path: str | None = None, prefix: str = ""
    ) -> dict[str, _Entry | None]:
        if path is not None:
            rows = conn.execute(
                "SELECT path, entry FROM staging WHERE repo = ? AND branch = ? AND path = ?",
                (self._repo, branch, path),
            ).fetchall()
        else:
            rows = conn.execute(
                "SELECT path, entry FROM staging WHERE repo = ? AND branch = ? AND path >= ? "
                "AND substr(path, 1, ?) = ? ORDER BY path",
                (self._repo, branch, prefix, len(prefix), prefix),
            ).fetchall()
        return {
            str(p): None if raw is None else _Entry.from_json(json.loads(raw)) for p, raw in rows
        }

    def _staging_rows(
        self, conn: sqlite3.Connection, branch: str
    ) -> tuple[dict[str, _Entry | None], int]:
        """All staged entries of ``branch`` and the highest sequence number among them."""
        rows = conn.execute(
            "SELECT path, seq, entry FROM staging WHERE repo = ? AND branch = ?",
            (self._repo, branch),
        ).fetchall()
        staged = {
            str(p): None if raw is None else _Entry.from_json(json.loads(raw)) for p, _, raw in rows
        }
        return staged, max((int(s) for _, s, _ in rows), default=0)

    def _effective(
        self, tree: _Tree, staged: Mapping[str, _Entry | None], load: _Loader
    ) -> dict[str, _Entry | None]:
        """Staged entries that differ from ``tree`` (a no-op write or delete is dropped)."""
        return {p: e for p, e in staged.items() if e != _lookup(tree, p, load)}

    def _entry_at(
        self, conn: sqlite3.Connection, at: tuple[str, str | None], path: str
    ) -> _Entry | None:
        commit_id, branch = at
        if branch is not None:
            staged = self._staged(conn, branch, path=path)
            if path in staged:
                return staged[path]
        tree = self._tree(conn, self._commit_row(conn, commit_id).tree)
        return _lookup(tree, path, self._loader(conn))

    def _view_entry(self, conn: sqlite3.Connection, ref: str, path: str) -> _Entry:
        found = self._entry_at(conn, self._resolve(conn, ref), path)
        if found is None:
            raise _Refused("not_found", f"no object {path!r} at {ref!r} in {self._where()}")
        return found

    def _view_prefix(
        self, conn: sqlite3.Connection, at: tuple[str, str | None], prefix: str
    ) -> list[_Item]:
        commit_id, branch = at
        tree = self._tree(conn, self._commit_row(conn, commit_id).tree)
        committed = dict(_iter_prefix(tree, prefix, self._loader(conn)))
        if branch is None:
            return sorted(committed.items())
        for path, entry in self._staged(conn, branch, prefix=prefix).items():
            if entry is None:
                committed.pop(path, None)
            else:
                committed[path] = entry
        return sorted(committed.items())

    def _blob_file(self, checksum: str) -> Path:
        return self._root / "objects" / checksum[:2] / checksum[2:]

    def _prepare(
        self,
        conn: sqlite3.Connection,
        *,
        refs: Sequence[_RangeRef],
        ranges: Mapping[str, bytes],
        parents: tuple[str, ...],
        message: str,
        metadata: Mapping[str, str],
    ) -> _Prepared:
        """Pure given the snapshot: the commit to write, computed before taking the write lock."""
        generation = 1 + max((self._commit_row(conn, p).generation for p in parents), default=0)
        tree_data = _encode_tree(refs)
        tree_id = hashlib.sha256(tree_data).hexdigest()
        created_at = _now().isoformat()
        meta = dict(sorted(metadata.items()))
        commit_id = hashlib.sha256(
            _dumps([self._repo, tree_id, list(parents), message, meta, created_at])
        ).hexdigest()
        info = CommitInfo(commit_id, parents, message, meta, datetime.fromisoformat(created_at))
        return _Prepared(info, tree_id, tree_data, dict(ranges), generation)

    def _save(self, conn: sqlite3.Connection, prepared: _Prepared) -> None:
        """Write a prepared commit, its tree and new ranges (inside the caller's transaction)."""
        conn.executemany(
            "INSERT OR IGNORE INTO ranges (id, data) VALUES (?, ?)", list(prepared.ranges.items())
        )
        conn.execute(
            "INSERT OR IGNORE INTO trees (id, data) VALUES (?, ?)",
            (prepared.tree_id, prepared.tree_data),
        )
        info = prepared.info
        conn.execute(
            "INSERT INTO commits (repo, id, tree, parents, message, metadata, created_at, "
            "generation) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self._repo,
                info.id,
                prepared.tree_id,
                json.dumps(list(info.parents)),
                info.message,
                json.dumps(dict(info.metadata)),
                info.created_at.isoformat(),
                prepared.generation,
            ),
        )

    def _move_head(
        self, conn: sqlite3.Connection, branch: _BranchRow, new_head: str, what: str
    ) -> None:
        """Compare-and-swap ``branch``'s head; a lost race is a retryable conflict."""
        moved = conn.execute(
            "UPDATE branches SET head = ? WHERE repo = ? AND name = ? AND head = ? "
            "AND incarnation = ?",
            (new_head, self._repo, branch.name, branch.head, branch.incarnation),
        ).rowcount
        if moved == 1:
            return
        current = conn.execute(
            "SELECT incarnation FROM branches WHERE repo = ? AND name = ?",
            (self._repo, branch.name),
        ).fetchone()
        if current is None:
            raise _Refused("not_found", f"branch {branch.name!r} was deleted during the {what}")
        raise _Refused(
            "conflict",
            f"branch {branch.name!r} moved during the {what} (a concurrent commit or merge "
            "won the race); retry",
            retryable=True,
        )

    def _merge_base(self, conn: sqlite3.Connection, left: str, right: str) -> str | None:
        """The lowest common ancestor with the highest generation (ties: the newest)."""
        if left == right:
            return left
        flags: dict[str, int] = {left: 1, right: 2}
        heap: list[tuple[int, int, str]] = []
        for commit_id in (left, right):
            row = self._commit_row(conn, commit_id)
            heapq.heappush(heap, (-row.generation, -row.seq, commit_id))
        while heap:
            _, _, commit_id = heapq.heappop(heap)
            mark = flags[commit_id]
            if mark == 3:
                return commit_id
            for parent in self._commit_row(conn, commit_id).parents:
                old = flags.get(parent, 0)
                if old | mark != old:
                    flags[parent] = old | mark
                    if old == 0:
                        row = self._commit_row(conn, parent)
                        heapq.heappush(heap, (-row.generation, -row.seq, parent))
        return None

    # -- repository ---------------------------------------------------------------------------
    def create_repository(
        self, *, default_branch: str = "main", exist_ok: bool = False
    ) -> IOResult[RepositoryInfo, LakeError]:
        """Effect. Create the repository with an empty ``Repository created`` commit."""

        def body() -> RepositoryInfo:
            _check(check_branch_id("create_repository", default_branch))
            with self._write(create=True) as conn:
                row = conn.execute(
                    "SELECT default_branch, created_at FROM repositories WHERE id = ?",
                    (self._repo,),
                ).fetchone()
                if row is not None:
                    if not exist_ok:
                        raise _Refused("conflict", f"{self._where()} already exists")
                    return RepositoryInfo(
                        self._repo, str(row[0]), datetime.fromisoformat(str(row[1]))
                    )
                created = _now()
                first = self._prepare(
                    conn, refs=[], ranges={}, parents=(), message="Repository created", metadata={}
                )
                self._save(conn, first)
                conn.execute(
                    "INSERT INTO repositories (id, default_branch, created_at) VALUES (?, ?, ?)",
                    (self._repo, default_branch, created.isoformat()),
                )
                conn.execute(
                    "INSERT INTO branches (repo, name, head, incarnation) VALUES (?, ?, ?, ?)",
                    (self._repo, default_branch, first.info.id, self._next_seq(conn)),
                )
                return RepositoryInfo(self._repo, default_branch, created)

        return self._run("create_repository", body)

    def get_repository(self) -> IOResult[RepositoryInfo, LakeError]:
        """Effect. The repository's info; ``not_found`` if it was never created."""

        def body() -> RepositoryInfo:
            with self._read() as conn:
                default_branch, created_at = self._repo_row(conn)
            return RepositoryInfo(self._repo, default_branch, datetime.fromisoformat(created_at))

        return self._run("get_repository", body)

    # -- branches and refs --------------------------------------------------------------------
    def create_branch(
        self, name: str, source: str, *, exist_ok: bool = False
    ) -> IOResult[str, LakeError]:
        """Effect. Create ``name`` at ``source``'s commit (staged writes are not carried over)."""

        def body() -> str:
            _check(check_branch_id("create_branch", name))
            with self._write() as conn:
                self._repo_row(conn)
                row = conn.execute(
                    "SELECT head FROM branches WHERE repo = ? AND name = ?", (self._repo, name)
                ).fetchone()
                if row is not None:
                    if exist_ok:
                        return str(row[0])
                    raise _Refused("conflict", f"branch {name!r} already exists in {self._where()}")
                commit_id, _ = self._resolve(conn, source)
                conn.execute(
                    "INSERT INTO branches (repo, name, head, incarnation) VALUES (?, ?, ?, ?)",
                    (self._repo, name, commit_id, self._next_seq(conn)),
                )
                return commit_id

        return self._run("create_branch", body)

    def delete_branch(self, name: str) -> IOResult[None, LakeError]:
        """Effect. Delete a branch and its staged writes; its commits stay readable by id."""

        def body() -> None:
            _check(check_branch_id("delete_branch", name))
            with self._write() as conn:
                default_branch, _ = self._repo_row(conn)
                if name == default_branch:
                    raise _Refused("invalid", f"cannot delete the default branch {name!r}")
                self._branch_row(conn, name)
                conn.execute("DELETE FROM branches WHERE repo = ? AND name = ?", (self._repo, name))
                conn.execute(
                    "DELETE FROM staging WHERE repo = ? AND branch = ?", (self._repo, name)
                )

        return self._run("delete_branch", body)

    def list_branches(self) -> IOResult[tuple[BranchInfo, ...], LakeError]:
        """Effect. All branches, sorted by name."""

        def body() -> tuple[BranchInfo, ...]:
            with self._read() as conn:
                self._repo_row(conn)
                rows = conn.execute(
                    "SELECT name, head FROM branches WHERE repo = ? ORDER BY name", (self._repo,)
                ).fetchall()
            return tuple(BranchInfo(str(n), str(h)) for n, h in rows)

        return self._run("list_branches", body)

    def resolve(self, ref: str) -> IOResult[str, LakeError]:
        """Effect. The commit id ``ref`` names (branch, commit id, prefix, ``~N``/``^N``)."""

        def body() -> str:
            with self._read() as conn:
                return self._resolve(conn, ref)[0]

        return self._run("resolve", body)

    # -- objects ------------------------------------------------------------------------------
    def _checked_put(
        self, op: str, branch: str, path: str, content_type: str, metadata: Mapping[str, str] | None
    ) -> dict[str, str]:
        _check(check_branch_id(op, branch))
        _check(check_path(op, path))
        if not isinstance(content_type, str) or not content_type:
            raise _Refused("invalid", f"content_type must be a non-empty str, got {content_type!r}")
        meta = check_object_metadata(op, metadata)
        if isinstance(meta, LakeError):
            raise _Refused.of(meta)
        with self._read() as conn:
            self._branch_row(conn, branch)  # fail before writing any bytes
        return meta

    def _stage(self, branch: str, path: str, entry: _Entry | None) -> None:
        with self._write() as conn:
            self._branch_row(conn, branch)
            conn.execute(
                "INSERT INTO staging (repo, branch, path, seq, entry) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (repo, branch, path) DO UPDATE SET seq = excluded.seq, "
                "entry = excluded.entry",
                (
                    self._repo,
                    branch,
                    path,
                    self._next_seq(conn),
                    None if entry is None else json.dumps(entry.to_json()),
                ),
            )

    def _install(self, temp: Path, checksum: str) -> None:
        """Atomically publish a complete, synced file as the blob named ``checksum``."""
        target = self._blob_file(checksum)
        if not target.parent.is_dir():
            target.parent.mkdir(parents=True, exist_ok=True)
            if self._durable:
                _fsync_dir(target.parent.parent)
        # Replacing an existing blob is harmless (same bytes) and refreshes its mtime, which
        # keeps a concurrent gc() from deleting it before the write is staged.
        os.replace(temp, target)
        os.chmod(target, 0o444)
        if self._durable:
            _fsync_dir(target.parent)

    def _temp_file(self) -> tuple[BinaryIO, Path]:
        fd, name = tempfile.mkstemp(dir=self._root / "tmp", prefix="put-")
        return os.fdopen(fd, "wb"), Path(name)

    def _sync(self, handle: BinaryIO) -> None:
        handle.flush()
        if self._durable:
            os.fsync(handle.fileno())

    def _blob_from_chunks(self, chunks: Iterable[bytes | memoryview]) -> tuple[str, int]:
        digest = hashlib.sha256()
        size = 0
        handle, temp = self._temp_file()
        try:
            with handle:
                for chunk in chunks:
                    digest.update(chunk)
                    handle.write(chunk)
                    size += len(chunk)
                self._sync(handle)
            checksum = digest.hexdigest()
            self._install(temp, checksum)
        except BaseException:
            _unlink_quietly(temp)
            raise
        return checksum, size

    def _blob_by_move(self, source: Path) -> tuple[str, int] | None:
        """Hash ``source`` once and rename it into the store; ``None`` if it cannot be moved."""
        info = os.lstat(source)
        movable = (
            stat_module.S_ISREG(info.st_mode)
            and info.st_nlink == 1
            and info.st_dev == os.stat(self._root / "tmp").st_dev
        )
        if not movable:
            return None
        digest = hashlib.sha256()
        with open(source, "rb") as handle:
            for chunk in _read_chunks(handle):
                digest.update(chunk)
            if self._durable:
                os.fsync(handle.fileno())
        os.utime(source)  # a fresh mtime protects the blob from a concurrent gc() until staged
        checksum = digest.hexdigest()
        self._install(source, checksum)
        return checksum, info.st_size

    def put_bytes(
        self,
        branch: str,
        path: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> IOResult[ObjectInfo, LakeError]:
        """Effect. Stage an object from bytes on ``branch`` (visible after the next commit)."""

        def body() -> ObjectInfo:
            if not isinstance(data, bytes | bytearray | memoryview):
                raise _Refused("invalid", f"data must be bytes, got {type(data).__name__}")
            meta = self._checked_put("put_bytes", branch, path, content_type, metadata)
            checksum, size = self._blob_from_chunks([memoryview(data)])
            entry = _Entry(checksum, size, content_type, tuple(sorted(meta.items())))
            self._stage(branch, path, entry)
            return entry.info(path)

        return self._run("put_bytes", body)

    def put_file(
        self,
        branch: str,
        path: str,
        source: Path,
        *,
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
            meta = self._checked_put("put_file", branch, path, content_type, metadata)
            src = Path(source)
            try:
                info = os.stat(src)
            except OSError as exc:
                raise _Refused.of(
                    lake_error_from_os("put_file", exc, what=f"source file {str(src)!r}")
                ) from None
            if not stat_module.S_ISREG(info.st_mode):
                raise _Refused("invalid", f"source {str(src)!r} is not a regular file")
            stored = self._blob_by_move(src) if move else None
            if stored is None:
                with open(src, "rb") as handle:
                    stored = self._blob_from_chunks(_read_chunks(handle))
                if move:
                    _unlink_quietly(src)
            checksum, size = stored
            entry = _Entry(checksum, size, content_type, tuple(sorted(meta.items())))
            self._stage(branch, path, entry)
            return entry.info(path)

        return self._run("put_file", body)

    def delete_object(self, branch: str, path: str) -> IOResult[None, LakeError]:
        """Effect. Stage the removal of ``path``; deleting a missing path is a no-op (lakeFS)."""

        def body() -> None:
            _check(check_branch_id("delete_object", branch))
            _check(check_path("delete_object", path))
            self._stage(branch, path, None)

        return self._run("delete_object", body)

    def get_bytes(self, ref: str, path: str) -> IOResult[bytes, LakeError]:
        """Effect. An object's content at ``ref`` (a branch sees its uncommitted writes)."""

        def body() -> bytes:
            _check(check_path("get_bytes", path))
            with self._read() as conn:
                entry = self._view_entry(conn, ref, path)
            return self._read_blob(entry, path)

        return self._run("get_bytes", body)

    def _read_blob(self, entry: _Entry, path: str) -> bytes:
        try:
            return self._blob_file(entry.checksum).read_bytes()
        except FileNotFoundError:
            raise _Refused(
                "unavailable",
                f"the lake is damaged: the blob of {path!r} ({entry.checksum}) is missing; "
                "run fsck()",
            ) from None

    def stat(self, ref: str, path: str) -> IOResult[ObjectInfo, LakeError]:
        """Effect. An object's stats at ``ref``; ``not_found`` if absent."""

        def body() -> ObjectInfo:
            _check(check_path("stat", path))
            with self._read() as conn:
                return self._view_entry(conn, ref, path).info(path)

        return self._run("stat", body)

    def blob_path(self, ref: str, path: str) -> IOResult[Path, LakeError]:
        """Effect. The read-only local file holding an object's bytes (for zero-copy readers)."""

        def body() -> Path:
            _check(check_path("blob_path", path))
            with self._read() as conn:
                return self._blob_file(self._view_entry(conn, ref, path).checksum)

        return self._run("blob_path", body)

    def list_objects(
        self, ref: str, prefix: str = ""
    ) -> IOResult[tuple[ObjectInfo, ...], LakeError]:
        """Effect. Objects whose path starts with ``prefix`` at ``ref``, sorted by path."""

        def body() -> tuple[ObjectInfo, ...]:
            if not isinstance(prefix, str) or prefix.startswith("/"):
                raise _Refused("invalid", f"invalid prefix {prefix!r}: lake paths are relative")
            with self._read() as conn:
                items = self._view_prefix(conn, self._resolve(conn, ref), prefix)
            return tuple(entry.info(path) for path, entry in items)

        return self._run("list_objects", body)

    def scan_frame(self, ref: str, path: str) -> IOResult[pl.LazyFrame, LakeError]:
        """Effect. A lazy frame over a parquet object or every ``*.parquet`` under a folder.

        Zero-copy: Polars scans the blob files in place. A folder's parts are scanned in path
        order; hive-style ``key=value`` folder names are not turned into columns.
        """

        def body() -> pl.LazyFrame:
            target = path[:-1] if isinstance(path, str) and path.endswith("/") else path
            _check(check_path("scan_frame", target))
            with self._read() as conn:
                at = self._resolve(conn, ref)
                entry = self._entry_at(conn, at, target)
                if entry is not None:
                    files = [self._blob_file(entry.checksum)]
                else:
                    parts = self._view_prefix(conn, at, target + "/")
                    files = [
                        self._blob_file(e.checksum) for p, e in parts if p.endswith(".parquet")
                    ]
                if not files:
                    raise _Refused(
                        "not_found",
                        f"no parquet object or folder of *.parquet parts {target!r} at "
                        f"{ref!r} in {self._where()}",
                    )
            return pl.scan_parquet(files, glob=False, hive_partitioning=False)

        return self._run("scan_frame", body)

    # -- commits, merges, history -------------------------------------------------------------
    def uncommitted(self, branch: str) -> IOResult[tuple[Change, ...], LakeError]:
        """Effect. Staged changes on ``branch`` that differ from its head commit."""

        def body() -> tuple[Change, ...]:
            _check(check_branch_id("uncommitted", branch))
            with self._read() as conn:
                row = self._branch_row(conn, branch)
                tree = self._tree(conn, self._commit_row(conn, row.head).tree)
                staged, _ = self._staging_rows(conn, branch)
                load = self._loader(conn)
                changes = self._effective(tree, staged, load)
                return tuple(
                    _change(p, _lookup(tree, p, load), changes[p]) for p in sorted(changes)
                )

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
            _check(check_branch_id("commit", branch))
            if not isinstance(message, str):
                raise _Refused("invalid", f"commit message must be a str, got {message!r}")
            meta = check_metadata("commit", metadata)
            if isinstance(meta, LakeError):
                raise _Refused.of(meta)
            with self._read() as conn:
                row = self._branch_row(conn, branch)
                head = self._commit_row(conn, row.head)
                tree = self._tree(conn, head.tree)
                staged, last_seq = self._staging_rows(conn, branch)
                load = self._loader(conn)
                changes = self._effective(tree, staged, load)
                if not changes and not allow_empty:
                    raise _Refused("invalid", f"no changes to commit on branch {branch!r}")
                refs, ranges = _apply(tree, changes, load)
                prepared = self._prepare(
                    conn,
                    refs=refs,
                    ranges=ranges,
                    parents=(row.head,),
                    message=message,
                    metadata=meta,
                )
            with self._write() as conn:
                self._move_head(conn, row, prepared.info.id, "commit")
                self._save(conn, prepared)
                conn.execute(
                    "DELETE FROM staging WHERE repo = ? AND branch = ? AND seq <= ?",
                    (self._repo, branch, last_seq),
                )
            return prepared.info

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

        Always a new commit with parents ``[dest head, source commit]``. Per path, against the
        merge base: a change on one side wins; the same change on both sides is no conflict;
        different changes are a ``conflict`` (not retryable) unless ``strategy`` picks a side.
        Refused (``invalid``) when ``dest_branch`` has uncommitted changes or when the merge
        would not change it. Losing a race with a concurrent commit or merge into
        ``dest_branch`` is a retryable ``conflict``.
        """

        def body() -> str:
            _check(check_branch_id("merge", dest_branch))
            if strategy not in _STRATEGIES:
                raise _Refused(
                    "invalid",
                    f"unknown merge strategy {strategy!r}; allowed: None, 'dest-wins', "
                    "'source-wins'",
                )
            if not isinstance(message, str):
                raise _Refused("invalid", f"merge message must be a str, got {message!r}")
            meta = check_metadata("merge", metadata)
            if isinstance(meta, LakeError):
                raise _Refused.of(meta)
            with self._read() as conn:
                dest = self._branch_row(conn, dest_branch)
                source_id, _ = self._resolve(conn, source)
                load = self._loader(conn)
                dest_tree = self._tree(conn, self._commit_row(conn, dest.head).tree)
                staged, _ = self._staging_rows(conn, dest_branch)
                if self._effective(dest_tree, staged, load):
                    raise _Refused(
                        "invalid",
                        f"branch {dest_branch!r} has uncommitted changes; commit or reset them "
                        "before merging into it",
                    )
                base_id = self._merge_base(conn, dest.head, source_id)
                base_tree = (
                    self._tree(conn, self._commit_row(conn, base_id).tree)
                    if base_id is not None
                    else _decode_tree(_EMPTY_TREE_ID, _EMPTY_TREE_DATA)
                )
                source_tree = self._tree(conn, self._commit_row(conn, source_id).tree)
                theirs = _diff(base_tree, source_tree, load)
                ours = _diff(base_tree, dest_tree, load)
                changes: dict[str, _Entry | None] = {}
                conflicts: list[str] = []
                for path, (_, after) in theirs.items():
                    if path in ours:
                        if ours[path][1] == after:
                            continue
                        if strategy is None:
                            conflicts.append(path)
                            continue
                        if strategy == "dest-wins":
                            continue
                    changes[path] = after
                if conflicts:
                    conflicts.sort()
                    shown = ", ".join(conflicts[:10])
                    more = f" and {len(conflicts) - 10} more" if len(conflicts) > 10 else ""
                    raise _Refused(
                        "conflict",
                        f"merge conflict: {len(conflicts)} path(s) changed differently on "
                        f"{source!r} and {dest_branch!r} since their merge base "
                        f"{(base_id or '')[:12]}: {shown}{more}; pass strategy='source-wins' "
                        "or 'dest-wins' to pick a side",
                    )
                if not changes:
                    raise _Refused(
                        "invalid",
                        f"nothing to merge: {source!r} has no changes for {dest_branch!r}",
                    )
                refs, ranges = _apply(dest_tree, changes, load)
                prepared = self._prepare(
                    conn,
                    refs=refs,
                    ranges=ranges,
                    parents=(dest.head, source_id),
                    message=message or f"Merge '{source}' into '{dest_branch}'",
                    metadata={**meta, _MERGE_STRATEGY_KEY: strategy or "default"},
                )
            with self._write() as conn:
                self._move_head(conn, dest, prepared.info.id, "merge")
                staged_now, _ = self._staging_rows(conn, dest_branch)
                if self._effective(dest_tree, staged_now, self._loader(conn)):
                    raise _Refused(
                        "invalid",
                        f"branch {dest_branch!r} received uncommitted changes during the merge",
                    )
                self._save(conn, prepared)
                # Only no-op staged entries can remain here; relative to the new head they
                # would become changes, so they go.
                conn.execute(
                    "DELETE FROM staging WHERE repo = ? AND branch = ?", (self._repo, dest_branch)
                )
            return prepared.info.id

        return self._run("merge", body)

    def log_commits(
        self, ref: str, *, limit: int | None = None
    ) -> IOResult[tuple[CommitInfo, ...], LakeError]:
        """Effect. Commits reachable from ``ref``, newest first (children before parents)."""

        def body() -> tuple[CommitInfo, ...]:
            if limit is not None and (not isinstance(limit, int) or limit < 0):
                raise _Refused("invalid", f"limit must be a non-negative int, got {limit!r}")
            with self._read() as conn:
                start, _ = self._resolve(conn, ref)
                found: list[CommitInfo] = []
                heap = [(-self._commit_row(conn, start).seq, start)]
                seen = {start}
                while heap and (limit is None or len(found) < limit):
                    _, commit_id = heapq.heappop(heap)
                    row = self._commit_row(conn, commit_id)
                    found.append(row.info())
                    for parent in row.parents:
                        if parent not in seen:
                            seen.add(parent)
                            heapq.heappush(heap, (-self._commit_row(conn, parent).seq, parent))
                return tuple(found)

        return self._run("log", body)

    def diff(self, left: str, right: str) -> IOResult[tuple[Change, ...], LakeError]:
        """Effect. Changes on ``right`` since its merge base with ``left`` (three-dot diff)."""

        def body() -> tuple[Change, ...]:
            with self._read() as conn:
                left_id, _ = self._resolve(conn, left)
                right_id, _ = self._resolve(conn, right)
                base_id = self._merge_base(conn, left_id, right_id)
                load = self._loader(conn)
                base_tree = (
                    self._tree(conn, self._commit_row(conn, base_id).tree)
                    if base_id is not None
                    else _decode_tree(_EMPTY_TREE_ID, _EMPTY_TREE_DATA)
                )
                right_tree = self._tree(conn, self._commit_row(conn, right_id).tree)
                changes = _diff(base_tree, right_tree, load)
            return tuple(_change(p, *changes[p]) for p in sorted(changes))

        return self._run("diff", body)

    # -- maintenance --------------------------------------------------------------------------
    def gc(
        self, *, grace: timedelta = timedelta(hours=1), dry_run: bool = False
    ) -> IOResult[GcReport, LakeError]:
        """Effect. Delete blobs and temp files nothing references, older than ``grace``.

        Works on the whole lake folder (every repository in it): blobs are shared. A blob is
        kept while any commit (of any branch, deleted or not) or any staged write refers to it,
        so this frees lost races, overwritten staged writes and crashed writes — never data a
        commit can still show. ``grace`` protects writes in flight in other processes.
        """

        def body() -> GcReport:
            cutoff = time.time() - grace.total_seconds()
            with self._read() as conn:
                live = self._referenced_blobs(conn)
            deleted = freed = kept = 0
            objects = self._root / "objects"
            folders = sorted(f for f in objects.iterdir() if f.is_dir()) if objects.is_dir() else []
            for folder in folders:
                for blob in folder.iterdir():
                    name = folder.name + blob.name
                    info = blob.stat()
                    if name in live or info.st_mtime > cutoff:
                        kept += 1
                        continue
                    deleted += 1
                    freed += info.st_size
                    if not dry_run:
                        _unlink_quietly(blob)
            temps = 0
            for temp in (self._root / "tmp").glob("put-*"):
                if temp.stat().st_mtime <= cutoff:
                    temps += 1
                    if not dry_run:
                        _unlink_quietly(temp)
            return GcReport(deleted, freed, temps, kept)

        return self._run("gc", body)

    def _referenced_blobs(self, conn: sqlite3.Connection) -> set[str]:
        load = self._loader(conn)
        range_ids: set[str] = set()
        for (tree_id,) in conn.execute("SELECT DISTINCT tree FROM commits").fetchall():
            range_ids.update(r.id for r in self._tree(conn, str(tree_id)).refs)
        live: set[str] = set()
        for range_id in range_ids:
            live.update(e.checksum for e in load(range_id).entries)
        for (raw,) in conn.execute("SELECT entry FROM staging WHERE entry IS NOT NULL"):
            live.add(str(json.loads(raw)[0]))
        return live

    def fsck(self, *, deep: bool = False) -> IOResult[FsckReport, LakeError]:
        """Effect. Check every branch, commit, tree and blob of this repository.

        Every branch head and commit parent must exist, every tree and range must be stored,
        and every committed or staged object's blob must exist with the recorded size (and,
        with ``deep``, the recorded sha256). Problems are reported, not raised.
        """

        def body() -> FsckReport:
            problems: list[str] = []
            checked: dict[str, tuple[str, int]] = {}
            with self._read() as conn:
                self._repo_row(conn)
                load = self._loader(conn)
                commits = conn.execute(
                    "SELECT id, tree, parents FROM commits WHERE repo = ?", (self._repo,)
                ).fetchall()
                known = {str(c[0]) for c in commits}
                for name, head in conn.execute(
                    "SELECT name, head FROM branches WHERE repo = ?", (self._repo,)
                ).fetchall():
                    if head not in known:
                        problems.append(f"branch {name!r} points at missing commit {head}")
                for commit_id, tree_id, parents in commits:
                    problems.extend(
                        f"commit {commit_id} has missing parent {p}"
                        for p in json.loads(parents)
                        if p not in known
                    )
                    try:
                        tree = self._tree(conn, str(tree_id))
                        for ref in tree.refs:
                            loaded = load(ref.id)
                            for path, entry in zip(loaded.paths, loaded.entries, strict=True):
                                checked.setdefault(entry.checksum, (path, entry.size))
                    except _Refused as refused:
                        problems.append(f"commit {commit_id}: {refused.reason}")
                for path, raw in conn.execute(
                    "SELECT path, entry FROM staging WHERE repo = ? AND entry IS NOT NULL",
                    (self._repo,),
                ).fetchall():
                    entry = _Entry.from_json(json.loads(raw))
                    checked.setdefault(entry.checksum, (str(path), entry.size))
            hashed = 0
            for checksum, (path, size) in sorted(checked.items()):
                blob = self._blob_file(checksum)
                try:
                    actual = blob.stat().st_size
                except FileNotFoundError:
                    problems.append(f"blob {checksum} of {path!r} is missing")
                    continue
                if actual != size:
                    problems.append(f"blob {checksum} of {path!r} has {actual} bytes, not {size}")
                elif deep:
                    hashed += 1
                    with open(blob, "rb") as handle:
                        digest = hashlib.sha256()
                        for chunk in _read_chunks(handle):
                            digest.update(chunk)
                    if digest.hexdigest() != checksum:
                        problems.append(f"blob {checksum} of {path!r} does not match its hash")
            return FsckReport(len(commits), len(checked), hashed, tuple(problems))

        return self._run("fsck", body)


def _read_chunks(handle: io.BufferedReader) -> Iterator[memoryview]:
    """Effect. Stream a file in 1 MiB chunks through one reused buffer."""
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    while True:
        count = handle.readinto(buffer)
        if not count:
            return
        yield view[:count]
