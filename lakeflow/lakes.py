"""Open a lake from its URL, and the notebook helpers that live beside the Lake port.

Effect. :func:`open_lake` builds the adapter for a URL (no I/O until the lake is used) and
returns a :class:`LakeHandle`: the :class:`~lakeflow.ports.Lake` itself (``handle.lake``, for
the ``IOResult`` operations) plus raising helpers for notebooks — ``scan``, ``head``,
``branches``, ``log`` — whose errors name what exists instead (nearby paths, branches). The
shell's functions accept either (:data:`LakeLike`, unwrapped by :func:`port_of`).

>>> open_lake("local:///srv/lake", repository="example-repo").url
'local:///srv/lake'
>>> open_lake("local://lake", repository="example-repo", base_dir="/etc/etl").url
'local:///etc/etl/lake'
>>> open_lake("s3://bucket/lake", repository="example-repo")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
lakeflow.core.errors.LakeflowError: unsupported lake URL 's3://bucket/lake': use local://PATH ...
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeAlias, TypeVar

import polars as pl
from returns.io import IOResult
from returns.result import Failure

from lakeflow.adapters.lake_helpers import nearby, unwrap_io
from lakeflow.adapters.local import LocalLake
from lakeflow.core.errors import LakeError, LakeflowError
from lakeflow.core.secrets import Secret, redact_uri
from lakeflow.ports import BranchInfo, CommitInfo, Lake

__all__ = ["LakeHandle", "LakeLike", "open_lake", "port_of"]

T = TypeVar("T")

_FORMS = (
    "use local://PATH (an embedded lake on this machine; local:///abs/path is absolute, "
    "local://rel/path is relative), lakefs:// (lakeFS; endpoint and keys from lakectl's "
    "LAKECTL_* environment variables), lakefs://HOST:PORT or lakefs+https://HOST"
)


class LakeHandle:
    """Effect. A :class:`~lakeflow.ports.Lake` plus raising helpers for notebooks.

    ``handle.lake`` is the port (every ``IOResult`` operation); the helpers return a plain
    value or raise :class:`LakeflowError` whose message says what exists instead.
    """

    __slots__ = ("_lake",)

    def __init__(self, lake: Lake) -> None:
        self._lake = lake

    def __repr__(self) -> str:
        return f"LakeHandle({self._lake!r})"

    @property
    def lake(self) -> Lake:
        """The port: every ``IOResult`` operation of the lake."""
        return self._lake

    @property
    def url(self) -> str:
        """Where the lake lives, without secrets."""
        return self._lake.url

    @property
    def repository(self) -> str:
        """The repository id the lake is bound to."""
        return self._lake.repository

    def _where(self) -> str:
        return f"repository {self.repository!r} at {self.url}"

    def _value(self, result: IOResult[T, LakeError], explain: str) -> T:
        outcome = unwrap_io(result)
        if isinstance(outcome, Failure):
            raise LakeflowError(f"{explain}: {outcome.failure().message}")
        return outcome.unwrap()

    def _missing_ref(self, ref: str, error: LakeError) -> LakeflowError:
        if error.code != "not_found":
            return LakeflowError(f"cannot resolve ref {ref!r} in {self._where()}: {error.message}")
        listed = unwrap_io(self._lake.list_branches())
        if isinstance(listed, Failure):
            return LakeflowError(f"cannot open {self._where()}: {listed.failure().message}")
        names = [b.name for b in listed.unwrap()]
        close = nearby(ref, names)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return LakeflowError(
            f"no branch or commit {ref!r} in {self._where()}; "
            f"branches: {', '.join(names) or '(none)'}{hint}"
        )

    def head(self, ref: str = "main") -> str:
        """Effect. The commit id ``ref`` points at; raises :class:`LakeflowError` if unknown."""
        resolved = unwrap_io(self._lake.resolve(ref))
        if isinstance(resolved, Failure):
            raise self._missing_ref(ref, resolved.failure())
        return resolved.unwrap()

    def branches(self) -> tuple[BranchInfo, ...]:
        """Effect. All branches, sorted by name; raises :class:`LakeflowError` on failure."""
        return self._value(self._lake.list_branches(), f"cannot list branches of {self._where()}")

    def log(self, ref: str = "main", limit: int | None = None) -> tuple[CommitInfo, ...]:
        """Effect. Commits reachable from ``ref``, newest first; raises :class:`LakeflowError`."""
        commit_id = self.head(ref)
        return self._value(
            self._lake.log_commits(commit_id, limit=limit), f"cannot read the history of {ref!r}"
        )

    def scan(self, path: str, ref: str = "main") -> pl.LazyFrame:
        """Effect. A lazy frame over a parquet object or folder at ``ref``; raises if missing.

        ``ref`` is a branch (its uncommitted writes included) or a commit id: time travel.
        Damaged data raises (naming the object) rather than return different rows.
        """
        scanned = unwrap_io(self._lake.scan_frame(path, ref=ref))
        if not isinstance(scanned, Failure):
            return scanned.unwrap()
        error = scanned.failure()
        if error.code != "not_found":
            raise LakeflowError(f"cannot scan {path!r} at {ref!r}: {error.message}")
        commit_id = self.head(ref)  # raises, listing the branches, when ref is unknown
        raise LakeflowError(self._missing_path_message(path, ref, commit_id, error))

    def _missing_path_message(self, path: str, ref: str, commit_id: str, error: LakeError) -> str:
        at = f"{ref!r}" if ref == commit_id else f"{ref!r} (commit {commit_id[:12]})"
        listing = unwrap_io(self._lake.list_objects(ref=ref))
        if isinstance(listing, Failure):
            return f"no parquet object or folder {path!r} at {at}: {error.reason}"
        paths = [o.path for o in listing.unwrap()]
        if not paths:
            return f"no parquet object or folder {path!r} at {at}: the ref holds no objects"
        candidates = sorted(
            set(paths) | {p.rsplit("/", i)[0] for p in paths for i in (1, 2) if "/" in p}
        )
        # difflib is quadratic-ish: look near the longest existing folder prefix first.
        parts = path.rstrip("/").split("/")
        for depth in range(len(parts) - 1, -1, -1):
            folder = "/".join(parts[:depth])
            scoped = [c for c in candidates if c.startswith(folder)] if folder else candidates
            if scoped:
                candidates = scoped
                break
        close = nearby(path, candidates[:5000])
        hint = f"; nearby paths: {', '.join(close)}" if close else ""
        return f"no parquet object or folder {path!r} at {at}{hint}"


LakeLike: TypeAlias = Lake | LakeHandle
"""What the shell's functions accept: the port itself or a handle from :func:`open_lake`."""


def port_of(lake: LakeLike) -> Lake:
    """Pure. The :class:`~lakeflow.ports.Lake` behind a handle (a Lake is returned as is)."""
    return lake.lake if isinstance(lake, LakeHandle) else lake


def open_lake(
    url: str,
    *,
    repository: str,
    base_dir: str | os.PathLike[str] | None = None,
    verify_reads: bool = True,
    storage_namespace: str | None = None,
    endpoint: str | None = None,
    access_key_id: Secret | None = None,
    secret_access_key: Secret | None = None,
) -> LakeHandle:
    """Effect. The lake at ``url``, bound to ``repository`` (which may not exist yet).

    Args:
        url: ``local://PATH`` for the embedded :class:`LocalLake`: ``local:///abs/path`` is
            absolute, ``local://rel/path`` (or ``local://./rel``) resolves against
            ``base_dir``, and ``local://~/lake`` against the home folder. ``lakefs://`` opens
            a :class:`~lakeflow.adapters.lakefs.LakeFSLake`: the endpoint from the URL
            (``lakefs://HOST:PORT``, ``lakefs+https://HOST``), ``endpoint`` or
            ``LAKECTL_SERVER_ENDPOINT_URL``; the keys from the arguments or lakectl's
            ``LAKECTL_CREDENTIALS_ACCESS_KEY_ID``/``..._SECRET_ACCESS_KEY``.
        repository: The repository id (lakeFS rules: 3-63 of ``a-z``, ``0-9``, ``-``).
        base_dir: Folder that relative ``local://`` paths resolve against; default: the
            current directory (a CLI passes the config file's folder).
        verify_reads: Verify data against its checksums before scanning it (default). Turning
            it off trades the detection of damaged files for the hashing time.
        storage_namespace: lakeFS only: where a repository created by ``create_repository``
            keeps its data (``s3://bucket/path``, ``local://name``).
        endpoint: lakeFS only: the server's URL, overriding the lake URL's host.
        access_key_id: lakeFS only: the access key (default: the lakectl variable).
        secret_access_key: lakeFS only: the secret key (default: the lakectl variable).

    Raises:
        LakeflowError: The URL's scheme is unsupported, its path is empty, or the repository
            id is invalid, or a lakeFS endpoint or key is missing. Secrets never appear in
            the message.
    """
    if not isinstance(url, str):
        raise LakeflowError(f"a lake URL must be a string, got {type(url).__name__}")
    shown = redact_uri(url)
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep:
        raise LakeflowError(f"unsupported lake URL {shown!r}: {_FORMS}")
    if scheme == "local":
        if not rest:
            raise LakeflowError(f"lake URL {shown!r} has no path: {_FORMS}")
        path = Path(rest).expanduser()
        if not path.is_absolute():
            path = Path(base_dir if base_dir is not None else Path.cwd()) / path
        return LakeHandle(LocalLake(path, repository, verify_reads=verify_reads))
    if scheme in {"lakefs", "lakefs+http", "lakefs+https"}:
        from lakeflow.adapters.lakefs import open_lakefs  # the SDK loads only when needed

        return LakeHandle(
            open_lakefs(
                url,
                repository=repository,
                storage_namespace=storage_namespace,
                endpoint=endpoint,
                access_key_id=access_key_id,
                secret_access_key=secret_access_key,
                verify_reads=verify_reads,
            )
        )
    raise LakeflowError(f"unsupported lake URL {shown!r}: {_FORMS}")
