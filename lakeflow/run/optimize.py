"""``lakeflow optimize``: compact a Delta table grown from many small runs, and vacuum it.

Effect. An operation of its own (:class:`~lakeflow.run.operation.Operation`: a run branch, one
commit, one merge, a history record). The table is materialised as a run does it (log copied,
live files linked, nothing copied), then:

* **compaction** -- delta-rs ``optimize.compact`` rewrites small live files into files of about
  ``target_size`` bytes, as a new table version (same rows);
* **vacuum** -- the files delta-rs's vacuum would remove (not referenced by the newest version,
  removed longer than ``retention_hours`` ago) are deleted *from the target's head*. They are
  not deleted physically: older commits of every branch and tag still reference them (time
  travel through the lake keeps working). Physical deletion is the lake's own garbage
  collection, which removes a blob only when no commit references it
  (:meth:`lakeflow.adapters.local.LocalLake.gc`; lakeFS' garbage collection rules).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import replace
from functools import partial
from pathlib import Path

from returns.result import Failure, Result, Success

from lakeflow.adapters import delta_table
from lakeflow.adapters.delta_table import LOG_FOLDER, is_delta_table
from lakeflow.adapters.lake_helpers import lake_error_from_os
from lakeflow.adapters.table_scan import dataset_objects
from lakeflow.core.errors import LakeError, LakeflowError
from lakeflow.core.records import FailureRecord, RunRecord
from lakeflow.lakes import LakeLike, port_of
from lakeflow.run.layout import target_problem
from lakeflow.run.operation import Operation
from lakeflow.run.pipeline import Pipeline
from lakeflow.run.plan import Progress, StepFailure
from lakeflow.run.table import TableFolder, link_into, materialise, put_written, schema_json

__all__ = ["optimize_table"]

DEFAULT_RETENTION_HOURS = 168
"""delta-rs's default: files removed less than 7 days ago are kept by vacuum."""


def optimize_table(
    pipeline: Pipeline,
    lake: LakeLike,
    target: str = "main",
    *,
    retention_hours: int = DEFAULT_RETENTION_HOURS,
    target_size: int | None = None,
) -> Result[RunRecord, FailureRecord]:
    """Effect: compact and vacuum ``pipeline``'s Delta table on ``target`` (see the module).

    Returns the operation's record (``note`` says what was done; nothing is committed when
    there is nothing to do).

    Raises:
        LakeflowError: The dataset is not a Delta table (``load.format``), or ``target``
            cannot be published to.
    """
    problem = target_problem(target)
    if problem is not None:
        raise LakeflowError(f"cannot optimize on {target!r}: {problem}")
    if pipeline.format != "delta":
        raise LakeflowError(
            f"{pipeline.output_path!r} is a parquet dataset: optimize compacts and vacuums "
            "Delta tables (load.format: delta, or load.mode: merge)"
        )
    if retention_hours < 0:
        raise LakeflowError(f"retention hours must be >= 0, got {retention_hours}")
    port = port_of(lake)
    operation = Operation(pipeline, port, target, "optimize")
    root_of = getattr(port, "scratch_dir", None)
    scratch = Path(tempfile.mkdtemp(prefix="lakeflow-optimize-", dir=root_of))
    try:

        def change(progress: Progress) -> Result[Progress, StepFailure]:
            return _optimize(operation, progress, scratch / "table", retention_hours, target_size)

        started = operation.base()
        if isinstance(started, Failure):
            failed: StepFailure = started.failure()
            return operation.publish(failed.progress, lambda p: Failure(failed), "")
        message = f"lakeflow: optimize {pipeline.name} table {pipeline.output_path}"
        return operation.publish(started.unwrap(), change, message)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _optimize(
    operation: Operation,
    progress: Progress,
    root: Path,
    retention_hours: int,
    target_size: int | None,
) -> Result[Progress, StepFailure]:
    lake, journal, path = operation.lake, operation.journal, operation.pipeline.output_path
    base, branch = progress.base, progress.branch
    assert base is not None and branch is not None  # noqa: S101 - set by the operation

    def fail(error: LakeError) -> Result[Progress, StepFailure]:
        return operation.fail("write", error, progress)

    listed = journal.call("write", partial(dataset_objects, lake, path, ref=base))
    if isinstance(listed, Failure):
        return fail(listed.failure())
    paths = [o.path for o in listed.unwrap()]
    if not is_delta_table(paths, path):
        return fail(LakeError("optimize", f"no Delta table at {path!r} yet", "not_found"))
    materialised = materialise(lake, journal, path, paths, base=base, root=root)
    if isinstance(materialised, Failure):
        return fail(materialised.failure())
    folder = materialised.unwrap()
    before = delta_table.load_state(root, table=path)
    if isinstance(before, Failure):
        return fail(before.failure())
    live = [f.path for f in before.unwrap().files]
    linked = link_into(lake, journal, path, folder, live, base=base)
    if isinstance(linked, Failure):
        return fail(linked.failure())
    ids = {"run_id": journal.run_id, "pipeline": operation.pipeline.name}
    compacted = delta_table.compact(root, target_size=target_size, **ids)
    if isinstance(compacted, Failure):
        return fail(compacted.failure())
    placeholders = _placeholders(folder, path, paths)
    if isinstance(placeholders, Failure):
        return fail(placeholders.failure())
    vacuumed = delta_table.unreferenced(root, retention_hours=retention_hours)
    if isinstance(vacuumed, Failure):
        return fail(vacuumed.failure())
    after = delta_table.load_state(root, table=path)
    if isinstance(after, Failure):
        return fail(after.failure())
    state = after.unwrap()
    put = put_written(lake, journal, path, branch, folder)
    if isinstance(put, Failure):
        return fail(put.failure())
    for name in vacuumed.unwrap():
        deleted = journal.call(
            "write", partial(lake.delete_object, f"{path}/{name}", branch=branch)
        )
        if isinstance(deleted, Failure):
            return fail(deleted.failure())
    metrics = compacted.unwrap()
    table = {
        "format": "delta",
        "path": path,
        "version": state.version,
        "schema": schema_json(state.schema),
        "live_files": len(state.files),
        "files_written": put.unwrap(),
        "vacuumed": len(vacuumed.unwrap()),
        "metrics": metrics,
    }
    note = (
        f"compacted {metrics.get('numFilesRemoved', 0)} file(s) into "
        f"{metrics.get('numFilesAdded', 0)}; removed {len(vacuumed.unwrap())} unreferenced "
        "file(s) from the head (older commits still hold them; the lake's gc deletes their "
        "data once no commit references them)"
    )
    return Success(replace(progress, table=table, note=note))


def _placeholders(folder: TableFolder, path: str, paths: list[str]) -> Result[None, LakeError]:
    """Empty stand-ins for the table's data objects not materialised, so vacuum sees every file
    (it decides from the log and the listing; it never reads them). Their modification time
    is the epoch: a file no log entry mentions is always old enough to vacuum."""
    log_prefix = f"{path}/{LOG_FOLDER}/"
    try:
        for full in paths:
            name = full[len(path) + 1 :]
            if full.startswith(log_prefix) or name in folder.linked:
                continue
            local = folder.root / name
            local.parent.mkdir(parents=True, exist_ok=True)
            local.touch()
            os.utime(local, (0, 0))
            folder.linked.add(name)
    except OSError as exc:
        return Failure(lake_error_from_os("optimize", exc, what="the table's scratch folder"))
    return Success(None)
