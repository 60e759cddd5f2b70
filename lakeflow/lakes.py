"""Open a lake from its URL: the entry point for notebooks, configs and the CLI.

Effect (it builds an adapter; it does no I/O until the lake is used).

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

from lakeflow.adapters.local_lake import LocalLake
from lakeflow.core.errors import LakeflowError
from lakeflow.core.secrets import redact_uri
from lakeflow.ports import Lake

__all__ = ["open_lake"]

_FORMS = (
    "use local://PATH (an embedded lake on this machine; local:///abs/path is absolute, "
    "local://rel/path is relative) or lakefs://HOST (lakeFS)"
)


def open_lake(
    url: str,
    *,
    repository: str,
    base_dir: str | os.PathLike[str] | None = None,
) -> Lake:
    """Effect. The lake at ``url``, bound to ``repository`` (which may not exist yet).

    Args:
        url: ``local://PATH`` for the embedded :class:`LocalLake`: ``local:///abs/path`` is
            absolute, ``local://rel/path`` (or ``local://./rel``) resolves against
            ``base_dir``, and ``local://~/lake`` against the home folder. ``lakefs://`` URLs
            name a lakeFS server (adapter not available yet).
        repository: The repository id (lakeFS rules: 3-63 of ``a-z``, ``0-9``, ``-``).
        base_dir: Folder that relative ``local://`` paths resolve against; default: the
            current directory (a CLI passes the config file's folder).

    Raises:
        LakeflowError: The URL's scheme is unsupported, its path is empty, or the repository
            id is invalid. Passwords in the URL never appear in the message.
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
        return LocalLake(path, repository)
    if scheme in {"lakefs", "lakefs+http", "lakefs+https"}:
        raise LakeflowError(
            f"cannot open {shown!r}: the lakeFS adapter is not available in this version of "
            "lakeflow yet; use a local:// lake (same semantics, embedded) for now"
        )
    raise LakeflowError(f"unsupported lake URL {shown!r}: {_FORMS}")
