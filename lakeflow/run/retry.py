"""The one retry mechanism: tenacity, driven by the failure value's ``retryable`` flag.

Effect (it sleeps between attempts). Every effect the shell sequences that can fail
transiently (extract, lake operations, database loads, history commits) goes through
:func:`retrying`, bounded in attempts and in time, with exponential backoff and jitter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from returns.io import IOResult
from returns.result import Failure, Result
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_result,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from lakeflow.ports import unwrap_io
from lakeflow.run.pipeline import RetryPolicy

__all__ = ["Retryable", "retrying"]


class Retryable(Protocol):
    """A failure value that says whether trying again can succeed."""

    @property
    def retryable(self) -> bool: ...  # pragma: no cover - protocol

    @property
    def message(self) -> str: ...  # pragma: no cover - protocol


T = TypeVar("T")
E = TypeVar("E", bound=Retryable)


def _retryable(result: object) -> bool:
    return isinstance(result, Failure) and bool(getattr(result.failure(), "retryable", False))


def retrying(
    policy: RetryPolicy,
    operation: Callable[[], IOResult[T, E]],
    *,
    on_retry: Callable[[int, E], None] | None = None,
) -> tuple[Result[T, E], int]:
    """Effect. Run ``operation`` until it succeeds, fails for good, or the policy gives up.

    Args:
        policy: Attempts (``max_retries + 1``), the time bound and the backoff.
        operation: The effect; a ``Failure`` whose value is ``retryable`` is tried again.
        on_retry: Called with the attempt number and the failure before each backoff.

    Returns:
        The last result and the number of attempts made.
    """
    calls = 0

    def once() -> Result[T, E]:
        nonlocal calls
        calls += 1
        return unwrap_io(operation())

    def before_sleep(state: RetryCallState) -> None:
        outcome = state.outcome.result() if state.outcome is not None else None
        if on_retry is not None and isinstance(outcome, Failure):
            on_retry(state.attempt_number, outcome.failure())

    def give_up(state: RetryCallState) -> Result[T, E]:
        last: Result[T, E] = state.outcome.result()  # type: ignore[union-attr]  # set once tried
        return last

    retryer = Retrying(
        stop=stop_after_attempt(policy.max_retries + 1) | stop_after_delay(policy.timeout_seconds),
        wait=wait_exponential_jitter(
            multiplier=policy.initial_backoff_s,
            max=policy.max_backoff_s,
            jitter=policy.initial_backoff_s,
        ),
        retry=retry_if_result(_retryable),
        before_sleep=before_sleep,
        retry_error_callback=give_up,
    )
    result: Result[T, E] = retryer(once)
    return result, calls
