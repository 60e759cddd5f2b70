"""How LocalLake's parts report an expected failure, and SQLite errors translated to LakeErrors.

Pure. Inside an operation, the blob store, the metadata and the trees raise :class:`Refused`
with a :class:`~lakeflow.core.errors.LakeError` code; ``LocalLake`` turns it (and OS and SQLite
errors) into ``IOFailure(LakeError)`` at the operation's boundary, so nothing escapes as an
exception but bugs.

>>> Refused("corrupt", "blob 00ab is damaged").to_error("get_bytes").message
'lake get_bytes failed (corrupt): blob 00ab is damaged'
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lakeflow.core.errors import LakeError, LakeErrorCode

__all__ = ["Refused", "check", "damaged", "sqlite_error"]


class Refused(Exception):  # noqa: N818 - carries an expected failure to the op boundary
    """An expected failure inside an operation; LocalLake returns it as a LakeError value."""

    def __init__(self, code: LakeErrorCode, reason: str, *, retryable: bool = False) -> None:
        super().__init__(reason)
        self.code: LakeErrorCode = code
        self.reason = reason
        self.retryable = retryable

    @classmethod
    def of(cls, error: LakeError) -> Refused:
        """Pure. Carry an already-built error value."""
        return cls(error.code, error.reason, retryable=error.retryable)

    def to_error(self, op: str) -> LakeError:
        """Pure. The value the operation ``op`` returns."""
        return LakeError(op, self.reason, self.code, self.retryable)


def damaged(db: Path, detail: str) -> str:
    """Pure. What a damaged-metadata error says: what is wrong and what to do (never init)."""
    return (
        f"the lake at {db.parent} is damaged: {detail}; its blobs in {db.parent / 'objects'} are "
        f"intact — restore {db.name} from a backup. Nothing was changed, and no new lake will "
        "be created over the data."
    )


def check(error: LakeError | None) -> None:
    """Raise :class:`Refused` for an input check's error; nothing when the input was fine."""
    if error is not None:
        raise Refused.of(error)


def sqlite_error(op: str, exc: sqlite3.Error, db: Path) -> LakeError | None:
    """Pure. Translate an operational SQLite error met on ``db``; ``None`` for our bugs.

    Busy/locked past the timeout → retryable ``unavailable``; disk full → ``unavailable``;
    read-only → ``read_only``; permission → ``auth``; not a database / corrupt → ``corrupt``
    naming the file.
    """
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
    if primary == sqlite3.SQLITE_READONLY:
        return LakeError(op, f"the lake's metadata {db} cannot be written ({text})", "read_only")
    if primary in {sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH}:
        return LakeError(op, f"permission denied on the lake's metadata {db} ({text})", "auth")
    if primary in {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}:
        return LakeError(op, damaged(db, f"its metadata file {db} is damaged ({text})"), "corrupt")
    return LakeError(op, f"the lake's metadata database {db} failed ({text})", "unavailable")
