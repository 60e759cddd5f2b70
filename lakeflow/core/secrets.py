"""Secrets: values that must never appear in output, logs, records, errors or the lake.

Pure. A :class:`Secret` hides its value from ``str``/``repr``/``format``; :func:`redact_uri`
removes passwords (and ``password=``-style query parameters) from connection URIs; and
:func:`scrub` removes every known secret from a text before it leaves the process.

>>> redact_uri("postgresql://etl:hunter2@db:5432/prod?sslmode=require")
'postgresql://etl:***@db:5432/prod?sslmode=require'
>>> [s.reveal() for s in uri_secrets("postgresql://etl:p%40ss@db/prod")]
['p%40ss', 'p@ss']
>>> scrub("connect to postgresql://etl:hunter2@db failed", [Secret("hunter2")])
'connect to postgresql://etl:***@db failed'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

__all__ = ["REDACTED", "Secret", "redact_uri", "scrub", "uri_secrets"]

REDACTED: Final = "***"
_USERINFO = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@\s]*)@"
)
_SECRET_PARAMS = re.compile(
    r"(?P<key>[?&;](?:password|passwd|pwd|secret|token|access_key|secret_key|api_key|apikey)=)"
    r"(?P<value>[^&;#\s]*)",
    re.IGNORECASE,
)


class Secret:
    """A string that never shows itself; call :meth:`reveal` only where it is used."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret value. Pass it to the library that needs it; never print or log it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED})"

    def __str__(self) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("lakeflow.Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)


def redact_uri(uri: str) -> str:
    """Pure. ``uri`` with any password in its user-info or query string replaced by ``***``."""
    without_userinfo = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", uri)
    return _SECRET_PARAMS.sub(lambda m: f"{m['key']}{REDACTED}", without_userinfo)


def _unquote(value: str) -> str:
    """Percent-decode like ``urllib.parse.unquote`` (urllib is off-limits in the pure core)."""
    pieces = re.split(r"((?:%[0-9A-Fa-f]{2})+)", value)
    return "".join(
        bytes.fromhex(p.replace("%", "")).decode("utf-8", "replace") if i % 2 else p
        for i, p in enumerate(pieces)
    )


def uri_secrets(uri: str) -> list[Secret]:
    """Pure. The secret parts of a URI (password, secret query parameters), raw and decoded."""
    found = [m["pw"] for m in _USERINFO.finditer(uri) if m["pw"]]
    found.extend(m["value"] for m in _SECRET_PARAMS.finditer(uri) if m["value"])
    secrets: list[Secret] = []
    for value in found:
        secrets.append(Secret(value))
        if _unquote(value) != value:
            secrets.append(Secret(_unquote(value)))
    return secrets


def scrub(text: str, secrets: Iterable[Secret]) -> str:
    """Pure. ``text`` with every URI password and every given secret replaced by ``***``.

    Longer secrets are replaced first so that a secret containing another is fully hidden.
    Empty secrets are ignored.
    """
    cleaned = redact_uri(text)
    for value in sorted({s.reveal() for s in secrets if s.reveal()}, key=len, reverse=True):
        cleaned = cleaned.replace(value, REDACTED)
    return cleaned
