"""The lakeFS double's HTTP server: a real server on 127.0.0.1, one thread per connection.

Effect. :class:`LakeFSDouble` listens on ``127.0.0.1`` at a free port (stdlib
``ThreadingHTTPServer``, HTTP/1.1 keep-alive), authenticates every API request with HTTP Basic
auth against the key and secret it was started with (lakeFS' ``401`` body
``{"message":"error authenticating request"}``; only ``/healthcheck`` is public), applies
planned faults, and dispatches to :mod:`lakeflow.testing.lakefs.api`. It records each request
(method, path, status) so benchmarks can count HTTP calls, and records any internal failure of
the double itself: :meth:`LakeFSDouble.check` raises if there was one, so a bug in the double
fails the test that met it instead of hiding behind a ``500``.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import shutil
import tempfile
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Final
from urllib.parse import parse_qs, unquote, urlsplit

from lakeflow.testing.lakefs.api import Api
from lakeflow.testing.lakefs.backend import Backend
from lakeflow.testing.lakefs.faults import Faults
from lakeflow.testing.lakefs.wire import (
    ApiError,
    BodyReader,
    ConnectionDropped,
    Request,
    Response,
    error,
    json_response,
)

__all__ = ["DEFAULT_NAMESPACE_PATTERN", "LakeFSDouble", "RequestRecord", "running_lakefs"]

DEFAULT_NAMESPACE_PATTERN: Final = r"^(s3|gs|https?|mem|local|transient)://"
"""Storage namespaces the double accepts by default: every scheme lakeFS' API allows."""

_PREFIX: Final = "/api/v1"
_COPY: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request the double answered (``status`` is ``None`` for a dropped connection;
    ``chunked`` says whether its body came with ``Transfer-Encoding: chunked``)."""

    method: str
    path: str
    status: int | None
    chunked: bool = False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, double: LakeFSDouble) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.double = double


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 300  # an idle keep-alive connection's thread ends after this
    disable_nagle_algorithm = True  # headers and body go out as separate writes

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the double records requests in :attr:`LakeFSDouble.requests` instead."""

    def do_GET(self) -> None:  # http.server's naming
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        double = self.server.double
        url = urlsplit(self.path)
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        length_text = self.headers.get("Content-Length")
        try:
            length = int(length_text) if length_text and not chunked else 0
        except ValueError:
            length = 0
        body = BodyReader(self.rfile, length=length, chunked=chunked, drop_after=None)
        response: Response | None
        if not url.path.startswith(_PREFIX + "/"):
            path = url.path
            response = error(404, "not found")
        else:
            segments = tuple(unquote(s) for s in url.path[len(_PREFIX) + 1 :].split("/"))
            path = "/" + "/".join(segments)
            response = self._respond(double, segments, path, url.query, body)
        if response is not None and not body.done:
            try:
                body.drain()
            except (ConnectionDropped, ApiError):
                response = None
        if response is None:
            self.close_connection = True
            double.record(RequestRecord(self.command, path, None, chunked))
            return
        double.record(RequestRecord(self.command, path, response.status, chunked))
        try:
            self._write(response)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away; nothing to answer

    def _respond(
        self,
        double: LakeFSDouble,
        segments: tuple[str, ...],
        path: str,
        query: str,
        body: BodyReader,
    ) -> Response | None:
        """The response to one API request, or ``None`` to drop the connection."""
        method = self.command
        slow = double.faults.take("slow", method, path)
        if slow is not None and slow.seconds is not None:
            double.faults.wait(slow.seconds, slow.reached)
        burst = double.faults.take("burst", method, path)
        if burst is not None and burst.status is not None:
            return error(burst.status, f"injected fault: {burst.status}")
        route = double.api.match(method, segments)
        if route is None:
            return error(501, f"the lakeFS double does not implement {method} {_PREFIX}{path}")
        if not route.public and not double.authorized(self.headers.get("Authorization")):
            return error(401, "error authenticating request")
        if route.name == "upload_object":
            drop = double.faults.take("drop_upload", method, path)
            if drop is not None and drop.after_bytes is not None:
                body.arm_drop(drop.after_bytes)
        request = Request(
            method, route.params, parse_qs(query, keep_blank_values=True), self.headers, body
        )
        try:
            return route.handler(request)
        except ApiError as exc:
            return json_response(exc.status, dict(exc.body), headers=exc.headers)
        except ConnectionDropped:
            return None
        except Exception:  # recorded and raised again by check(), never hidden
            double.record_failure(f"{method} {path}\n{traceback.format_exc()}")
            return error(500, "internal error in the lakeFS double (see LakeFSDouble.check())")

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers:
            self.send_header(name, value)
        if response.status not in {204, 304}:
            self.send_header("Content-Length", str(response.size))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if response.file is None:
            self.wfile.write(response.body)
            return
        with open(response.file, "rb") as source:
            source.seek(response.offset)
            left = response.length
            while left > 0:
                chunk = source.read(min(_COPY, left))
                if not chunk:
                    raise ConnectionResetError("the object's blob is shorter than its size")
                self.wfile.write(chunk)
                left -= len(chunk)


class LakeFSDouble:
    """Effect. A running lakeFS server double (see :func:`running_lakefs`).

    Attributes:
        endpoint: ``http://127.0.0.1:PORT``: pass it as ``lakefs.Client(host=...)`` (the SDK
            appends ``/api/v1``) or as ``LAKECTL_SERVER_ENDPOINT_URL``.
        access_key_id: The access key the server accepts.
        secret_access_key: The secret the server accepts (never shown by ``repr``).
        data_dir: The folder holding the repositories' data.
        faults: Plan error bursts, dropped uploads and slow responses here.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        committer: str = "lakeflow-double",
        namespace_pattern: str = DEFAULT_NAMESPACE_PATTERN,
    ) -> None:
        self.access_key_id = access_key_id or "AKIALF" + secrets.token_hex(7).upper()
        self.secret_access_key = secret_access_key or secrets.token_urlsafe(30)
        self.faults = Faults()
        self.data_dir = Path(data_dir)
        self._backend = Backend(self.data_dir, namespace_pattern=namespace_pattern)
        self.api = Api(self._backend, committer=committer, namespace_pattern=namespace_pattern)
        self._lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._failures: list[str] = []
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="lakefs-double", daemon=True
        )
        self._thread.start()

    def __repr__(self) -> str:
        return f"LakeFSDouble({self.endpoint!r}, access_key_id={self.access_key_id!r})"

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT`` (without ``/api/v1``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> tuple[RequestRecord, ...]:
        """Every request answered (or dropped) since the last :meth:`clear_requests`."""
        with self._lock:
            return tuple(self._requests)

    def clear_requests(self) -> None:
        """Effect. Forget the recorded requests."""
        with self._lock:
            self._requests.clear()

    def record(self, record: RequestRecord) -> None:
        """Effect. Remember one answered request (called by the server's threads)."""
        with self._lock:
            self._requests.append(record)

    def record_failure(self, report: str) -> None:
        """Effect. Remember an internal failure of the double (a bug, with its traceback)."""
        with self._lock:
            self._failures.append(report)

    def check(self) -> None:
        """Effect. Raise ``RuntimeError`` if the double failed internally since it started."""
        with self._lock:
            failures = list(self._failures)
        if failures:
            raise RuntimeError("the lakeFS double failed internally:\n" + "\n".join(failures))

    def authorized(self, header: str | None) -> bool:
        """Pure. Whether an ``Authorization`` header carries this server's key and secret."""
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(token.strip(), validate=True)
        except ValueError:
            return False
        key, sep, secret = decoded.partition(b":")
        key_ok = hmac.compare_digest(key, self.access_key_id.encode())
        secret_ok = hmac.compare_digest(secret, self.secret_access_key.encode())
        return bool(sep) and key_ok and secret_ok

    def close(self) -> None:
        """Effect. Stop serving, end pending fault waits and close the embedded lakes."""
        self.faults.wake()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._backend.close()

    def __enter__(self) -> LakeFSDouble:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


@contextmanager
def running_lakefs(
    data_dir: str | Path | None = None,
    *,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    namespace_pattern: str = DEFAULT_NAMESPACE_PATTERN,
) -> Iterator[LakeFSDouble]:
    """Effect. A lakeFS double for the ``with`` block (outside pytest too).

    Args:
        data_dir: Where the repositories' data lives; a temporary folder (deleted afterwards)
            when ``None``.
        access_key_id: The access key to accept; random when ``None``.
        secret_access_key: The secret to accept; random when ``None``.
        namespace_pattern: Regex storage namespaces must match.
    """
    temporary = data_dir is None
    folder = Path(tempfile.mkdtemp(prefix="lakefs-double-")) if data_dir is None else Path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with LakeFSDouble(
            folder,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            namespace_pattern=namespace_pattern,
        ) as double:
            yield double
    finally:
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)
