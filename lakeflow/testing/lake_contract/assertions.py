"""Assertion helpers of the Lake contract: unwrap an ``IOResult`` or fail the test clearly.

Effect (tests).
"""

# ruff: noqa: S101 - a test suite: assertions are its purpose (shipped for adapters' tests)
from __future__ import annotations

import io
from collections.abc import Callable
from typing import TypeAlias, TypeVar

import polars as pl
from returns.io import IOResult
from returns.result import Failure

from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.core.errors import LakeError, LakeErrorCode
from lakeflow.ports import Lake

__all__ = ["LakeFactory", "expect_failure", "expect_success", "parquet_bytes"]

T = TypeVar("T")

LakeFactory: TypeAlias = Callable[[], Lake]
"""Each call: a handle bound to a new repository that does not exist yet."""


def expect_success(result: IOResult[T, LakeError]) -> T:
    """Effect (test). The success value of ``result``; fails the test with the error if not."""
    outcome = unwrap_io(result)
    if isinstance(outcome, Failure):
        raise AssertionError(f"expected success, got {outcome.failure().message}")
    return outcome.unwrap()


def expect_failure(
    result: IOResult[object, LakeError],
    code: LakeErrorCode,
    *,
    retryable: bool | None = None,
) -> LakeError:
    """Effect (test). The :class:`LakeError` of ``result``; fails unless it has ``code``."""
    outcome = unwrap_io(result)
    if not isinstance(outcome, Failure):
        raise AssertionError(f"expected a {code!r} failure, got {outcome!r}")
    error = outcome.failure()
    assert isinstance(error, LakeError), error
    assert error.code == code, f"expected code {code!r}, got {error.message}"
    if retryable is not None:
        assert error.retryable is retryable, f"expected retryable={retryable}: {error.message}"
    return error


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()
