"""lakeFS wire conventions the double speaks: requests, errors, pagination, ranges, bodies.

Pure helpers (except :class:`BodyReader`, which reads a socket). Facts pinned here come from
lakeFS' OpenAPI spec and server: errors are ``{"message": ...}``; list responses carry all four
pagination fields (``has_more``, ``next_offset``, ``results``, ``max_per_page``), 100 results
by default and at most 1000, and continue ``after=`` the last key of the previous page; the
Python SDK sends query booleans as ``True``/``False``, so booleans parse case-insensitively.

>>> parse_bool("presign", "False")
False
>>> parse_range("bytes=2-", 10)
(2, 9)
>>> paginate(["a", "b", "c"], key=str, after="a", amount=1)[1]["next_offset"]
'b'
"""

from __future__ import annotations

import email.message
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol, TypeVar

__all__ = [
    "DEFAULT_PER_PAGE",
    "MAX_PER_PAGE",
    "ApiError",
    "BodyReader",
    "ByteStream",
    "ConnectionDropped",
    "Request",
    "Response",
    "body_flag",
    "body_metadata",
    "body_object",
    "body_text",
    "error",
    "group_by_delimiter",
    "json_response",
    "page_after",
    "paginate",
    "parse_amount",
    "parse_bool",
    "parse_range",
]

T = TypeVar("T")

DEFAULT_PER_PAGE: Final = 100
MAX_PER_PAGE: Final = 1000
_CHUNK: Final = 1 << 16
_RANGE: Final = re.compile(r"bytes=(\d*)-(\d*)")


class ApiError(Exception):
    """An HTTP error response, raised inside an operation and written by the server.

    ``body`` replaces the usual ``{"message": ...}`` (a merge conflict answers
    ``{"reference": ""}``, like lakeFS).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        body: Mapping[str, object] | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.body: Mapping[str, object] = body if body is not None else {"message": message}
        self.headers = headers


class ConnectionDropped(Exception):  # noqa: N818 - a control signal, not a failure
    """The server must close the connection now, without a response (injected fault)."""


@dataclass(frozen=True, slots=True)
class Response:
    """What the server writes back: a status, headers and a body (bytes or a file slice)."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    file: Path | None = None
    offset: int = 0
    length: int = 0

    @property
    def size(self) -> int:
        """How many body bytes the response carries."""
        return self.length if self.file is not None else len(self.body)


def json_response(
    status: int, value: object, *, headers: tuple[tuple[str, str], ...] = ()
) -> Response:
    """Pure. A JSON response (lakeFS encodes every body as JSON, one line, with a newline)."""
    body = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
    return Response(status, body, "application/json", headers)


def error(status: int, message: str) -> Response:
    """Pure. A lakeFS error response: ``{"message": ...}``."""
    return json_response(status, {"message": message})


def parse_bool(name: str, raw: str | None, *, default: bool = False) -> bool:
    """Pure. A query boolean; the SDK sends ``True``/``False``, other clients ``true``/``1``."""
    if raw is None or raw == "":
        return default
    lowered = raw.lower()
    if lowered in {"true", "1"}:
        return True
    if lowered in {"false", "0"}:
        return False
    raise ApiError(400, f"invalid value {raw!r} for boolean query parameter {name!r}")


def parse_amount(raw: str | None) -> int:
    """Pure. A page size like lakeFS: 100 when absent or not positive, at most 1000."""
    if raw is None or raw == "":
        return DEFAULT_PER_PAGE
    try:
        amount = int(raw)
    except ValueError:
        raise ApiError(400, f"invalid value {raw!r} for query parameter 'amount'") from None
    if amount <= 0:
        return DEFAULT_PER_PAGE
    return min(amount, MAX_PER_PAGE)


def paginate(
    items: Iterable[T], *, key: Callable[[T], str], after: str, amount: int
) -> tuple[list[T], dict[str, object]]:
    """Pure. One page of ``items`` (sorted by ``key``) after ``after``, and its pagination.

    ``next_offset`` is the key of the page's last item when more follow, else ``""``.
    """
    page: list[T] = []
    has_more = False
    for item in items:
        if after and key(item) <= after:
            continue
        if len(page) == amount:
            has_more = True
            break
        page.append(item)
    pagination: dict[str, object] = {
        "has_more": has_more,
        "next_offset": key(page[-1]) if has_more and page else "",
        "results": len(page),
        "max_per_page": MAX_PER_PAGE,
    }
    return page, pagination


def page_after(items: Sequence[T], *, key: Callable[[T], str], after: str) -> Sequence[T]:
    """Pure. The items following the one whose key is ``after`` (a commit log's ``after=``)."""
    if not after:
        return items
    for index, item in enumerate(items):
        if key(item) == after:
            return items[index + 1 :]
    raise ApiError(404, f"after={after!r}: no such item in this listing")


def group_by_delimiter(
    paths: Iterable[tuple[str, T]], prefix: str, delimiter: str
) -> list[tuple[str, T | None]]:
    """Pure. Sorted ``(path, item)`` pairs with paths below a delimiter folded into one
    common prefix ``(prefix + head + delimiter, None)``, like lakeFS listings."""
    if not delimiter:
        return list(paths)
    out: list[tuple[str, T | None]] = []
    last_prefix = None
    for path, item in paths:
        rest = path[len(prefix) :]
        cut = rest.find(delimiter)
        if cut < 0:
            out.append((path, item))
            continue
        common = prefix + rest[: cut + len(delimiter)]
        if common != last_prefix:
            out.append((common, None))
            last_prefix = common
    return out


def parse_range(header: str, size: int) -> tuple[int, int]:
    """Pure. The inclusive byte range a ``Range`` header asks of an object of ``size`` bytes.

    One range only (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``), clamped to the object; a start
    at or past the end, or anything else, is ``416``.
    """
    match = _RANGE.fullmatch(header.strip())
    unsatisfiable = ApiError(416, "Requested Range Not Satisfiable")
    if match is None or (not match[1] and not match[2]):
        raise unsatisfiable
    if not match[1]:
        suffix = int(match[2])
        if suffix == 0 or size == 0:
            raise unsatisfiable
        return max(0, size - suffix), size - 1
    start = int(match[1])
    end = int(match[2]) if match[2] else size - 1
    if start >= size or end < start:
        raise unsatisfiable
    return start, min(end, size - 1)


class ByteStream(Protocol):
    """What a request body is read from (a socket's buffered reader)."""

    def read(self, size: int, /) -> bytes: ...

    def readline(self, size: int, /) -> bytes: ...


class BodyReader:
    """Effect. A request body read from the socket: ``Content-Length`` or chunked.

    The lakeFS SDK uploads with ``Transfer-Encoding: chunked`` and no ``Content-Length``.
    ``drop_after`` (an injected fault) makes the reader raise :class:`ConnectionDropped` once
    that many body bytes were read, so the server closes the socket mid-upload.
    """

    def __init__(
        self, stream: ByteStream, *, length: int | None, chunked: bool, drop_after: int | None
    ) -> None:
        self._stream = stream
        self._remaining = length if length is not None else 0
        self._chunked = chunked
        self._chunk_left = 0
        self._done = not chunked and not self._remaining
        self._drop_after = drop_after
        self.read_bytes = 0

    def arm_drop(self, after_bytes: int) -> None:
        """Effect. Raise :class:`ConnectionDropped` once ``after_bytes`` body bytes were read."""
        self._drop_after = after_bytes

    @property
    def done(self) -> bool:
        """Whether the whole body was read."""
        return self._done

    def _next_chunk_size(self) -> int:
        line = self._stream.readline(1024)
        if not line:
            raise ConnectionDropped
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ApiError(400, f"malformed chunk size {size_text!r}") from None
        if size == 0:
            while self._stream.readline(1024) not in {b"\r\n", b"\n", b""}:
                pass  # trailers
        return size

    def read(self, limit: int = _CHUNK) -> bytes:
        """Up to ``limit`` body bytes; ``b""`` at the end of the body.

        A drop armed for more bytes than the body has fires at its end instead.
        """
        if self._done:
            if self._drop_after is not None:
                raise ConnectionDropped
            return b""
        if self._chunked:
            if self._chunk_left == 0:
                self._chunk_left = self._next_chunk_size()
                if self._chunk_left == 0:
                    self._done = True
                    return self.read(limit)
            data = self._stream.read(min(limit, self._chunk_left))
            if not data:
                raise ConnectionDropped
            self._chunk_left -= len(data)
            if self._chunk_left == 0:
                self._stream.readline(16)  # the CRLF after the chunk
        else:
            data = self._stream.read(min(limit, self._remaining))
            if not data:
                raise ConnectionDropped
            self._remaining -= len(data)
            self._done = self._remaining == 0
        self.read_bytes += len(data)
        if self._drop_after is not None and self.read_bytes >= self._drop_after:
            raise ConnectionDropped
        return data

    def read_all(self, *, limit: int = 16 << 20) -> bytes:
        """The whole body (JSON requests); ``400`` past ``limit`` bytes."""
        parts: list[bytes] = []
        total = 0
        while chunk := self.read():
            total += len(chunk)
            if total > limit:
                raise ApiError(400, f"request body larger than {limit} bytes")
            parts.append(chunk)
        return b"".join(parts)

    def json(self) -> object:
        """The body parsed as JSON; ``400`` if it is not JSON (an empty body is ``{}``)."""
        data = self.read_all()
        if not data.strip():
            return {}
        try:
            return json.loads(data)
        except ValueError as exc:
            raise ApiError(400, f"request body is not JSON: {exc}") from None

    def drain(self) -> None:
        """Read and discard what is left, so the connection can carry the next request."""
        while self.read():
            pass


@dataclass(frozen=True, slots=True)
class Request:
    """One API request: method, decoded path parameters, query, headers and body."""

    method: str
    params: Mapping[str, str]
    query: Mapping[str, list[str]]
    headers: email.message.Message
    body: BodyReader

    def arg(self, name: str) -> str | None:
        """The first value of query parameter ``name``, if given."""
        values = self.query.get(name)
        return values[0] if values else None

    def required(self, name: str) -> str:
        """A required query parameter; ``400`` when it is missing or empty."""
        value = self.arg(name)
        if not value:
            raise ApiError(400, f"query parameter {name!r} is required")
        return value

    def flag(self, name: str, *, default: bool = False) -> bool:
        """A boolean query parameter (``True``/``true``/``1``...)."""
        return parse_bool(name, self.arg(name), default=default)

    def refuse(self, *names: str) -> None:
        """``501`` if any of these query parameters is set to a non-empty, non-false value."""
        for name in names:
            value = self.arg(name)
            if value and value.lower() not in {"false", "0"}:
                raise ApiError(501, f"the lakeFS double does not implement {name}={value}")


# -- request bodies --------------------------------------------------------------------------------
def body_object(body: object) -> dict[str, object]:
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object")
    return body


def body_text(body: Mapping[str, object], key: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise ApiError(400, f"{key!r} is required")
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"{key!r} must be a string")
    return value


def body_flag(body: Mapping[str, object], key: str) -> bool:
    value = body.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ApiError(400, f"{key!r} must be a boolean")
    return value


def body_metadata(body: Mapping[str, object], key: str = "metadata") -> dict[str, str]:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ApiError(400, f"{key!r} must map strings to strings")
    return dict(value)
