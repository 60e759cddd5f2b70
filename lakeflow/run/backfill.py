"""``lakeflow backfill``: re-extract a watermark window and publish it with merge semantics.

Effect. A backfill is a run (:func:`lakeflow.run.run`: one commit, one merge, recorded in the
history) of the pipeline with its source read for ``[from, to]`` of the incremental column
(:func:`lakeflow.run.watermarks.window_source`). It publishes into a ``merge`` dataset -- rows
already published are updated, never duplicated -- and writes the checkpoint back as it was at
its base: the watermark never moves backwards (nor forwards). A concurrent run conflicts with
it on the checkpoint and the table's log, so exactly one of them publishes. ``append`` and
``overwrite`` datasets are refused: re-extracting published rows would publish them twice, or
replace the dataset with the window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from returns.result import Failure

from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.core.errors import LakeflowError
from lakeflow.lakes import LakeLike, port_of
from lakeflow.run.pipeline import Pipeline, RunEvent
from lakeflow.run.transaction import Outcome, run
from lakeflow.run.watermarks import window_source

__all__ = ["backfill"]


def backfill(
    pipeline: Pipeline,
    lake: LakeLike,
    start: object,
    end: object,
    target: str = "main",
    *,
    on_event: Callable[[RunEvent], None] | None = None,
) -> Outcome:
    """Effect: publish the source's rows with ``start <= column <= end`` into ``target``.

    ``start`` and ``end`` are values of the incremental column's type, or text for them
    (``2024-01-01``, ``2024-01-01T12:00:00Z``, ``42``). Returns the run's outcome.

    Raises:
        LakeflowError: The dataset is not a ``merge`` dataset, the source is not incremental,
            the bounds are not values of its column, or the window is empty.
    """
    if pipeline.mode != "merge":
        raise LakeflowError(
            f"backfill publishes with merge semantics, but {pipeline.output_path!r} is an "
            f"{pipeline.mode} dataset: re-extracting rows it already holds would "
            + ("publish them twice" if pipeline.mode == "append" else "replace it with the window")
            + ". Set load.mode: merge with load.keys to backfill it"
        )
    port = port_of(lake)
    source = pipeline.resolved_source()
    if source.incremental is None:
        raise LakeflowError(
            f"pipeline {pipeline.name!r} reads its source whole (no source incremental): "
            "there is no watermark window to backfill; run it instead"
        )
    base = unwrap_io(port.resolve(target))
    if isinstance(base, Failure):
        raise LakeflowError(f"cannot backfill {target!r}: {base.failure().message}")
    window = window_source(source, port, base.unwrap(), start, end)
    if isinstance(window, Failure):
        raise LakeflowError(f"cannot backfill: {window.failure().message}")
    return run(replace(pipeline, source=window.unwrap()), port, target, on_event=on_event)
