"""``lakeflow reset``: set a pipeline's watermark in a commit of its own.

Effect. The checkpoint (``_lakeflow/checkpoints/<pipeline>.json``) is replaced on a run branch,
committed, merged into the target and recorded in the run history
(:class:`~lakeflow.run.operation.Operation`). With a value the next run reads rows at or after
it; without one the checkpoint holds no watermark and the next run starts over (from
``incremental.initial`` when the config sets one, else from the first row). A reset is undone
by reverting its merge commit (the record's note names it), which restores the checkpoint it
replaced. Data already published stays published: for a ``merge`` dataset re-reading rows is
harmless (they are upserted again), for an ``append`` dataset it publishes them again unless a
``unique`` key of scope ``published`` quarantines them.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from functools import partial

from returns.result import Failure, Result, Success

from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.core.errors import LakeflowError
from lakeflow.core.incremental import Watermark
from lakeflow.core.records import FailureRecord, RunRecord, WatermarkRange, encode_json
from lakeflow.lakes import LakeLike, port_of
from lakeflow.ports import Lake
from lakeflow.run.layout import checkpoint_path, target_problem
from lakeflow.run.operation import Operation
from lakeflow.run.pipeline import Pipeline
from lakeflow.run.plan import Progress, StepFailure
from lakeflow.run.watermarks import chosen_watermark

__all__ = ["reset_watermark"]


def _value(mark: Watermark | None) -> object:
    if mark is None:
        return None
    return mark.value.isoformat() if isinstance(mark.value, date) else mark.value


def reset_watermark(
    pipeline: Pipeline, lake: LakeLike, to: object | None = None, target: str = "main"
) -> Result[RunRecord, FailureRecord]:
    """Effect: set ``pipeline``'s watermark on ``target`` to ``to`` (``None``: start over).

    ``to`` is a value of the incremental column's type or text for one (``2024-01-01``); it is
    converted with the source's schema. Returns the operation's record (also in the history).

    Raises:
        LakeflowError: The pipeline's source is not incremental, ``target`` cannot be
            published to, or ``to`` is not a value of the incremental column.
    """
    port = port_of(lake)
    problem = target_problem(target)
    if problem is not None:
        raise LakeflowError(f"cannot reset on {target!r}: {problem}")
    source = pipeline.resolved_source()
    spec = source.incremental
    if spec is None:
        raise LakeflowError(
            f"pipeline {pipeline.name!r} reads its source whole (no source incremental): "
            "it has no watermark to reset"
        )
    operation = Operation(pipeline, port, target, "reset")
    started = operation.base()
    if isinstance(started, Failure):
        failed: StepFailure = started.failure()
        return operation.publish(failed.progress, lambda p: Failure(failed), "")
    progress = started.unwrap()
    assert progress.base is not None  # noqa: S101 - set by base()
    new: Watermark | None = None
    if to is not None:
        chosen = chosen_watermark(source, port, progress.base, to)
        if isinstance(chosen, Failure):
            raise LakeflowError(f"--to {to!r}: {chosen.failure().message}")
        new = chosen.unwrap()
    path = checkpoint_path(pipeline.name)
    previous = _previous(port, path, progress.base)
    run_id = operation.journal.run_id
    shown = "none (start over)" if new is None else repr(_value(new))
    progress = replace(
        progress,
        source={"kind": "reset", "column": spec.column, "to": _value(new)},
        watermark=WatermarkRange(spec.column, previous, new.to_json()["value"] if new else None),
        outputs={"checkpoint": path},
        note=f"watermark of {spec.column} set to {shown} by `lakeflow reset`; undo it by "
        f"reverting this run's merge commit on {target}",
    )
    document = {
        "pipeline": pipeline.name,
        "last_run_id": run_id,
        "watermark": new.to_json() if new is not None else None,
    }
    payload = (encode_json(document) + "\n").encode()

    def stage(current: Progress) -> Result[Progress, StepFailure]:
        branch = current.branch
        assert branch is not None  # noqa: S101 - set by the operation
        put = operation.journal.call(
            "write",
            partial(port.put_bytes, path, payload, branch=branch, content_type="application/json"),
        )
        if isinstance(put, Failure):
            return operation.fail("write", put.failure(), current)
        return Success(current)

    message = f"lakeflow: reset {pipeline.name} watermark to {shown}"
    return operation.publish(progress, stage, message)


def _previous(lake: Lake, path: str, base: str) -> object:
    """Effect. The watermark value the checkpoint held at ``base`` (for the record)."""
    found = unwrap_io(lake.get_bytes(path, ref=base))
    if isinstance(found, Failure):
        return None
    try:
        raw = json.loads(found.unwrap()).get("watermark")
        return raw.get("value") if isinstance(raw, dict) else None
    except (ValueError, AttributeError):
        return None
