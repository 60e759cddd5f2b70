"""Publishing a run's valid rows into its dataset: the schema policy and Delta table writes.

Effect. The step between the audit and the write of a run (:mod:`lakeflow.run.transaction`),
on the run branch, so that everything it writes is part of the run's one commit and one merge:

1. it reads what the dataset holds at the run's **base** commit: a Delta table's log, or a
   parquet dataset's published schema (``_lakeflow/datasets/<path>/schema.parquet``, written
   by every run; the parts' footers for datasets published before);
2. it decides what the run's schema does to it under ``load.schema``
   (:func:`lakeflow.core.table.schema_change`): a run that does not fit stops here, naming
   every column, and the target is left untouched;
3. for a **parquet** dataset it records the published schema (the run's part is written by the
   write step; readers unify parts of different schemas);
4. for a **Delta** table it materialises the table in the run's scratch folder -- the
   ``_delta_log`` copied, and only the data files the operation reads linked in
   (:func:`lakeflow.adapters.table_scan.link_files`: hard links to the embedded lake's blobs,
   or lakeFS downloads; a merge reads the files whose key statistics overlap the run's keys)
   -- lets delta-rs append, overwrite or merge there, and puts only what delta-rs added (new
   data files, the new log entry, a checkpoint) on the run branch. Files a merge replaced are
   removed by the log, not deleted: older commits still read them.

Two runs from one base both write the table's next ``_delta_log`` entry, so their merges
conflict and exactly one publishes, as for every other output of a run.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TypeVar

import polars as pl
from returns.io import IOResult
from returns.result import Failure, Result, Success

from lakeflow.adapters import delta_table
from lakeflow.adapters.delta_table import DeltaState, delta_casts, is_delta_table
from lakeflow.adapters.lake_helpers import lake_error_from_os, unwrap_io
from lakeflow.adapters.table_scan import (
    UPCAST,
    dataset_objects,
    fetch_log,
    link_files,
    parquet_schema,
)
from lakeflow.core.errors import LakeError, SchemaMismatch, StageError
from lakeflow.core.records import Step
from lakeflow.core.table import SchemaChange, conform, schema_change
from lakeflow.ports import Lake
from lakeflow.run.execute import Executed
from lakeflow.run.journal import Journal
from lakeflow.run.layout import dataset_schema_path
from lakeflow.run.pipeline import Pipeline
from lakeflow.run.plan import StepFailure

__all__ = [
    "TableFolder",
    "content_type",
    "link_into",
    "materialise",
    "publish_table",
    "put_written",
    "schema_json",
    "written_files",
]

T = TypeVar("T")

_PARQUET = "application/vnd.apache.parquet"
_JSON = "application/json"


def schema_json(schema: pl.Schema) -> dict[str, str]:
    """Pure. A schema as the run record shows it: column -> type name."""
    return {name: str(dtype) for name, dtype in schema.items()}


@dataclass(frozen=True, slots=True)
class _Step:
    """One run's table step: what it works with."""

    pipeline: Pipeline
    lake: Lake
    journal: Journal
    executed: Executed
    scratch: Path

    @property
    def path(self) -> str:
        return self.pipeline.output_path

    @property
    def base(self) -> str:
        base = self.executed.progress.base
        assert base is not None  # noqa: S101 - set by the resolve step
        return base

    @property
    def branch(self) -> str:
        branch = self.executed.progress.branch
        assert branch is not None  # noqa: S101 - set by the resolve step
        return branch

    def stop(self, error: StageError) -> Failure[StepFailure]:
        step: Step = "validate" if isinstance(error, SchemaMismatch) else "write"
        progress = self.executed.progress
        return Failure(StepFailure(step, error, progress, self.executed.files))

    def lake_call(self, op: Callable[[], IOResult[T, LakeError]]) -> Result[T, LakeError]:
        return self.journal.call("write", op)

    def done(self, info: Mapping[str, object], outputs: Mapping[str, str]) -> Executed:
        progress = self.executed.progress
        note = str(info.get("change") or "")
        updated = replace(progress, table=info, outputs={**progress.outputs, **outputs})
        return replace(self.executed, progress=updated.noted(note) if note else updated)


def publish_table(
    pipeline: Pipeline, lake: Lake, journal: Journal, executed: Executed, scratch: Path
) -> Result[Executed, StepFailure]:
    """Effect. Apply the schema policy and, for a Delta table, publish the valid rows into it
    on the run branch (see the module docstring). A run with no valid row changes nothing
    (an ``overwrite`` still replaces the dataset)."""
    valid = executed.files.get("valid")
    if valid is None or (executed.progress.rows.valid == 0 and pipeline.mode != "overwrite"):
        return Success(executed)
    step = _Step(pipeline, lake, journal, executed, scratch)
    with journal.timed("table"):
        done = _delta(step, valid) if pipeline.format == "delta" else _parquet(step, valid)
    if isinstance(done, Success):
        table = done.unwrap().progress.table or {}
        journal.done("table", _summary(step.path, table))
    return done


def _summary(path: str, table: Mapping[str, object]) -> str:
    if table.get("format") != "delta":
        return f"parquet dataset {path}" + (f": {table['change']}" if table.get("change") else "")
    metrics = table.get("metrics")
    counts = ""
    if isinstance(metrics, Mapping) and "num_target_rows_updated" in metrics:
        counts = (
            f": {metrics.get('num_target_rows_inserted', 0)} inserted, "
            f"{metrics.get('num_target_rows_updated', 0)} updated, "
            f"{metrics.get('num_target_rows_deleted', 0)} deleted"
        )
    return f"delta table {path} version {table.get('version')}{counts}"


# -- parquet datasets ---------------------------------------------------------------------------


def _unified(schemas: list[pl.Schema]) -> pl.Schema:
    frames = [pl.LazyFrame(schema=s) for s in schemas]
    return (
        frames[0].collect_schema()
        if len(frames) == 1
        else pl.concat(frames, how="diagonal_relaxed").collect_schema()
    )


def _published_parquet(step: _Step) -> Result[tuple[pl.Schema | None, str | None], StageError]:
    """The parquet dataset's published schema at the base, and the run of its newest part."""
    lake, path, base = step.lake, step.path, step.base
    listed = step.lake_call(partial(dataset_objects, lake, path, ref=base))
    if isinstance(listed, Failure):
        return Failure(listed.failure())
    paths = [o.path for o in listed.unwrap()]
    if is_delta_table(paths, path):
        reason = (
            f"{path!r} is a Delta table; a parquet part cannot be added to it: set "
            "load.format: delta (or publish to another load.path)"
        )
        return Failure(LakeError("write", reason, "invalid"))
    parts = sorted(p for p in paths if p.endswith(".parquet"))
    if not parts:
        return Success((None, None))
    newest = parts[-1].rsplit("/", 1)[-1]
    last_run = (
        newest.removeprefix("part-").removesuffix(".parquet")
        if newest.startswith("part-")
        else None
    )
    doc = unwrap_io(lake.get_bytes(dataset_schema_path(path), ref=base))
    if isinstance(doc, Success):
        try:
            return Success((pl.read_parquet_schema(io.BytesIO(doc.unwrap())), last_run))  # type: ignore[arg-type]
        except pl.exceptions.PolarsError as exc:
            reason = f"the published schema of {path!r} cannot be read: {exc}"
            return Failure(LakeError("read schema", reason, "corrupt"))
    if doc.failure().code != "not_found":
        return Failure(doc.failure())
    files = step.lake_call(partial(lake.local_files, parts, ref=base))
    if isinstance(files, Failure):
        return Failure(files.failure())
    try:
        schemas = [parquet_schema(f) for f in files.unwrap()]
    except (OSError, pl.exceptions.PolarsError) as exc:
        return Failure(LakeError("read schema", f"a part of {path!r}: {exc}", "corrupt"))
    return Success((_unified(schemas), last_run))


def _parquet(step: _Step, valid: Path) -> Result[Executed, StepFailure]:
    pipeline = step.pipeline
    try:
        incoming = parquet_schema(valid)
    except (OSError, pl.exceptions.PolarsError) as exc:
        return step.stop(
            LakeError("write", f"the run's valid rows cannot be read: {exc}", "invalid")
        )
    published: pl.Schema | None = None
    last_run: str | None = None
    if pipeline.mode != "overwrite":
        found = _published_parquet(step)
        if isinstance(found, Failure):
            return step.stop(found.failure())
        published, last_run = found.unwrap()
    decided = schema_change(
        published, incoming, pipeline.table.schema, dataset=step.path, last_run=last_run
    )
    if isinstance(decided, Failure):
        return step.stop(decided.failure())
    change = decided.unwrap()
    document = io.BytesIO()
    pl.DataFrame(schema=change.schema).write_parquet(document)
    put = step.lake_call(
        partial(
            step.lake.put_bytes,
            dataset_schema_path(step.path),
            document.getvalue(),
            branch=step.branch,
            content_type=_PARQUET,
        )
    )
    if isinstance(put, Failure):
        return step.stop(put.failure())
    info = {"format": "parquet", "path": step.path, "schema": schema_json(change.schema)}
    if not change.new and change.describe():
        info["change"] = change.describe()
    return Success(step.done(info, {"schema": dataset_schema_path(step.path)}))


# -- Delta tables -------------------------------------------------------------------------------


@dataclass(slots=True)
class TableFolder:
    """A table materialised for delta-rs: its local root and what was put there before it ran.

    Attributes:
        root: The local folder delta-rs works on.
        copied: Log files copied in: relative path -> sha256 (delta-rs may rewrite
            ``_last_checkpoint``; a changed file is published again).
        linked: Files linked (or stood in for) that delta-rs only reads: never published.
    """

    root: Path
    copied: dict[str, str] = field(default_factory=dict)
    linked: set[str] = field(default_factory=set)


def _sha256(file: Path) -> str:
    return hashlib.sha256(file.read_bytes()).hexdigest()


def materialise(
    lake: Lake, journal: Journal, path: str, paths: list[str], *, base: str, root: Path
) -> Result[TableFolder, LakeError]:
    """Effect. ``root`` holding the log of the table at ``path`` at ``base`` (empty when the
    folder holds no Delta table yet); data files are linked in on demand (:func:`link_into`)."""
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return Failure(lake_error_from_os("write", exc, what="the table's scratch folder"))
    folder = TableFolder(root)
    if not is_delta_table(paths, path):
        return Success(folder)
    fetched = journal.call("write", partial(fetch_log, lake, path, paths, ref=base, into=root))
    if isinstance(fetched, Failure):
        return Failure(fetched.failure())
    for file in root.rglob("*"):
        if file.is_file():
            folder.copied[file.relative_to(root).as_posix()] = _sha256(file)
    return Success(folder)


def link_into(
    lake: Lake, journal: Journal, path: str, folder: TableFolder, names: list[str], *, base: str
) -> Result[None, LakeError]:
    """Effect. Link the table's data files ``names`` (relative paths) into the folder."""
    wanted = [n for n in names if n not in folder.linked]
    linked = journal.call(
        "write", partial(link_files, lake, path, wanted, ref=base, into=folder.root)
    )
    if isinstance(linked, Failure):
        return Failure(linked.failure())
    folder.linked.update(wanted)
    return Success(None)


def written_files(folder: TableFolder) -> list[tuple[str, Path]]:
    """Effect. What delta-rs added or changed in the folder: ``(relative path, file)``."""
    out = []
    for file in sorted(folder.root.rglob("*")):
        if not file.is_file() or file.is_symlink():
            continue
        name = file.relative_to(folder.root).as_posix()
        if name in folder.linked:
            continue
        if name in folder.copied and folder.copied[name] == _sha256(file):
            continue
        out.append((name, file))
    return out


def put_written(
    lake: Lake, journal: Journal, path: str, branch: str, folder: TableFolder
) -> Result[int, LakeError]:
    """Effect. Put what delta-rs wrote on ``branch`` under ``path`` (moved, not copied, into
    the embedded lake); how many files."""
    try:
        written = written_files(folder)
    except OSError as exc:
        return Failure(lake_error_from_os("write", exc, what="the table's scratch folder"))
    for name, file in written:
        put = journal.call(
            "write",
            partial(
                lake.put_file,
                f"{path}/{name}",
                file,
                branch=branch,
                content_type=content_type(name),
                move=True,
            ),
        )
        if isinstance(put, Failure):
            return Failure(put.failure())
    return Success(len(written))


def content_type(name: str) -> str:
    """Pure. The content type a table file is stored with."""
    if name.endswith(".parquet"):
        return _PARQUET
    if name.endswith((".json", "_last_checkpoint")):
        return _JSON
    return "application/octet-stream"


def _rows(
    step: _Step, valid: Path, change: SchemaChange, casts: dict[str, pl.DataType]
) -> pl.DataFrame:
    frame = pl.scan_parquet(valid).with_columns([pl.col(c).cast(t) for c, t in casts.items()])
    delete = step.pipeline.table.delete_column
    conformed = conform(frame, change)
    if delete is not None:
        flag = frame.select(pl.col(delete).cast(pl.Boolean))
        conformed = pl.concat([conformed, flag], how="horizontal")
    return conformed.collect(engine="streaming")


def _delta(step: _Step, valid: Path) -> Result[Executed, StepFailure]:
    pipeline, path = step.pipeline, step.path
    table = pipeline.table
    listed = step.lake_call(partial(dataset_objects, step.lake, path, ref=step.base))
    if isinstance(listed, Failure):
        return step.stop(listed.failure())
    paths = [o.path for o in listed.unwrap()]
    exists = is_delta_table(paths, path)
    if not exists and paths and pipeline.mode != "overwrite":
        reason = (
            f"{path!r} holds objects but no Delta table (a parquet dataset?): a Delta table "
            "cannot be created over them; publish to a new load.path, or overwrite it once"
        )
        return step.stop(LakeError("write", reason, "invalid"))
    materialised = materialise(
        step.lake, step.journal, path, paths, base=step.base, root=step.scratch / "table"
    )
    if isinstance(materialised, Failure):
        return step.stop(materialised.failure())
    folder = materialised.unwrap()
    state: DeltaState | None = None
    if exists:
        loaded = delta_table.load_state(folder.root, table=path)
        if isinstance(loaded, Failure):
            return step.stop(loaded.failure())
        state = loaded.unwrap()
    try:
        incoming = parquet_schema(valid)
    except (OSError, pl.exceptions.PolarsError) as exc:
        return step.stop(
            LakeError("write", f"the run's valid rows cannot be read: {exc}", "invalid")
        )
    if table.delete_column is not None:
        incoming = pl.Schema({k: v for k, v in incoming.items() if k != table.delete_column})
    casts = delta_casts(incoming)
    if isinstance(casts, Failure):
        hint = f"{path!r} on the target was left untouched."
        return step.stop(SchemaMismatch(path, table.schema, (casts.failure(),), hint))
    storable = pl.Schema({k: casts.unwrap().get(k, v) for k, v in incoming.items()})
    published = state.schema if state is not None and pipeline.mode != "overwrite" else None
    decided = schema_change(
        published,
        storable,
        table.schema,
        dataset=path,
        last_run=state.last_run if state is not None else None,
    )
    if isinstance(decided, Failure):
        return step.stop(decided.failure())
    change = decided.unwrap()
    rows = _rows(step, valid, change, casts.unwrap())
    applied = _apply(step, folder, state, change, rows)
    if isinstance(applied, Failure):
        return step.stop(applied.failure())
    return _put(step, folder, change, applied.unwrap())


def _apply(
    step: _Step,
    folder: TableFolder,
    state: DeltaState | None,
    change: SchemaChange,
    rows: pl.DataFrame,
) -> Result[dict[str, int], LakeError]:
    """Effect. Run delta-rs on the materialised table: widen, add columns, then the write."""
    pipeline, root = step.pipeline, folder.root
    table, ids = pipeline.table, {"run_id": step.journal.run_id, "pipeline": pipeline.name}
    delete = table.delete_column
    kept = rows if delete is None else rows.filter(~pl.col(delete).fill_null(value=False))
    plain = kept if delete is None else kept.drop(delete)
    if pipeline.mode == "overwrite" or state is None:
        write = delta_table.overwrite if pipeline.mode == "overwrite" else delta_table.append
        return write(root, plain, **ids).map(lambda _: {})
    if change.widened:
        live = [f.path for f in state.files]
        linked = link_into(step.lake, step.journal, step.path, folder, live, base=step.base)
        if isinstance(linked, Failure):
            return Failure(linked.failure())
        files = [str(root / name) for name in live]
        everything = (
            pl.scan_parquet(
                files, schema=state.schema, missing_columns="insert", cast_options=UPCAST
            )
            if files
            else pl.LazyFrame(schema=state.schema)
        )
        rewritten = delta_table.overwrite(root, conform(everything, change).collect(), **ids)
        if isinstance(rewritten, Failure):
            return Failure(rewritten.failure())
    elif change.added:
        added = pl.Schema({name: change.schema[name] for name in change.added})
        extended = delta_table.add_columns(root, added, **ids)
        if isinstance(extended, Failure):
            return Failure(extended.failure())
    if pipeline.mode == "append":
        return delta_table.append(root, plain, **ids).map(lambda _: {})
    current = delta_table.load_state(root, table=step.path)
    if isinstance(current, Failure):
        return Failure(current.failure())
    bounds = delta_table.key_bounds(rows, table.keys)
    needed = [f.path for f in delta_table.overlapping(current.unwrap(), bounds)]
    missing = [n for n in needed if not (root / n).exists()]
    linked = link_into(step.lake, step.journal, step.path, folder, missing, base=step.base)
    if isinstance(linked, Failure):
        return Failure(linked.failure())
    return delta_table.merge(root, rows, table.keys, delete_column=delete, bounds=bounds, **ids)


def _put(
    step: _Step, folder: TableFolder, change: SchemaChange, metrics: dict[str, int]
) -> Result[Executed, StepFailure]:
    """Effect. Put what delta-rs wrote on the run branch; the table's record entry."""
    after = delta_table.load_state(folder.root, table=step.path)
    if isinstance(after, Failure):
        return step.stop(after.failure())
    state = after.unwrap()
    put = put_written(step.lake, step.journal, step.path, step.branch, folder)
    if isinstance(put, Failure):
        return step.stop(put.failure())
    info: dict[str, object] = {
        "format": "delta",
        "path": step.path,
        "version": state.version,
        "schema": schema_json(state.schema),
        "files_written": put.unwrap(),
        "live_files": len(state.files),
    }
    if not change.new and change.describe():
        info["change"] = change.describe()
    if metrics:
        info["metrics"] = metrics
    return Success(step.done(info, {"valid": step.path, "table": step.path}))
