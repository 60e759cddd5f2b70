"""The lakeFS lake: :class:`LakeFSLake` and :func:`open_lakefs`, which finds its endpoint and keys.

Effect (opening builds a client; no request is made until the lake is used).

Modules: :mod:`~lakeflow.adapters.lakefs.lake` (the port's operations),
:mod:`~lakeflow.adapters.lakefs.history` (ref-moving writes, safe to retry),
:mod:`~lakeflow.adapters.lakefs.session` (the boundary, listings, conversions),
:mod:`~lakeflow.adapters.lakefs.errors` (statuses and transport failures as ``LakeError``),
:mod:`~lakeflow.adapters.lakefs.transport` (the explicit client, streamed bodies),
:mod:`~lakeflow.adapters.lakefs.downloads` (local copies for lazy frames),
:mod:`~lakeflow.adapters.lakefs.admin` (branch protection, health),
:mod:`~lakeflow.adapters.lakefs.connect` (URLs and the lakectl environment).

>>> lake = open_lakefs(
...     "lakefs://127.0.0.1:8000",
...     repository="example-repo",
...     environ={
...         "LAKECTL_CREDENTIALS_ACCESS_KEY_ID": "AKIAEXAMPLE",
...         "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": "not-shown",
...     },
... )
>>> lake
LakeFSLake('lakefs://127.0.0.1:8000', repository='example-repo')
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from lakeflow.adapters.lakefs.admin import HealthPart
from lakeflow.adapters.lakefs.connect import (
    ACCESS_KEY_ENV,
    ENDPOINT_ENV,
    LAKEFS_SCHEMES,
    SECRET_KEY_ENV,
    lakefs_settings,
)
from lakeflow.adapters.lakefs.lake import LakeFSLake
from lakeflow.core.secrets import Secret

__all__ = [
    "ACCESS_KEY_ENV",
    "ENDPOINT_ENV",
    "LAKEFS_SCHEMES",
    "SECRET_KEY_ENV",
    "HealthPart",
    "LakeFSLake",
    "open_lakefs",
]


def open_lakefs(
    url: str = "lakefs://",
    *,
    repository: str,
    storage_namespace: str | None = None,
    endpoint: str | None = None,
    access_key_id: Secret | None = None,
    secret_access_key: Secret | None = None,
    environ: Mapping[str, str] | None = None,
    timeout_s: float = 60.0,
    verify_reads: bool = True,
) -> LakeFSLake:
    """Effect (reads the environment). A :class:`LakeFSLake` configured the way lakectl is.

    Args:
        url: ``lakefs://`` (endpoint from ``LAKECTL_SERVER_ENDPOINT_URL``),
            ``lakefs://HOST:PORT`` (HTTP) or ``lakefs+https://HOST[:PORT]``. Never credentials.
        repository: The repository id.
        storage_namespace: Where a new repository's data goes (``s3://...``, ``local://...``).
        endpoint: lakeFS' URL; overrides the URL's host and the environment.
        access_key_id: The access key; default ``LAKECTL_CREDENTIALS_ACCESS_KEY_ID``.
        secret_access_key: The secret; default ``LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY``.
        environ: Where to read those variables (default: ``os.environ``).
        timeout_s: See :class:`LakeFSLake`.
        verify_reads: See :class:`LakeFSLake`.

    Raises:
        LakeflowError: The URL, endpoint or repository id is invalid, or the endpoint or a key
            is missing (the message names the variables; it never shows a secret).
    """
    settings = lakefs_settings(
        url,
        endpoint=endpoint,
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        environ=os.environ if environ is None else environ,
    )
    return LakeFSLake(
        settings.endpoint,
        repository,
        access_key_id=settings.access_key_id,
        secret_access_key=settings.secret_access_key,
        storage_namespace=storage_namespace,
        timeout_s=timeout_s,
        verify_reads=verify_reads,
    )
