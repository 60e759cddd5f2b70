"""One lake's connection to lakeFS: an explicit ``lakefs.Client`` and streamed object bodies.

Effect. :func:`new_client` builds a ``lakefs.Client`` from explicit settings (never the SDK's
process-global client, never ``~/.lakectl.yaml``) and gives it a connection pool whose requests
are bounded: every request has a connect and a read timeout (the generated client passes
``timeout=None`` to urllib3, which would wait forever), and urllib3 retries only connections
that could not be opened — never a request that was sent (its retries of timed-out GETs would
hide 3x the timeout, and a POST may have been applied). Retrying is the shell's job, driven by
the ``retryable`` flag of the failure.

:class:`Transport` streams object bodies, which the SDK cannot: its writer copies an upload
into a spooled temporary file first, and its reader either loads a whole object into memory or
sends one ranged request per read. An upload here streams from the caller's file object in
1 MiB chunks (``Transfer-Encoding: chunked``, as the SDK sends it); a download streams the body
into the caller's file while hashing it. Non-2xx answers raise the SDK's own exceptions
(``lakefs.exceptions.handle_http_error``), so one translator handles every failure.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, Final, Literal, Protocol, cast
from urllib.parse import quote, urlencode

import lakefs
import urllib3
from lakefs.exceptions import handle_http_error

from lakeflow.core.secrets import Secret

__all__ = [
    "BoundedPoolManager",
    "ChecksumKind",
    "Downloaded",
    "Transport",
    "checksum_kind",
    "new_client",
]

CHUNK: Final = 1 << 20
_AUTH_SETTINGS: Final = ["basic_auth", "cookie_auth", "oidc_auth", "saml_auth", "jwt_token"]
_META_PREFIX: Final = "x-lakefs-meta-"
_HEX: Final = re.compile(r"[0-9a-f]+")

ChecksumKind = Literal["md5", "sha256"]
_KINDS: Final[dict[int, ChecksumKind]] = {32: "md5", 64: "sha256"}


def checksum_kind(checksum: str) -> ChecksumKind | None:
    """Pure. Which digest a lakeFS checksum is, by its form, or ``None`` if it cannot be checked.

    lakeFS reports the block store's checksum: the MD5 of the content (32 hex digits; local, S3
    single-part, GCS and Azure block stores), an S3 multipart ETag (``<hex>-<parts>``, not a
    digest of the content) or, on lakeflow's server double, a SHA-256 (64 hex digits).

    >>> checksum_kind('"d41d8cd98f00b204e9800998ecf8427e"'), checksum_kind("a" * 64)
    ('md5', 'sha256')
    >>> checksum_kind("9b2cf535f27731c974343645a3985328-4") is None
    True
    """
    value = checksum.strip().strip('"').lower()
    if not _HEX.fullmatch(value):
        return None
    return _KINDS.get(len(value))


def clean_checksum(checksum: str) -> str:
    """Pure. A checksum or ETag without quotes, weak-validator prefix or upper case."""
    value = checksum.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"').lower()


class BoundedPoolManager(urllib3.PoolManager):
    """A urllib3 pool whose requests always have a timeout, even when the caller passes ``None``."""

    def __init__(self, *, timeout: urllib3.Timeout, **kwargs: Any) -> None:
        super().__init__(timeout=timeout, **kwargs)
        self._bounded = timeout

    def urlopen(  # type: ignore[override]  # same call, keyword-only extras
        self, method: str, url: str, redirect: bool = True, **kw: Any
    ) -> urllib3.BaseHTTPResponse:
        if kw.get("timeout") is None:
            kw["timeout"] = self._bounded
        return super().urlopen(method, url, redirect=redirect, **kw)


def new_client(
    endpoint: str, access_key_id: Secret, secret_access_key: Secret, *, timeout_s: float
) -> Any:
    """Effect (no I/O). A ``lakefs.Client`` for ``endpoint`` with bounded requests.

    Args:
        endpoint: ``http(s)://host[:port][/prefix]``; the SDK appends ``/api/v1``.
        access_key_id: The lakeFS access key id.
        secret_access_key: The lakeFS secret access key.
        timeout_s: Read timeout of every request (seconds without a byte from the server);
            connecting may take at most ``min(timeout_s, 10)``.
    """
    # explicit settings: the SDK then reads no environment variable and no ~/.lakectl.yaml
    client = lakefs.Client(  # type: ignore[no-untyped-call]  # the SDK leaves it unannotated
        host=endpoint,
        username=access_key_id.reveal(),
        password=secret_access_key.reveal(),
    )
    config = client.config
    rest = client.sdk_client.objects_api.api_client.rest_client
    old = rest.pool_manager
    rest.pool_manager = BoundedPoolManager(
        timeout=urllib3.Timeout(connect=min(timeout_s, 10.0), read=timeout_s),
        retries=urllib3.Retry(
            total=2, connect=2, read=0, status=0, other=0, redirect=0, raise_on_status=False
        ),
        num_pools=4,
        maxsize=max(int(config.connection_pool_maxsize or 4), 4),
        cert_reqs="CERT_REQUIRED" if config.verify_ssl else "CERT_NONE",
        ca_certs=config.ssl_ca_cert,
    )
    old.clear()
    return client


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def hexdigest(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Downloaded:
    """A downloaded body: its size, the checksum lakeFS sent (``ETag``) and the digest of the
    bytes received, of the checksum's kind (``None`` when not computed or not computable)."""

    size: int
    expected: str
    actual: str | None

    @property
    def intact(self) -> bool:
        """Pure. False only when a digest was computed and differs from lakeFS' checksum."""
        return self.actual is None or self.actual == self.expected


def _chunks(body: BinaryIO) -> Iterator[bytes]:
    while chunk := body.read(CHUNK):
        yield chunk


class Transport:
    """Effect. Streamed object upload and download through one client's connection pool."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._api = client.sdk_client.objects_api.api_client
        self._host: str = client.config.host

    @property
    def sdk(self) -> Any:
        """The generated ``lakefs_sdk`` client (``branches_api``, ``refs_api``...)."""
        return self._client.sdk_client

    def _request(
        self,
        method: str,
        resource: str,
        query: Mapping[str, str],
        headers: dict[str, str],
        **kw: Any,
    ) -> urllib3.BaseHTTPResponse:
        all_headers = {**self._api.default_headers, **headers}
        self._api.update_params_for_auth(all_headers, None, _AUTH_SETTINGS, resource, method, None)
        url = f"{self._host}{resource}?{urlencode(query)}"
        pool: urllib3.PoolManager = self._api.rest_client.pool_manager
        return pool.request(method, url, headers=all_headers, **kw)

    def upload(
        self,
        repository: str,
        branch: str,
        path: str,
        body: BinaryIO,
        *,
        content_type: str,
        metadata: Mapping[str, str],
    ) -> dict[str, Any]:
        """Effect. Stage ``body`` (read in 1 MiB chunks) as ``path`` on ``branch``; its stats.

        Raises:
            LakeFSException: lakeFS answered with an error status.
            urllib3.exceptions.HTTPError: no (whole) answer: the connection failed or timed out.
        """
        resource = (
            f"/repositories/{quote(repository, safe='')}/branches/{quote(branch, safe='')}/objects"
        )
        headers = {
            "Content-Type": content_type,
            "Accept": "application/json",
            **{f"{_META_PREFIX}{key}": value for key, value in metadata.items()},
        }
        response = self._request(
            "POST", resource, {"path": path}, headers, body=_chunks(body), chunked=True
        )
        handle_http_error(cast(urllib3.HTTPResponse, response))
        stats: dict[str, Any] = json.loads(response.data)
        return stats

    def download(
        self, repository: str, ref: str, path: str, sink: BinaryIO, *, verify: bool
    ) -> Downloaded:
        """Effect. Stream ``path`` at ``ref`` into ``sink``, hashing it when ``verify``.

        The digest is of the kind lakeFS' checksum (the ``ETag``) has; a checksum of no known
        kind (an S3 multipart ETag) is not verified.

        Raises:
            LakeFSException: lakeFS answered with an error status (404: no such ref or object).
            urllib3.exceptions.HTTPError: the connection failed, timed out or was cut short.
        """
        resource = f"/repositories/{quote(repository, safe='')}/refs/{quote(ref, safe='')}/objects"
        response = self._request("GET", resource, {"path": path}, {}, preload_content=False)
        whole = False
        try:
            handle_http_error(
                cast(urllib3.HTTPResponse, response)
            )  # reads the (small) error body when not 2xx
            expected = clean_checksum(response.headers.get("ETag", ""))
            kind = checksum_kind(expected) if verify else None
            hasher: _Hasher | None = hashlib.new(kind) if kind else None
            size = 0
            for chunk in response.stream(CHUNK):
                sink.write(chunk)
                size += len(chunk)
                if hasher is not None:
                    hasher.update(chunk)
            whole = True
            return Downloaded(size, expected, hasher.hexdigest() if hasher else None)
        finally:
            if whole:
                response.release_conn()  # read to the end: the connection can be reused
            else:
                response.close()  # an error or a body cut short: never reuse this connection

    def close(self) -> None:
        """Effect. Close the pooled connections."""
        self._api.rest_client.pool_manager.clear()
