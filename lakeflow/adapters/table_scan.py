"""Reading a lake path as a dataset: the one reader every Lake adapter's ``scan_frame`` uses.

Effect (through the :class:`~lakeflow.ports.Lake` port only: ``list_objects``, ``get_bytes``,
``local_files``). A lake path is read as what it holds:

* a parquet **object**: itself;
* a **Delta table** (:func:`lakeflow.adapters.delta_table.is_delta_table`): its live rows at
  the ref -- the ``_delta_log`` is read into a temporary folder, delta-rs says which files are
  live, and only those are scanned (a file a merge replaced is never read, though it stays in
  the lake);
* a **folder** of ``*.parquet`` parts: all of them, in path order. Parts of different schemas
  (a column added between runs, a type widened) are read with their columns unified: a column
  a part lacks is null there, a type is the parts' common supertype. Published data stays
  readable whatever schema each run had.

The same module materialises a table for delta-rs writes (:func:`fetch_log`,
:func:`link_files`): the log copied, data files linked (hard links to the embedded lake's blob
files, or to lakeFS downloads), never copied when a link will do.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import polars as pl
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure

from lakeflow.adapters.delta_table import DeltaState, is_delta_table, load_state, log_objects
from lakeflow.adapters.lake_helpers import lake_error_from_os, unwrap_io
from lakeflow.core.errors import LakeError
from lakeflow.ports import Lake, ObjectInfo

__all__ = [
    "UPCAST",
    "dataset_objects",
    "delta_state",
    "fetch_log",
    "frame_of_parts",
    "link_files",
    "parquet_schema",
    "scan_dataset",
]

UPCAST: Final = pl.ScanCastOptions(integer_cast="upcast", float_cast="upcast")
"""Files written before a type widened are read at the wider type."""


def dataset_objects(
    lake: Lake, path: str, *, ref: str
) -> IOResult[tuple[ObjectInfo, ...], LakeError]:
    """Effect. Every object under the folder ``path`` at ``ref`` (not ``path`` itself)."""
    folder = path.rstrip("/") + "/"
    return lake.list_objects(folder, ref=ref)


def _not_found(lake: Lake, target: str, ref: str) -> LakeError:
    return LakeError(
        "scan_frame",
        f"no parquet object, Delta table or folder of *.parquet parts {target!r} at {ref!r} "
        f"in repository {lake.repository!r}",
        "not_found",
    )


def scan_dataset(lake: Lake, path: str, *, ref: str) -> IOResult[pl.LazyFrame, LakeError]:
    """Effect. A lazy frame over the dataset at ``path`` (see the module docstring)."""
    target = path[:-1] if path.endswith("/") else path

    def chosen(objects: tuple[ObjectInfo, ...]) -> IOResult[pl.LazyFrame, LakeError]:
        if any(o.path == target for o in objects):
            return lake.local_files([target], ref=ref).map(
                lambda files: pl.scan_parquet(list(files), glob=False, hive_partitioning=False)
            )
        under = [o.path for o in objects if o.path.startswith(target + "/")]
        if is_delta_table(under, target):
            return _delta_frame(lake, target, under, ref)
        parts = [p for p in under if p.endswith(".parquet")]
        if not parts:
            return IOFailure(_not_found(lake, target, ref))
        return lake.local_files(parts, ref=ref).bind(_parts_frame)

    return lake.list_objects(target, ref=ref).bind(chosen)


def _parts_frame(files: tuple[Path, ...]) -> IOResult[pl.LazyFrame, LakeError]:
    try:
        return IOSuccess(frame_of_parts(files))
    except OSError as exc:
        return IOFailure(lake_error_from_os("scan_frame", exc, what="a parquet part"))
    except pl.exceptions.PolarsError as exc:
        reason = f"a parquet part cannot be read: {exc}"
        return IOFailure(LakeError("scan_frame", reason, "corrupt"))


def parquet_schema(file: Path) -> pl.Schema:
    """Effect. The schema of a parquet file, from its footer (no rows read)."""
    return pl.read_parquet_schema(file)  # type: ignore[return-value]


def frame_of_parts(files: Sequence[Path]) -> pl.LazyFrame:
    """Effect (reads each part's footer). One lazy frame over parquet parts, in order; parts of
    different schemas are unified (missing columns null, types at their common supertype)."""
    paths = list(files)
    if len(paths) > 1:
        schemas = [parquet_schema(f) for f in paths]
        if any(s != schemas[0] for s in schemas[1:]):
            scans = [pl.scan_parquet(f, glob=False, hive_partitioning=False) for f in paths]
            return pl.concat(scans, how="diagonal_relaxed")
    return pl.scan_parquet(paths, glob=False, hive_partitioning=False)


def fetch_log(
    lake: Lake, folder: str, paths: Sequence[str], *, ref: str, into: Path
) -> IOResult[None, LakeError]:
    """Effect. Copy the ``_delta_log`` objects among ``paths`` that load the newest version
    of the table at ``folder`` into the local folder ``into`` (verified reads)."""
    for path in log_objects(paths, folder):
        got = unwrap_io(lake.get_bytes(path, ref=ref))
        if isinstance(got, Failure):
            return IOFailure(got.failure())
        local = into / path[len(folder) + 1 :]
        try:
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(got.unwrap())
        except OSError as exc:
            return IOFailure(lake_error_from_os("read table", exc, what="a Delta log copy"))
    return IOSuccess(None)


def delta_state(
    lake: Lake, folder: str, paths: Sequence[str], *, ref: str
) -> IOResult[DeltaState, LakeError]:
    """Effect. The newest version of the Delta table at ``folder`` (its log read into a
    temporary folder, removed afterwards)."""
    try:
        scratch = Path(tempfile.mkdtemp(prefix="lakeflow-delta-log-"))
    except OSError as exc:
        return IOFailure(lake_error_from_os("read table", exc, what="a Delta log copy"))
    try:
        fetched = unwrap_io(fetch_log(lake, folder, paths, ref=ref, into=scratch))
        if isinstance(fetched, Failure):
            return IOFailure(fetched.failure())
        state = load_state(scratch, table=folder)
        return (
            IOSuccess(state.unwrap())
            if not isinstance(state, Failure)
            else IOFailure(state.failure())
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _delta_frame(
    lake: Lake, folder: str, paths: Sequence[str], ref: str
) -> IOResult[pl.LazyFrame, LakeError]:
    def frame(state: DeltaState) -> IOResult[pl.LazyFrame, LakeError]:
        if not state.files:
            return IOSuccess(pl.LazyFrame(schema=state.schema))
        live = [f"{folder}/{f.path}" for f in state.files]
        return lake.local_files(live, ref=ref).map(
            lambda files: pl.scan_parquet(
                list(files),
                schema=state.schema,
                missing_columns="insert",
                extra_columns="ignore",
                cast_options=UPCAST,
                glob=False,
                hive_partitioning=False,
            )
        )

    return delta_state(lake, folder, paths, ref=ref).bind(frame)


def link_files(
    lake: Lake, folder: str, relative: Sequence[str], *, ref: str, into: Path
) -> IOResult[None, LakeError]:
    """Effect. Make each table file ``folder/<relative>`` at ``ref`` appear at
    ``into/<relative>`` without copying it: a hard link to the lake's local file (a symbolic
    link across filesystems). The files are read-only to delta-rs: it only ever adds files."""
    if not relative:
        return IOSuccess(None)

    def linked(files: tuple[Path, ...]) -> IOResult[None, LakeError]:
        try:
            for name, source in zip(relative, files, strict=True):
                local = into / name
                local.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(source, local)
                except OSError:
                    os.symlink(source, local)
        except OSError as exc:
            return IOFailure(lake_error_from_os("read table", exc, what="a table's data files"))
        return IOSuccess(None)

    return lake.local_files([f"{folder}/{r}" for r in relative], ref=ref).bind(linked)
