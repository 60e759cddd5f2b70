"""Secrets: values that must never appear in output, logs, records, errors or the lake.

Pure. Redaction rests on the secret *values* themselves and on parsing URIs the way drivers
parse them; it is applied to values (messages, source and sink descriptions) before anything is
serialised, never by rewriting serialised text, and never to data values.

* :class:`Secret` hides its value from ``str``/``repr``/``format``.
* :func:`parse_uri` splits a connection URI like a WHATWG URL parser (the one connectorx and
  most drivers use): the authority ends at the first ``/``, ``?`` or ``#``; the user-info ends
  at the *last* ``@`` before it, so a password may hold ``@``, ``:``, spaces, quotes or any
  Unicode character. :func:`normalize_uri` re-encodes the user-info so that every driver
  (libpq stops at the *first* ``@``) reads the same password.
* :func:`redact_uri` replaces a URI's password and secret query parameters with ``***``;
  :func:`uri_secrets` returns them as :class:`Secret` values.
* :func:`scrub` removes every known secret, in every form a message may spell it (raw,
  percent-encoded, decoded, JSON- or repr-escaped), and any URI password, from a text;
  :func:`redact_values` does the same to every string inside a description.

>>> redact_uri("postgresql://etl:Qq@Tail S3cret@db:5432/prod?sslmode=require")
'postgresql://etl:***@db:5432/prod?sslmode=require'
>>> redact_uri("postgresql://etl@h/db?password=p%20w&sslmode=require")
'postgresql://etl@h/db?password=***&sslmode=require'
>>> normalize_uri("postgresql://etl:Qq@Tail@db/prod")
'postgresql://etl:Qq%40Tail@db/prod'
>>> scrub("connect to postgresql://etl:hunter2@db failed", [Secret("hunter2")])
'connect to postgresql://etl:***@db failed'
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, quote_plus, unquote, unquote_plus

__all__ = [
    "REDACTED",
    "Secret",
    "UriParts",
    "normalize_uri",
    "parse_uri",
    "redact_uri",
    "redact_values",
    "scrub",
    "secret_forms",
    "uri_secrets",
]

REDACTED: Final = "***"
SECRET_PARAMETERS: Final = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "pass",
        "secret",
        "token",
        "access_token",
        "auth_token",
        "access_key",
        "secret_key",
        "secret_access_key",
        "api_key",
        "apikey",
        "sslpassword",
        "private_key",
        "credentials",
        "sig",
        "signature",
    }
)
"""Query parameters whose values are secrets (case-insensitive)."""

_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_TEXT_USERINFO: Final = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@?#]*):(?P<pw>\S*)@")
_TEXT_PARAMETER: Final = re.compile(
    r"(?P<key>[?&;](?:" + "|".join(sorted(SECRET_PARAMETERS)) + r")=)(?P<value>[^&;#\s\"'<>]*)",
    re.IGNORECASE,
)
_MIN_FORM: Final = 3  # shorter encodings of a secret are not searched for in messages


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


@dataclass(frozen=True, slots=True)
class UriParts:
    """A URI split like a WHATWG URL parser splits it (``password`` is ``None`` when absent)."""

    scheme: str
    user: str | None
    password: str | None
    host: str
    rest: str
    parameters: tuple[tuple[str, str], ...]

    def unparse(self, *, password: str | None = None, encode: bool = False) -> str:
        """Pure. The URI again, with ``password`` instead of its own when given."""
        shown = self.password if password is None else password
        user = self.user
        if encode and user is not None:
            user = quote(unquote(user), safe="")
        if encode and password is None and shown is not None:
            shown = quote(unquote(shown), safe="")
        if user is None:
            userinfo = ""
        elif shown is None:
            userinfo = f"{user}@"
        else:
            userinfo = f"{user}:{shown}@"
        return f"{self.scheme}://{userinfo}{self.host}{self.rest}"


def parse_uri(uri: str) -> UriParts | None:
    """Pure. ``uri`` split into its parts, or ``None`` when it is not ``scheme://...``."""
    scheme, sep, after = uri.partition("://")
    if not sep or not _SCHEME.fullmatch(scheme):
        return None
    limit = _first_of(after, "?#")
    last_at = after.rfind("@", 0, limit)
    if last_at >= 0 and "/" not in after[:last_at].partition(":")[0]:
        # user-info up to the last '@' (its password may hold '/'), then the host
        end = _first_of(after, "/?#", last_at + 1)
    else:
        end = _first_of(after, "/?#")
    authority, rest = after[:end], after[end:]
    userinfo, at, host = authority.rpartition("@")
    user: str | None = None
    password: str | None = None
    if at:
        user, colon, pw = userinfo.partition(":")
        password = pw if colon else None
    query = rest.partition("?")[2].partition("#")[0]
    parameters = tuple(
        (key, value)
        for key, _, value in (item.partition("=") for item in re.split(r"[&;]", query))
        if key
    )
    return UriParts(scheme, user, password, host, rest, parameters)


def _first_of(text: str, characters: str, start: int = 0) -> int:
    positions = [i for i in (text.find(c, start) for c in characters) if i >= 0]
    return min(positions, default=len(text))


def normalize_uri(uri: str) -> str:
    """Pure. ``uri`` with its user and password percent-encoded, so every driver agrees.

    A password holding ``@``, ``:``, ``/``-free reserved characters or spaces is read the same
    by WHATWG parsers (the last ``@``) and by libpq (the first ``@``) once encoded. Already
    encoded parts stay as they are. URIs that are not ``scheme://...`` are returned unchanged.
    """
    parts = parse_uri(uri)
    if parts is None or parts.user is None:
        return uri
    return parts.unparse(encode=True)


def _is_secret_parameter(key: str) -> bool:
    return unquote_plus(key).strip().lower() in SECRET_PARAMETERS


def redact_uri(uri: str) -> str:
    """Pure. ``uri`` with its password and secret query parameter values replaced by ``***``."""
    parts = parse_uri(uri)
    if parts is None:
        return uri
    redacted = parts.unparse(password=REDACTED) if parts.password is not None else parts.unparse()
    for key, value in parts.parameters:
        if value and _is_secret_parameter(key):
            redacted = redacted.replace(f"{key}={value}", f"{key}={REDACTED}")
    return redacted


def uri_secrets(uri: str) -> list[Secret]:
    """Pure. The secret parts of a URI (its password, secret query parameters), as written
    and percent-decoded."""
    parts = parse_uri(uri)
    if parts is None:
        return []
    found = [parts.password] if parts.password else []
    found.extend(value for key, value in parts.parameters if value and _is_secret_parameter(key))
    spelled = [form for value in found for form in (value, unquote(value))]
    return [Secret(value) for value in dict.fromkeys(spelled)]


def secret_forms(value: str) -> set[str]:
    """Pure. Every spelling of ``value`` a message may contain: raw, percent-encoded or
    decoded, ``+``-encoded, and escaped as inside JSON or a Python repr."""
    bases = {value, unquote(value), unquote_plus(value)}
    forms = set(bases)
    for base in bases:
        forms.update(
            {
                quote(base, safe=""),
                quote(base, safe="!$&'()*+,;=:"),
                quote_plus(base, safe=""),
                json.dumps(base)[1:-1],
                json.dumps(base, ensure_ascii=False)[1:-1],
                repr(base)[1:-1],
                base.encode("unicode_escape").decode("ascii"),
            }
        )
    return {form for form in forms if len(form) >= min(_MIN_FORM, len(value))}


def scrub(text: str, secrets: Iterable[Secret]) -> str:
    """Pure. ``text`` (a message, never data) with every secret and URI password hidden.

    Each given secret is replaced in every form :func:`secret_forms` lists, longest first, so
    a secret containing another is fully hidden; then any remaining ``scheme://user:pw@``
    password and secret query parameter in the text is replaced too. Empty secrets are
    ignored.
    """
    forms: set[str] = set()
    for secret in secrets:
        if secret.reveal():
            forms.update(secret_forms(secret.reveal()))
    cleaned = text
    for form in sorted(forms, key=len, reverse=True):
        cleaned = cleaned.replace(form, REDACTED)
    cleaned = _TEXT_USERINFO.sub(lambda m: f"{m['head']}:{REDACTED}@", cleaned)
    return _TEXT_PARAMETER.sub(lambda m: f"{m['key']}{REDACTED}", cleaned)


def redact_values(data: Mapping[str, object], secrets: Iterable[Secret]) -> dict[str, object]:
    """Pure. A description (not data) with every string in it scrubbed; URIs redacted first."""
    known = tuple(secrets)

    def clean(value: object) -> object:
        if isinstance(value, str):
            return scrub(redact_uri(value) if "://" in value else value, known)
        if isinstance(value, Mapping):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    return {str(k): clean(v) for k, v in data.items()}
