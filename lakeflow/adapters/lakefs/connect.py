"""Where a lakeFS server is and how to log in: ``lakefs://`` URLs and the lakectl environment.

Pure: :func:`lakefs_settings` reads only the environment mapping it is given. A lake URL never
holds credentials; the access key and secret come from arguments (as :class:`Secret` values) or
from lakectl's variables ``LAKECTL_CREDENTIALS_ACCESS_KEY_ID`` and
``LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY``. The endpoint comes from an argument, from the URL
(``lakefs://HOST:PORT`` is ``http://HOST:PORT``, ``lakefs+https://HOST`` is ``https://HOST``) or
from ``LAKECTL_SERVER_ENDPOINT_URL``, in that order.

>>> endpoint_of_url("lakefs://127.0.0.1:8000")
'http://127.0.0.1:8000'
>>> endpoint_of_url("lakefs+https://lakefs.example.com/")
'https://lakefs.example.com'
>>> endpoint_of_url("lakefs://") is None
True
>>> normalize_endpoint("localhost:8000/api/v1")
'http://localhost:8000'
>>> lake_url("http://127.0.0.1:8000")
'lakefs://127.0.0.1:8000'
>>> lake_url("https://lakefs.example.com/lakefs")
'lakefs+https://lakefs.example.com/lakefs'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from lakeflow.core.errors import LakeflowError
from lakeflow.core.secrets import Secret, redact_uri

__all__ = [
    "ACCESS_KEY_ENV",
    "ENDPOINT_ENV",
    "LAKEFS_SCHEMES",
    "SECRET_KEY_ENV",
    "LakeFSSettings",
    "endpoint_of_url",
    "lake_url",
    "lakefs_settings",
    "normalize_endpoint",
]

ENDPOINT_ENV: Final = "LAKECTL_SERVER_ENDPOINT_URL"
ACCESS_KEY_ENV: Final = "LAKECTL_CREDENTIALS_ACCESS_KEY_ID"
SECRET_KEY_ENV: Final = "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY"  # noqa: S105 - a name
LAKEFS_SCHEMES: Final = frozenset({"lakefs", "lakefs+http", "lakefs+https"})
"""URL schemes naming a lakeFS lake: ``lakefs`` and ``lakefs+http`` are plain HTTP (like the
lakeFS SDK's default for a host without a scheme), ``lakefs+https`` is HTTPS."""

_API_PATH: Final = "/api/v1"


@dataclass(frozen=True, slots=True)
class LakeFSSettings:
    """A lakeFS endpoint (``http(s)://host[:port][/prefix]``, no ``/api/v1``) and credentials."""

    endpoint: str
    access_key_id: Secret
    secret_access_key: Secret


def normalize_endpoint(text: str) -> str:
    """Pure. ``http(s)://host[:port][/prefix]`` for an endpoint as lakectl or a user writes it.

    A missing scheme means ``http://`` (as for the lakeFS SDK); a trailing ``/api/v1`` or ``/`` is
    dropped.

    Raises:
        LakeflowError: Not an http(s) URL with a host, a bad port, a query or fragment, or
            credentials in the URL (never shown in the message).
    """
    shown = redact_uri(text)
    candidate = text.strip()
    if "://" not in candidate:
        candidate = "http://" + candidate
    parts = urlsplit(candidate)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise LakeflowError(
            f"lakeFS endpoint {shown!r} holds credentials: put the access key and secret in "
            f"{ACCESS_KEY_ENV} and {SECRET_KEY_ENV} instead"
        )
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if parts.scheme not in {"http", "https"} or not parts.hostname or not port_ok:
        raise LakeflowError(
            f"invalid lakeFS endpoint {shown!r}: expected http(s)://HOST[:PORT], as lakectl's "
            f"{ENDPOINT_ENV}"
        )
    if parts.query or parts.fragment:
        raise LakeflowError(f"invalid lakeFS endpoint {shown!r}: no query or fragment allowed")
    path = parts.path.rstrip("/")
    if path.endswith(_API_PATH):
        path = path[: -len(_API_PATH)]
    return f"{parts.scheme}://{parts.netloc}{path}"


def endpoint_of_url(url: str) -> str | None:
    """Pure. The endpoint a ``lakefs://`` URL names, or ``None`` when it names none.

    Raises:
        LakeflowError: Not a ``lakefs``, ``lakefs+http`` or ``lakefs+https`` URL, or its host
            part is invalid (see :func:`normalize_endpoint`).
    """
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in LAKEFS_SCHEMES:
        raise LakeflowError(
            f"not a lakeFS lake URL: {redact_uri(url)!r} (use lakefs://, lakefs://HOST:PORT or "
            "lakefs+https://HOST)"
        )
    if rest.strip("/") == "":
        return None
    return normalize_endpoint(("https" if scheme == "lakefs+https" else "http") + "://" + rest)


def lake_url(endpoint: str) -> str:
    """Pure. The secret-free lake URL of a normalized endpoint (what ``LakeFSLake.url`` says)."""
    scheme, _, rest = endpoint.partition("://")
    return f"lakefs://{rest}" if scheme == "http" else f"lakefs+https://{rest}"


def _secret(value: Secret | None, variable: str, environ: Mapping[str, str]) -> Secret | None:
    if value is not None:
        if not isinstance(value, Secret):
            raise LakeflowError(
                f"pass lakeFS keys as lakeflow.Secret values (or set {variable}), "
                f"not {type(value).__name__}"
            )
        return value if value.reveal() else None
    found = environ.get(variable, "")
    return Secret(found) if found else None


def lakefs_settings(
    url: str = "lakefs://",
    *,
    endpoint: str | None = None,
    access_key_id: Secret | None = None,
    secret_access_key: Secret | None = None,
    environ: Mapping[str, str],
) -> LakeFSSettings:
    """Pure. The endpoint and keys for a lakeFS lake, from arguments, the URL or ``environ``.

    Raises:
        LakeflowError: The URL or endpoint is invalid, or the endpoint or a key is given
            nowhere; the message names the variables to set.
    """
    from_url = endpoint_of_url(url)
    chosen = (
        normalize_endpoint(endpoint)
        if endpoint
        else from_url
        or (normalize_endpoint(environ[ENDPOINT_ENV]) if environ.get(ENDPOINT_ENV) else None)
    )
    key = _secret(access_key_id, ACCESS_KEY_ENV, environ)
    secret = _secret(secret_access_key, SECRET_KEY_ENV, environ)
    missing = [
        what
        for what, value in (
            (f"the endpoint (lakefs://HOST:PORT or {ENDPOINT_ENV})", chosen),
            (f"the access key ({ACCESS_KEY_ENV})", key),
            (f"the secret key ({SECRET_KEY_ENV})", secret),
        )
        if value is None
    ]
    if missing or chosen is None or key is None or secret is None:
        raise LakeflowError(
            f"cannot open lakeFS lake {redact_uri(url)!r}: missing {', '.join(missing)}; set "
            "them in the environment the way lakectl reads them"
        )
    return LakeFSSettings(chosen, key, secret)
