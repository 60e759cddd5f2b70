"""Execute lazy plans built by the core, reading each source once.

Effectful: this is where plans meet the engine. :func:`collect_together` runs any number of
result frames and parquet sinks as ONE ``pl.collect_all`` on the streaming engine, so plans that
share a cached input (such as a :class:`~lakeflow.core.validate.ValidationPlan`'s valid rows,
quarantine and statistics) read their source once. Failures while executing (Polars errors,
I/O errors, failures raised inside plans, Rust panics) come back as values.
"""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Literal

import polars as pl
from returns.result import Failure, Result, Success

from lakeflow.core.errors import (
    InvalidOption,
    StageError,
    catch_engine,
    from_exception,
    is_disk_full,
)
from lakeflow.core.validate import (
    Checks,
    PanderaSchema,
    Validated,
    ValidationOutcome,
    ValidationPlan,
    plan_validation,
)

__all__ = ["collect_together", "import_pandera", "validate"]


def collect_together(
    frames: Sequence[pl.LazyFrame],
    sinks: Sequence[tuple[pl.LazyFrame, Path]] = (),
    *,
    stage: str = "execute",
    engine: Literal["streaming", "in-memory"] = "streaming",
) -> Result[list[pl.DataFrame], StageError]:
    """Effect. Collect ``frames`` and write ``sinks`` to parquet in one streaming execution.

    Args:
        frames: Plans whose results are returned, in order.
        sinks: ``(plan, path)`` pairs written with ``sink_parquet`` (parent folders created).
        stage: The stage name failures carry.
        engine: ``in-memory`` evaluates every expression even on empty input (plan checks);
            ``streaming`` (the default) is for real data.

    Returns:
        ``Success`` with one DataFrame per frame, or ``Failure(StageError)`` when executing
        failed (nothing is guaranteed about sinks that were partly written). A full disk while
        writing the sinks is a ``LakeError`` of the ``write`` operation naming their folder
        and its free space.
    """
    plans = list(frames) + [plan.sink_parquet(path, lazy=True, mkdir=True) for plan, path in sinks]
    if not plans:
        return Success([])
    executed = catch_engine(lambda: pl.collect_all(plans, engine=engine), OSError)
    return executed.map(lambda results: list(results[: len(frames)])).alt(
        lambda exc: from_exception(exc, stage=stage, writing=_where(sinks, exc))
    )


def _where(sinks: Sequence[tuple[pl.LazyFrame, Path]], exc: BaseException) -> str | None:
    """Effect (reads free space). Where the sinks write, for a full disk; else ``None``."""
    if not sinks or not is_disk_full(exc):
        return None
    folder = Path(os.path.commonpath([path.parent for _, path in sinks]))
    try:
        usage = shutil.disk_usage(folder)
    except OSError:
        return f"the run's files to {folder}"
    return (
        f"the run's files to {folder} ({usage.free:,} bytes free of {usage.total:,} on that "
        "file system)"
    )


def validate(
    frame: pl.LazyFrame | pl.DataFrame, checks: Checks, *, now: datetime | None = None
) -> Result[Validated, StageError]:
    """Effect. Validate ``frame`` eagerly (for notebooks and tests): one read of the source.

    Returns:
        ``Success(Validated)`` whose ``valid`` and ``quarantine`` are in-memory frames (as
        lazy frames); ``Failure(ValidationFailed)`` when the data failed; another
        ``Failure(StageError)`` for invalid checks or a plan that failed to execute.
    """

    def executed(plan: ValidationPlan) -> Result[Validated, StageError]:
        collected = collect_together([plan.stats, plan.valid, plan.quarantine], stage="validate")
        return collected.bind(partial(_concluded, plan))

    return plan_validation(frame.lazy(), checks, now=now).bind(executed)


def _concluded(
    plan: ValidationPlan, collected: list[pl.DataFrame]
) -> Result[Validated, StageError]:
    stats, valid, quarantine = collected
    concluded: Result[ValidationOutcome, StageError] = plan.conclude(stats).alt(_widen)
    return concluded.map(
        lambda outcome: Validated(valid.lazy(), quarantine.lazy(), outcome.report, outcome.metrics)
    )


def _widen(failed: StageError) -> StageError:
    return failed


def import_pandera(target: str) -> Result[PanderaSchema, StageError]:
    """Effect. Import a pandera model or schema named ``package.module:Name`` (for the shell).

    Use with :func:`lakeflow.core.validate.resolve_pandera` after checking the result.
    """
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        found: object = module
        for part in attribute.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as exc:
        return Failure(
            InvalidOption(
                "validate",
                "pandera",
                target,
                (f"an importable 'package.module:Model' ({type(exc).__name__}: {exc})",),
            )
        )
    return Success(found)
