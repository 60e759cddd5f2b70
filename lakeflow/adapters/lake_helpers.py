"""Helpers every Lake adapter shares: input checks, OS-error translation and notebook helpers.

The checks are pure and return a :class:`LakeError` value (or ``None`` when the input is fine)
so that ``LocalLake`` and a lakeFS adapter reject the same inputs with the same codes, before
any effect. :class:`NotebookHelpers` implements the port's notebook methods (``scan``,
``head``, ``branches``, ``log``) on top of the ``IOResult`` methods, turning failures into
a :class:`LakeflowError` whose message says what exists instead (nearby paths, branches).

>>> check_path("put_bytes", "data/users/part-1.parquet") is None
True
>>> check_path("put_bytes", "data/../secret").code
'invalid'
>>> check_branch_id("create_branch", "feature/x").code
'invalid'
"""

from __future__ import annotations

import difflib
import errno
import re
from collections.abc import Mapping
from typing import Final, TypeVar

from lakeflow.core.errors import LakeError
from lakeflow.ports import unwrap_io  # re-exported: adapters and tests import it here

__all__ = [
    "REPOSITORY_ID",
    "check_branch_id",
    "check_metadata",
    "check_object_metadata",
    "check_path",
    "check_repository_id",
    "lake_error_from_os",
    "nearby",
    "unwrap_io",
]

T = TypeVar("T")
E = TypeVar("E")

REPOSITORY_ID: Final = re.compile(r"[a-z0-9][a-z0-9-]{2,62}")
"""lakeFS repository ids: 3-63 characters, lowercase letters, digits and dashes."""

_BRANCH_ID: Final = re.compile(r"\w[-\w]*", re.ASCII)  # lakeFS (Go RE2) \w is ASCII-only
_HEADER_TOKEN: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # Unicode Cc: C0, DEL, C1
_HEADER_VALUE: Final = re.compile(r"(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?")
"""Printable ASCII that survives an HTTP header: servers strip a value's outer spaces."""


def check_repository_id(repository: object) -> str | None:
    """Pure. Why ``repository`` is not a valid lakeFS repository id, or ``None`` if it is."""
    if isinstance(repository, str) and REPOSITORY_ID.fullmatch(repository):
        return None
    return (
        f"invalid repository id {repository!r}: lakeFS repository ids are 3-63 characters of "
        "lowercase letters, digits and '-', starting with a letter or digit"
    )


def check_branch_id(op: str, name: object) -> LakeError | None:
    """Pure. An ``invalid`` error unless ``name`` is a lakeFS branch id (``^\\w[-\\w]*$``)."""
    if isinstance(name, str) and _BRANCH_ID.fullmatch(name):
        return None
    return LakeError(
        op,
        f"invalid branch id {name!r}: lakeFS branch ids match ^\\w[-\\w]*$ "
        "(letters, digits, '_' and '-'; no '/' or '.')",
        "invalid",
    )


def check_path(op: str, path: object) -> LakeError | None:
    """Pure. An ``invalid`` error unless ``path`` is a relative POSIX path without ``.``/``..``.

    Valid paths have no leading ``/``, no empty segment (``a//b``, trailing ``/``), no ``.`` or
    ``..`` segment and no control characters, so every path names exactly one object.
    """
    if not isinstance(path, str):
        return LakeError(op, f"object path must be a string, got {type(path).__name__}", "invalid")
    problem = None
    if not path:
        problem = "it is empty"
    elif path.startswith("/"):
        problem = "it starts with '/' (lake paths are relative)"
    elif _CONTROL.search(path):
        problem = "it contains a control character"
    else:
        segments = path.split("/")
        if any(s == "" for s in segments):
            problem = "it has an empty segment ('//' or a trailing '/')"
        elif any(s in {".", ".."} for s in segments):
            problem = "it has a '.' or '..' segment"
    if problem is None:
        return None
    return LakeError(op, f"invalid object path {path!r}: {problem}", "invalid")


def check_metadata(
    op: str, metadata: object, *, what: str = "commit metadata"
) -> dict[str, str] | LakeError:
    """Pure. ``metadata`` as a plain ``dict[str, str]``, or ``invalid`` if a key/value is not a str.

    lakeFS stores metadata as string→string; its SDK fails on anything else, so lakeflow refuses
    it up front instead of silently calling ``str()`` on it.
    """
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        return LakeError(op, f"{what} must be a mapping of str to str", "invalid")
    bad = [
        f"{k!r}: {type(v).__name__}"
        for k, v in metadata.items()
        if not isinstance(k, str) or not isinstance(v, str)
    ]
    checked = {str(k): str(v) for k, v in metadata.items()}
    if bad:
        shown = ", ".join(bad[:5])
        return LakeError(
            op,
            f"{what} must map str to str; convert these entries to strings first: {shown}",
            "invalid",
        )
    return checked


def check_object_metadata(op: str, metadata: object) -> dict[str, str] | LakeError:
    """Pure. Object metadata as every lake stores it: checked, with lower-cased keys.

    Like :func:`check_metadata`, and keys/values must also survive as HTTP headers: lakeFS
    carries object metadata in ``x-lakefs-meta-<key>`` headers, so keys must be HTTP tokens and
    values printable ASCII (a newline would split the header; non-ASCII does not survive HTTP
    clients' header encoding). HTTP header names are case-insensitive and lakeFS stores them
    lower-cased, so every lake lower-cases the keys (a pipeline reads the same metadata back on
    the embedded lake and on lakeFS), and keys that differ only by case are refused rather than
    silently merged. Commit metadata has none of these limits.

    >>> check_object_metadata("put", {"Run-Id": "r1"})
    {'run-id': 'r1'}
    >>> check_object_metadata("put", {"K": "1", "k": "2"}).code
    'invalid'
    """
    checked = check_metadata(op, metadata, what="object metadata")
    if isinstance(checked, LakeError):
        return checked
    bad_keys = [k for k in checked if not _HEADER_TOKEN.fullmatch(k)]
    bad_values = [k for k, v in checked.items() if not _HEADER_VALUE.fullmatch(v)]
    if bad_keys:
        return LakeError(
            op,
            f"object metadata keys must be HTTP header tokens (letters, digits, -_.!#$%&'*+^`|~): "
            f"{', '.join(repr(k) for k in bad_keys[:5])}",
            "invalid",
        )
    if bad_values:
        return LakeError(
            op,
            "object metadata values must be printable ASCII without spaces at either end "
            "(HTTP headers drop those; no newlines or other control characters, no "
            "non-ASCII): "
            f"{', '.join(repr(k) for k in bad_values[:5])}",
            "invalid",
        )
    lowered = {key.lower(): value for key, value in checked.items()}
    if len(lowered) != len(checked):
        return LakeError(
            op,
            "object metadata keys must differ by more than case: lakes store them lower-cased",
            "invalid",
        )
    return lowered


_RETRYABLE_ERRNOS: Final = frozenset(
    {errno.EAGAIN, errno.EINTR, errno.EBUSY, errno.ETIMEDOUT, errno.ESTALE}
)
_FULL_ERRNOS: Final = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_DENIED_ERRNOS: Final = frozenset({errno.EACCES, errno.EPERM})


def lake_error_from_os(op: str, exc: OSError, *, what: str = "") -> LakeError:
    """Pure. Translate an ``OSError`` met while doing ``op`` into a :class:`LakeError` value.

    Disk full / quota → ``unavailable`` (not retryable: waiting will not free space); permission
    denied → ``auth``; a read-only filesystem → ``read_only``; a missing local source file →
    ``not_found``; a directory where a file was expected → ``invalid``; transient errors
    (EAGAIN, EINTR, EBUSY, ETIMEDOUT, ESTALE) → ``unavailable`` and retryable; anything else →
    ``unavailable``.
    """
    target = f" {what}" if what else ""
    detail = exc.strerror or str(exc)
    where = f" ({exc.filename})" if exc.filename else ""
    code = exc.errno
    if code in _FULL_ERRNOS:
        return LakeError(op, f"no space left writing{target}: {detail}{where}", "unavailable")
    if code in _DENIED_ERRNOS:
        return LakeError(op, f"permission denied{target}: {detail}{where}", "auth")
    if code == errno.ENOENT:
        return LakeError(op, f"not found{target}: {detail}{where}", "not_found")
    if code in {errno.EISDIR, errno.ENOTDIR, errno.ENAMETOOLONG}:
        return LakeError(op, f"invalid{target}: {detail}{where}", "invalid")
    if code == errno.EROFS:
        return LakeError(op, f"read-only file system{target}: {detail}{where}", "read_only")
    return LakeError(
        op,
        f"I/O error{target}: {detail}{where}",
        "unavailable",
        retryable=code in _RETRYABLE_ERRNOS,
    )


def nearby(wanted: str, candidates: list[str], *, n: int = 5) -> list[str]:
    """Pure. Up to ``n`` candidates that look like ``wanted`` (for "did you mean" messages)."""
    close = difflib.get_close_matches(wanted, candidates, n=n, cutoff=0.5)
    if close:
        return close
    head = wanted.split("/", 1)[0]
    return [c for c in candidates if c.startswith(head)][:n]
