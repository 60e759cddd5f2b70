"""Assertion helpers for LakeFSLake's tests: unwrap an ``IOResult`` or fail clearly."""

from __future__ import annotations

import io
from typing import TypeVar

import polars as pl
from returns.io import IOResult
from returns.result import Failure

from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.core.errors import LakeError, LakeErrorCode

T = TypeVar("T")


def ok(result: IOResult[T, LakeError]) -> T:
    """The success value of ``result``; fails the test with the error otherwise."""
    outcome = unwrap_io(result)
    if isinstance(outcome, Failure):
        raise AssertionError(f"expected success, got {outcome.failure().message}")
    return outcome.unwrap()


def err(
    result: IOResult[object, LakeError], code: LakeErrorCode, *, retryable: bool | None = None
) -> LakeError:
    """The :class:`LakeError` of ``result``; fails the test unless it has ``code``."""
    outcome = unwrap_io(result)
    if not isinstance(outcome, Failure):
        raise AssertionError(f"expected a {code!r} failure, got {outcome!r}")
    error = outcome.failure()
    assert isinstance(error, LakeError), error
    assert error.code == code, f"expected {code!r}, got {error.message}"
    if retryable is not None:
        assert error.retryable is retryable, f"expected retryable={retryable}: {error.message}"
    return error


def parquet(frame: pl.DataFrame) -> bytes:
    """``frame`` as parquet bytes."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()
