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
from lakeflow.core.secrets import Secret, redact_uri
from lakeflow.ports import Lake

__all__ = ["open_lake"]

_FORMS = (
    "use local://PATH (an embedded lake on this machine; local:///abs/path is absolute, "
    "local://rel/path is relative), lakefs:// (lakeFS; endpoint and keys from lakectl's "
    "LAKECTL_* environment variables), lakefs://HOST:PORT or lakefs+https://HOST"
)


def open_lake(
    url: str,
    *,
    repository: str,
    base_dir: str | os.PathLike[str] | None = None,
    storage_namespace: str | None = None,
    endpoint: str | None = None,
    access_key_id: Secret | None = None,
    secret_access_key: Secret | None = None,
) -> Lake:
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
        return LocalLake(path, repository)
    if scheme in {"lakefs", "lakefs+http", "lakefs+https"}:
        from lakeflow.adapters.lakefs import open_lakefs  # the SDK loads only when needed

        # LakeFSLake implements the narrow Lake port (path first, ref=/branch= keywords);
        # this module still types the old one until the narrow port lands.
        return open_lakefs(  # type: ignore[return-value]
            url,
            repository=repository,
            storage_namespace=storage_namespace,
            endpoint=endpoint,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
        )
    raise LakeflowError(f"unsupported lake URL {shown!r}: {_FORMS}")
