"""The SQLite metadata of a LocalLake: repositories, branches, commits, staging, trees, ranges.

Effectful. ``ROOT/lake.sqlite3`` (WAL mode) holds every repository of a lake folder:
``repositories``, ``branches`` (name → head commit, plus an incarnation number so a deleted and
re-created branch is a different branch), ``commits`` (id, tree, parents, message, metadata,
UTC time, generation), ``staging`` (branch, path → entry or tombstone, with a sequence number),
``trees`` and ``ranges`` (content-addressed, see :mod:`lakeflow.adapters.local.trees`).

Opening tells three states apart, and never mistakes one for another:

* **no lake** — no metadata file and no ``objects/`` folder (or an empty file left by a create
  that never finished): reads are ``not_found`` saying so, and creating starts a lake;
* **a lake** — the file holds the schema; a newer layout format is refused;
* **damage** — ``objects/`` exists (a created lake) but the metadata file is missing, empty,
  not a database or without its schema, or a stored tree, range or commit does not hash to its
  id: ``corrupt``, naming the file, and nothing creates a new lake over it.

A lake folder this process cannot write (a read-only filesystem or folder) is opened read-only
(``mode=ro``, or ``immutable=1`` when no write-ahead log is pending, since SQLite cannot create
its shared-memory file there); every write is then refused with ``read_only`` up front. An
immutable connection assumes nobody writes the lake; a writer elsewhere (another mount, the
folder's owner) starts a write-ahead log, and the next read reconnects with ``mode=ro``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Final, NamedTuple, TypeVar

from lakeflow.adapters.local.failures import Refused, damaged
from lakeflow.adapters.local.trees import Loader, Range, Tree, decode_range, decode_tree, dumps
from lakeflow.ports import CommitInfo

__all__ = [
    "DB_NAME",
    "FORMAT_VERSION",
    "BranchRow",
    "CommitRow",
    "Metadata",
    "commit_id",
]

T = TypeVar("T")

FORMAT_VERSION: Final = 1
"""Version of the on-disk layout; a lake written by a newer format is refused, not guessed at."""

DB_NAME: Final = "lake.sqlite3"

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


def commit_id(
    repo: str,
    tree_id: str,
    parents: tuple[str, ...],
    message: str,
    meta: object,
    *,
    created_at: str,
) -> str:
    """Pure. A commit's id: the sha256 of what it records (so a stored commit is verifiable)."""
    return hashlib.sha256(
        dumps([repo, tree_id, list(parents), message, meta, created_at])
    ).hexdigest()


class CommitRow(NamedTuple):
    """A stored commit."""

    seq: int
    id: str
    tree: str
    parents: tuple[str, ...]
    message: str
    metadata: dict[str, str]
    created_at: str
    generation: int

    def info(self) -> CommitInfo:
        """Pure. The port's view of the commit."""
        return CommitInfo(
            self.id,
            self.parents,
            self.message,
            dict(self.metadata),
            datetime.fromisoformat(self.created_at),
        )


class BranchRow(NamedTuple):
    """A branch as read in a snapshot (its head and incarnation, for compare-and-swap)."""

    name: str
    head: str
    incarnation: int


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


class Metadata:
    """Effect. The metadata database of one lake folder, seen through one repository.

    Thread-safe through one lock (one connection per process; re-opened after ``fork``).
    """

    def __init__(
        self, root: Path, repo: str, url: str, *, busy_timeout: float, durable: bool
    ) -> None:
        self.root = root
        self.repo = repo
        self.url = url
        self.db = root / DB_NAME
        self._busy_timeout = busy_timeout
        self._durable = durable
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self._read_only: str | None = None
        self._immutable = False
        self._ranges: _LRU[Range] = _LRU(1024)
        self._trees: _LRU[Tree] = _LRU(64)
        self._commits: _LRU[CommitRow] = _LRU(4096)

    def close(self) -> None:
        """Effect. Close the connection (it reopens on next use)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def forget(self) -> None:
        """Effect. Drop the caches of verified commits, trees and ranges (``fsck`` re-reads)."""
        with self._lock:
            self._ranges.clear()
            self._trees.clear()
            self._commits.clear()

    # -- opening ------------------------------------------------------------------------------
    def _no_lake(self, detail: str) -> Refused:
        return Refused(
            "not_found",
            f"no lake at {self.url}: {detail}; check the lake URL, or create the lake with "
            f"`lakeflow init CONFIG` (create_repository() from Python)",
        )

    def _damaged(self, detail: str) -> Refused:
        return Refused("corrupt", damaged(self.db, detail))

    def _why_read_only(self) -> str | None:
        """Why this process cannot write the lake folder, or ``None`` when it can."""
        targets = [self.root] + ([self.db] if self.db.exists() else [])
        if all(os.access(t, os.W_OK) for t in targets):
            return None
        with suppress(OSError):
            if os.statvfs(self.root).f_flag & os.ST_RDONLY:
                return f"{self.root} is on a read-only filesystem"
        return f"this user ({os.getuid()}) may not write {self.root}"

    @property
    def read_only(self) -> str | None:
        """Effect. Why the lake cannot be written here, or ``None`` (opens the lake)."""
        with self._lock:
            self._connection()
            return self._read_only

    def _refuse_writes(self, reason: str, what: str) -> Refused:
        return Refused(
            "read_only",
            f"the lake at {self.url} is read-only here ({reason}): {what} needs to write. "
            "Reading works; write from a process that may write the lake folder.",
        )

    def require_writable(self, what: str) -> None:
        """Effect. Raise a ``read_only`` refusal (before any write) when the lake is read-only."""
        reason = self.read_only
        if reason is not None:
            raise self._refuse_writes(reason, what)

    def _connection(self, *, create: bool = False) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        # A connection inherited across fork() must not be used (nor closed) by the child.
        self._conn = None
        created = (self.root / "objects").is_dir()
        if not self.db.exists():
            if created:
                raise self._damaged(f"its metadata file {self.db} is missing")
            if not create:
                state = f"holds no {DB_NAME}" if self.root.exists() else "does not exist"
                raise self._no_lake(f"{self.root} {state}")
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        read_only = self._why_read_only()
        if create and read_only is not None:
            raise self._refuse_writes(read_only, "creating the lake")
        conn = self._connect(read_only)
        try:
            found = self._format(conn)
            if found is None and created:
                size = self.db.stat().st_size
                raise self._damaged(
                    f"its metadata file {self.db} ({size} bytes) holds no lake although the lake "
                    "was created"
                )
            if read_only is None:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(f"PRAGMA synchronous={'FULL' if self._durable else 'NORMAL'}")
            if found is None and create:
                self._create_schema(conn)
                found = FORMAT_VERSION
            if found is None:
                raise self._no_lake(f"{self.db} holds no lake (a create that never finished?)")
            if found > FORMAT_VERSION:
                raise Refused(
                    "unavailable",
                    f"the lake at {self.url} uses layout format {found}, newer than this "
                    f"lakeflow understands ({FORMAT_VERSION}); upgrade lakeflow",
                )
            if create:
                for folder in (self.root / "objects", self.root / "tmp"):
                    folder.mkdir(exist_ok=True)
        except BaseException:
            conn.close()
            raise
        self._conn, self._pid, self._read_only = conn, os.getpid(), read_only
        return conn

    def _wal_pending(self) -> bool:
        wal = self.db.with_name(DB_NAME + "-wal")
        try:
            return wal.stat().st_size > 0
        except FileNotFoundError:
            return False

    def _connect(self, read_only: str | None) -> sqlite3.Connection:
        if read_only is None:
            query = "mode=rwc"
        else:
            # SQLite cannot create the -shm file here; with no pending log the file is all.
            query = "mode=ro" if self._wal_pending() else "mode=ro&immutable=1"
        self._immutable = query.endswith("immutable=1")
        return sqlite3.connect(
            f"{self.db.as_uri()}?{query}",
            uri=True,
            timeout=self._busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )

    def _create_schema(self, conn: sqlite3.Connection) -> None:
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

    def _format(self, conn: sqlite3.Connection) -> int | None:
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None
            raise
        if row is None:
            raise self._damaged(f"its metadata file {self.db} has no layout format")
        try:
            return int(row[0])
        except (TypeError, ValueError):
            raise self._damaged(f"its metadata file {self.db} has format {row[0]!r}") from None

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """Effect. A consistent snapshot of the metadata (a deferred read transaction)."""
        with self._lock:
            if self._immutable and self._conn is not None and self._wal_pending():
                self.close()  # a writer appeared: see its log (mode=ro) instead of a stale file
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")

    @contextmanager
    def write(self, what: str, *, create: bool = False) -> Iterator[sqlite3.Connection]:
        """Effect. One atomic metadata change (``BEGIN IMMEDIATE`` … ``COMMIT``)."""
        with self._lock:
            conn = self._connection(create=create)
            self.require_writable(what)
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise

    # -- rows ---------------------------------------------------------------------------------
    def where(self) -> str:
        """Pure. How errors name this repository."""
        return f"repository {self.repo!r} at {self.url}"

    def next_seq(self, conn: sqlite3.Connection) -> int:
        """Effect (in a write). The next value of the lake-wide sequence."""
        row = conn.execute(
            "UPDATE counter SET value = value + 1 WHERE id = 0 RETURNING value"
        ).fetchone()
        return int(row[0])

    def repo_row(self, conn: sqlite3.Connection) -> tuple[str, str]:
        """Effect. The repository's default branch and creation time; ``not_found`` if absent."""
        row = conn.execute(
            "SELECT default_branch, created_at FROM repositories WHERE id = ?", (self.repo,)
        ).fetchone()
        if row is None:
            raise Refused(
                "not_found",
                f"repository {self.repo!r} does not exist in the lake at {self.url}; create it "
                "with `lakeflow init CONFIG` (create_repository() from Python)",
            )
        return str(row[0]), str(row[1])

    def branch_row(self, conn: sqlite3.Connection, name: str) -> BranchRow:
        """Effect. A branch's head and incarnation; ``not_found`` if absent."""
        row = conn.execute(
            "SELECT head, incarnation FROM branches WHERE repo = ? AND name = ?",
            (self.repo, name),
        ).fetchone()
        if row is None:
            self.repo_row(conn)
            raise Refused("not_found", f"no branch {name!r} in {self.where()}")
        return BranchRow(name, str(row[0]), int(row[1]))

    def commit_row(
        self, conn: sqlite3.Connection, commit: str, *, referenced_by: str = ""
    ) -> CommitRow:
        """Effect. A stored commit, verified against its id.

        Missing is ``not_found`` for a commit asked for by id, ``corrupt`` when something in the
        lake (``referenced_by``: a branch head, a parent) points at it.
        """

        def fetch() -> CommitRow:
            row = conn.execute(
                "SELECT seq, id, tree, parents, message, metadata, created_at, generation "
                "FROM commits WHERE repo = ? AND id = ?",
                (self.repo, commit),
            ).fetchone()
            if row is None:
                if referenced_by:
                    raise self._damaged(f"{referenced_by} points at missing commit {commit}")
                raise Refused("not_found", f"no commit {commit!r} in {self.where()}")
            try:
                found = CommitRow(
                    int(row[0]),
                    str(row[1]),
                    str(row[2]),
                    tuple(str(p) for p in json.loads(row[3])),
                    str(row[4]),
                    {str(k): str(v) for k, v in json.loads(row[5]).items()},
                    str(row[6]),
                    int(row[7]),
                )
            except (ValueError, TypeError, AttributeError):
                raise self._damaged(f"commit {commit} cannot be decoded") from None
            expected = commit_id(
                self.repo,
                found.tree,
                found.parents,
                found.message,
                found.metadata,
                created_at=found.created_at,
            )
            if expected != commit:
                raise self._damaged(f"commit {commit} does not match its id (its record changed)")
            return found

        return self._commits.get_or(commit, fetch)

    def tree(self, conn: sqlite3.Connection, tree_id: str) -> Tree:
        """Effect. A stored tree, verified against its id."""

        def fetch() -> Tree:
            row = conn.execute("SELECT data FROM trees WHERE id = ?", (tree_id,)).fetchone()
            if row is None:
                raise self._damaged(f"tree {tree_id} is missing")
            data = bytes(row[0])
            if hashlib.sha256(data).hexdigest() != tree_id:
                raise self._damaged(f"tree {tree_id} does not match its id")
            return decode_tree(tree_id, data)

        return self._trees.get_or(tree_id, fetch)

    def loader(self, conn: sqlite3.Connection) -> Loader:
        """Effect. Loads ranges by id in this snapshot, verified against their ids."""

        def load(range_id: str) -> Range:
            def fetch() -> Range:
                row = conn.execute("SELECT data FROM ranges WHERE id = ?", (range_id,)).fetchone()
                if row is None:
                    raise self._damaged(f"range {range_id} is missing")
                data = bytes(row[0])
                if hashlib.sha256(data).hexdigest() != range_id:
                    raise self._damaged(f"range {range_id} does not match its id")
                return decode_range(data)

            return self._ranges.get_or(range_id, fetch)

        return load
