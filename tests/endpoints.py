"""Real local endpoints for monitoring tests: an SMTP server (aiosmtpd), an HTTP server that
records what it is sent (webhooks, a Pushgateway-like ``/metrics/job/...``), a server that
accepts connections and never answers, and a closed port.

Everything listens on 127.0.0.1 only. Servers are started once per session by the fixtures in
``tests/conftest.py``; each test reads only what arrived under its own path or recipient.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message as EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

__all__ = [
    "HttpRecorder",
    "Received",
    "SilentServer",
    "SmtpRecorder",
    "closed_port",
    "self_signed_certificate",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def closed_port() -> int:
    """A port nothing listens on: connecting is refused at once (a dead channel)."""
    return free_port()


@dataclass
class Received:
    """One HTTP request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpRecorder:
    """An HTTP server on 127.0.0.1 recording every request.

    The path says how to answer: ``/status/CODE/...`` answers CODE; ``/flaky/N/...`` answers 503
    to the first N requests on that path, then 200; ``/slow/...`` waits until the server stops
    (a slow channel); anything else answers 200.
    """

    requests: list[Received] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def at(self, prefix: str) -> list[Received]:
        """The requests whose path starts with ``prefix``."""
        with self._lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    def start(self) -> None:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                received = Received(self.command, self.path, dict(self.headers), body)
                with recorder._lock:
                    recorder.requests.append(received)
                    seen = sum(1 for r in recorder.requests if r.path == self.path)
                parts = self.path.strip("/").split("/")
                status = 200
                if parts[0] == "status":
                    status = int(parts[1])
                elif parts[0] == "flaky" and seen <= int(parts[1]):
                    status = 503
                elif parts[0] == "slow":
                    recorder.stopping.wait(60)
                    return
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_POST = do_PUT = do_GET = _answer  # noqa: N815

            def log_message(self, format: str, *args: object) -> None:
                del format, args

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class _Collect:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        del server, session
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@dataclass
class SmtpRecorder:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 keeping the messages it accepts.

    With ``tls`` (a certificate and key file) it offers STARTTLS and requires it; with
    ``logins`` it requires AUTH with one of those ``user: password`` pairs.
    """

    tls: tuple[Path, Path] | None = None
    logins: dict[str, str] = field(default_factory=dict)
    port: int = 0
    _collect: _Collect = field(default_factory=_Collect)
    _controller: Controller | None = None
    logged_in: list[str] = field(default_factory=list)

    def start(self) -> None:
        self.port = free_port()
        kwargs: dict[str, Any] = {}
        if self.tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
            kwargs.update(tls_context=context, require_starttls=True)
        if self.logins:
            kwargs.update(authenticator=self._authenticate, auth_required=True)
            if self.tls is None:
                kwargs["auth_require_tls"] = False
        self._controller = Controller(self._collect, hostname="127.0.0.1", port=self.port, **kwargs)
        self._controller.start()

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        del server, session, envelope, mechanism
        if isinstance(data, LoginPassword):
            user, password = data.login.decode(), data.password.decode()
            if self.logins.get(user) == password:
                self.logged_in.append(user)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()

    def to(self, address: str) -> list[EmailMessage]:
        """The messages delivered to ``address``, parsed."""
        return [
            message_from_bytes(raw) for _, rcpts, raw in self._collect.messages if address in rcpts
        ]


class SilentServer:
    """Accepts TCP connections and never says a word (a hung SMTP or HTTP server)."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self.port = int(self._socket.getsockname()[1])

    def close(self) -> None:
        self._socket.close()


@contextmanager
def self_signed_certificate(folder: Path) -> Iterator[tuple[Path, Path]]:
    """A certificate for 127.0.0.1 and localhost (made with the openssl command) and its key."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    yield cert, key
