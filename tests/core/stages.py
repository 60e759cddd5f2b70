"""Helpers for stage tests: apply a stage to an eager frame, or expect a plan-time failure."""

from __future__ import annotations

import polars as pl
from returns.result import Failure

from lakeflow.core.errors import StageError
from lakeflow.core.stage import Stage


def run(stage: Stage, frame: pl.DataFrame) -> pl.DataFrame:
    """Apply ``stage`` to ``frame`` and collect (the test fails if the stage fails)."""
    return stage(frame.lazy()).unwrap().collect()


def plan_failure(stage: Stage, frame: pl.DataFrame) -> StageError:
    """The failure ``stage`` returns at plan time on ``frame`` (the test fails if it succeeds)."""
    result = stage(frame.lazy())
    assert isinstance(result, Failure), "expected the stage to fail at plan time"
    failure: StageError = result.failure()
    return failure
