"""Fault injection for the lakeFS double: error bursts, dropped uploads and slow responses.

Effect (thread-safe state shared by the server's request threads). Each fault matches
requests by HTTP method (``None``: any) and by an ``fnmatch`` pattern over the API path
without the ``/api/v1`` prefix and without the query (``"/repositories/*/branches/*/commits"``;
``"*"``: any), and fires for the next ``count`` matching requests. What fired is recorded in
:attr:`Faults.fired`, so a test can check that its client met the fault it planned::

    server.faults.burst(503, count=2, method="GET", path="/repositories/*/branches/*")
    server.faults.drop_upload(after_bytes=64 * 1024)     # the next upload dies mid-body
    server.faults.slow(5.0, path="/repositories/*/refs/*/objects")
    server.faults.clear()

:meth:`Faults.slow` returns a :class:`threading.Event` set when the request it holds arrives,
so a test can act while a client waits at a precise point (then :meth:`Faults.clear` lets the
request go on)::

    held = server.faults.slow(60, method="POST", path="/repositories/repo/refs/*/merge/main")
    ...  # start a client that merges into main
    assert held.wait(timeout=60)  # its merge is waiting inside the server now
    ...  # let another client publish first
    server.faults.clear()  # the held merge goes on, against the new head

A burst answers with the status and ``{"message": ...}`` after reading the request body. A
dropped upload reads part of the chunked body and closes the socket without a response; the
double stages nothing for it. A slow response waits inside the server before handling the
request; :meth:`Faults.clear` (and shutting the server down) cuts every wait short.
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

__all__ = ["BURST_STATUSES", "FaultKind", "FaultRecord", "Faults"]

FaultKind: TypeAlias = Literal["burst", "drop_upload", "slow"]

BURST_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
"""Statuses a burst may answer with: rate limiting and server-side (retryable) failures."""


@dataclass(frozen=True, slots=True)
class FaultRecord:
    """One injected fault that fired: its kind, the request it hit, and its status if any."""

    kind: FaultKind
    method: str
    path: str
    status: int | None = None


@dataclass(slots=True)
class _Rule:
    kind: FaultKind
    method: str | None
    path: str
    remaining: int
    status: int | None = None
    after_bytes: int | None = None
    seconds: float | None = None
    reached: threading.Event | None = None

    def matches(self, kind: FaultKind, method: str, path: str) -> bool:
        return (
            self.kind == kind
            and self.remaining > 0
            and (self.method is None or self.method == method)
            and fnmatch.fnmatchcase(path, self.path)
        )


def _check_count(count: int) -> None:
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError(f"count must be a positive int, got {count!r}")


def _check_method(method: str | None) -> str | None:
    if method is None:
        return None
    if not isinstance(method, str) or not method.isalpha():
        raise ValueError(f"method must be an HTTP method such as 'GET', got {method!r}")
    return method.upper()


class Faults:
    """Effect. The faults planned on one running double (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._fired: list[FaultRecord] = []
        self._wake = threading.Event()

    # -- planning (tests) -----------------------------------------------------------------------
    def burst(
        self, status: int, count: int = 1, *, method: str | None = None, path: str = "*"
    ) -> None:
        """Answer the next ``count`` matching requests with ``status`` (429 or 5xx)."""
        if status not in BURST_STATUSES:
            raise ValueError(f"status must be one of {sorted(BURST_STATUSES)}, got {status!r}")
        _check_count(count)
        rule = _Rule("burst", _check_method(method), path, count, status=status)
        with self._lock:
            self._rules.append(rule)

    def drop_upload(self, *, after_bytes: int = 1, count: int = 1, path: str = "*") -> None:
        """Close the connection of the next ``count`` matching uploads after ``after_bytes``
        bytes of their body were read (no response is sent; nothing is staged)."""
        if not isinstance(after_bytes, int) or isinstance(after_bytes, bool) or after_bytes < 1:
            raise ValueError(f"after_bytes must be a positive int, got {after_bytes!r}")
        _check_count(count)
        with self._lock:
            self._rules.append(_Rule("drop_upload", "POST", path, count, after_bytes=after_bytes))

    def slow(
        self, seconds: float, *, count: int = 1, method: str | None = None, path: str = "*"
    ) -> threading.Event:
        """Wait ``seconds`` inside the server before handling the next ``count`` matching
        requests (the wait ends early on :meth:`clear` or shutdown).

        Returns an event that is set when the first such request arrives (and waits).
        """
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds <= 0:
            raise ValueError(f"seconds must be a positive number, got {seconds!r}")
        _check_count(count)
        reached = threading.Event()
        rule = _Rule(
            "slow", _check_method(method), path, count, seconds=float(seconds), reached=reached
        )
        with self._lock:
            self._rules.append(rule)
        return reached

    def clear(self) -> None:
        """Forget every planned fault and the record of fired ones; end pending waits."""
        with self._lock:
            self._rules.clear()
            self._fired.clear()
            wake, self._wake = self._wake, threading.Event()
        wake.set()

    @property
    def fired(self) -> tuple[FaultRecord, ...]:
        """Every fault that fired since the last :meth:`clear`, in order."""
        with self._lock:
            return tuple(self._fired)

    @property
    def pending(self) -> int:
        """How many injections are still planned (0 once every fault has fired)."""
        with self._lock:
            return sum(r.remaining for r in self._rules)

    # -- firing (the server) --------------------------------------------------------------------
    def take(self, kind: FaultKind, method: str, path: str) -> _Rule | None:
        """Effect. The first planned fault of ``kind`` matching the request, now consumed."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(kind, method, path):
                    rule.remaining -= 1
                    self._fired.append(FaultRecord(kind, method, path, rule.status))
                    return rule
        return None

    def wait(self, seconds: float, reached: threading.Event | None = None) -> None:
        """Effect. Block up to ``seconds``; returns early on :meth:`clear` or :meth:`wake`.

        ``reached`` is set once the wait has begun: a :meth:`clear` after it ends the wait.
        """
        with self._lock:
            wake = self._wake
        if reached is not None:
            reached.set()
        wake.wait(seconds)

    def wake(self) -> None:
        """Effect. End every pending wait (the server calls this when it shuts down)."""
        with self._lock:
            wake = self._wake
        wake.set()
