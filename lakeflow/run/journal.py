"""The run's journal: timings, attempt counts and progress events of one run attempt.

Effect (it reads the clock and logs). The transaction's steps are pure functions of values
plus effects through ports; what is inherently a side effect of running them — how long each
step took, how many attempts it needed, the events a CLI shows and the log lines — is kept
here, in one mutable object per attempt. Event details are scrubbed of secrets before they
leave the process.
"""

from __future__ import annotations

import importlib.metadata
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TypeVar

from returns.io import IOResult
from returns.result import Result

from lakeflow.core.secrets import Secret, scrub
from lakeflow.run.events import event_logger
from lakeflow.run.pipeline import EventStatus, RetryPolicy, RunEvent
from lakeflow.run.plan import RunFacts
from lakeflow.run.retry import Retryable, retrying

__all__ = ["Journal", "lakeflow_version", "now"]

T = TypeVar("T")
E = TypeVar("E", bound=Retryable)

# Through the standard library's "lakeflow" logger: silent unless the application (or the CLI)
# configures logging, as a library should be (lakeflow.run.events).
_log = event_logger()


def now() -> datetime:
    """Effect. The current UTC time."""
    return datetime.now(UTC)


def lakeflow_version() -> str:
    """Effect. The installed lakeflow's version (``0+unknown`` in a bare source tree)."""
    try:
        return importlib.metadata.version("lakeflow")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


class Journal:
    """Timings, attempts and events of one run attempt (mutable on purpose)."""

    def __init__(
        self,
        pipeline: str,
        run_id: str,
        started: datetime,
        *,
        policy: RetryPolicy,
        secrets: Sequence[Secret] = (),
        on_event: Callable[[RunEvent], None] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.run_id = run_id
        self.started = started
        self.policy = policy
        self.secrets = tuple(secrets)
        self.on_event = on_event
        self.steps: dict[str, float] = {}
        self.attempts: dict[str, int] = {}
        self.failed: set[str] = set()

    def scrub(self, text: str) -> str:
        """Pure. ``text`` without any of this run's secrets."""
        return scrub(text, self.secrets)

    def emit(
        self, step: str, status: EventStatus, detail: str = "", seconds: float | None = None
    ) -> None:
        """Effect. Log an event and hand it to the caller's ``on_event``."""
        detail = self.scrub(detail)
        if status == "failed":
            self.failed.add(step)
        log = {"failed": _log.error, "retry": _log.warning}.get(status, _log.info)
        log(
            "lakeflow.step",
            run_id=self.run_id,
            pipeline=self.pipeline,
            step=step,
            status=status,
            detail=detail,
            seconds=seconds,
        )
        if self.on_event is not None:
            self.on_event(RunEvent(self.run_id, step, status, detail, seconds))

    def progress(self, step: str, rows: int) -> None:
        """Effect. Report rows read so far in a long step (not logged: displays only)."""
        if self.on_event is not None:
            self.on_event(RunEvent(self.run_id, step, "progress", f"{rows:,} rows", None, rows))

    def done(self, step: str, detail: str) -> None:
        """Effect. The ``ok`` event of a step, with the seconds it took."""
        self.emit(step, "ok", detail, self.steps.get(step))

    @contextmanager
    def timed(self, step: str) -> Iterator[None]:
        """Effect. Emit ``start`` and add the block's duration to the step's time."""
        self.emit(step, "start")
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.steps[step] = round(self.steps.get(step, 0.0) + time.perf_counter() - t0, 6)

    def facts(self, config_sha256: str | None) -> RunFacts:
        """Effect (reads the clock). The attempt's facts for its record, as they stand now."""
        return RunFacts(
            run_id=self.run_id,
            pipeline=self.pipeline,
            started_at=self.started,
            finished_at=now(),
            steps=dict(self.steps),
            attempts=dict(self.attempts),
            config_sha256=config_sha256,
            lakeflow_version=lakeflow_version(),
        )

    def count(self, step: str, attempts: int) -> None:
        """Effect. Add ``attempts`` to the step's attempt count."""
        self.attempts[step] = self.attempts.get(step, 0) + attempts

    def call(self, step: str, operation: Callable[[], IOResult[T, E]]) -> Result[T, E]:
        """Effect. ``operation`` with the run's retry policy; attempts counted under ``step``."""

        def on_retry(number: int, error: E) -> None:
            self.emit(step, "retry", f"attempt {number} failed: {error.message}")

        result, calls = retrying(self.policy, operation, on_retry=on_retry)
        self.count(step, calls)
        return result
