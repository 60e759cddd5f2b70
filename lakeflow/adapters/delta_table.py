"""Delta Lake tables through delta-rs (``deltalake``): what a table folder holds, and its writes.

Effect (on a local folder). A lake object store is not a filesystem delta-rs can write through
with lakeflow's transaction (a run commits once, on its own branch), so delta-rs works on a
local *materialised* folder: the table's ``_delta_log/`` copied, and the data files an
operation reads linked in (on the embedded lake, hard links to its content-addressed blobs: no
data is copied). delta-rs writes new data files and a new log entry there; the shell puts only
those on the run branch (:mod:`lakeflow.run.table`). This module owns:

* the one decision "is this folder a Delta table" (:func:`is_delta_table`), used by every
  reader of a lake path (:mod:`lakeflow.adapters.table_scan`);
* which ``_delta_log`` objects load the newest version (:func:`log_objects`);
* the table's state from its log (:func:`load_state`: version, schema, live files and their
  statistics, the run that last wrote it);
* the operations: append, overwrite, merge by key (with key-range pruning, so only files whose
  statistics overlap the run's keys are read and only files holding its keys are rewritten),
  add columns, compaction and the list of files vacuum would remove.

delta-rs errors (``DeltaError`` and subclasses, Arrow errors) and ``OSError`` become
:class:`~lakeflow.core.errors.LakeError` values; nothing here raises for a bad table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Final, Literal, TypeVar
from urllib.parse import unquote

import polars as pl
from deltalake import CommitProperties, DeltaTable, Field, WriterProperties, write_deltalake
from deltalake.exceptions import DeltaError
from returns.result import Failure, Result, Success

from lakeflow.adapters.lake_helpers import lake_error_from_os
from lakeflow.core.errors import LakeError

__all__ = [
    "LOG_FOLDER",
    "DataFile",
    "DeltaState",
    "KeyBounds",
    "add_columns",
    "append",
    "compact",
    "delta_casts",
    "is_delta_table",
    "key_bounds",
    "load_state",
    "log_objects",
    "merge",
    "overlapping",
    "overwrite",
    "unreferenced",
]

T = TypeVar("T")

LOG_FOLDER: Final = "_delta_log"
_VERSIONED: Final = re.compile(r"(\d{20})\.(json|checkpoint\.parquet|checkpoint\..+)")
_COMMIT: Final = re.compile(r"\d{20}\.json")
_CHECKPOINT: Final = re.compile(r"(\d{20})\.checkpoint(\.\d{10}\.\d{10})?\.parquet")
_SOURCE, _TARGET = "s", "t"
_WRITER: Final = WriterProperties(compression="ZSTD")
"""Data files are zstd-compressed, as Polars writes parquet (about 5x smaller than delta-rs's
default snappy on the benchmark's users table)."""
_DELTA_ERRORS: Final = (DeltaError, ValueError, TypeError, RuntimeError)
"""What delta-rs raises for a table or data it refuses (its own errors, Arrow's ValueError and
TypeError, RuntimeError for failed object-store I/O)."""


def is_delta_table(paths: Iterable[str], folder: str) -> bool:
    """Pure. Whether the objects ``paths`` make ``folder`` a Delta table: it has a commit (or a
    checkpoint) in ``folder/_delta_log/``. The one place lakeflow decides it.

    >>> is_delta_table(["t/_delta_log/00000000000000000000.json", "t/part-0.parquet"], "t")
    True
    >>> is_delta_table(["t/part-0.parquet"], "t")
    False
    """
    prefix = f"{folder}/{LOG_FOLDER}/"
    for path in paths:
        if path.startswith(prefix):
            name = path[len(prefix) :]
            if _COMMIT.fullmatch(name) or _CHECKPOINT.fullmatch(name):
                return True
    return False


def log_objects(paths: Iterable[str], folder: str) -> list[str]:
    """Pure. The ``_delta_log`` objects that load the table's newest version: the newest
    checkpoint, the commits after it and the unversioned files (``_last_checkpoint``)."""
    prefix = f"{folder}/{LOG_FOLDER}/"
    entries = [p for p in paths if p.startswith(prefix)]
    checkpoints = [
        int(found.group(1))
        for p in entries
        if (found := _CHECKPOINT.fullmatch(p[len(prefix) :])) is not None
    ]
    since = max(checkpoints, default=-1)
    kept = []
    for path in entries:
        versioned = _VERSIONED.fullmatch(path[len(prefix) :])
        if versioned is None or int(versioned.group(1)) >= since:
            kept.append(path)
    return kept


@dataclass(frozen=True, slots=True)
class DataFile:
    """A live data file of a table: its path relative to the table's folder, and its size."""

    path: str
    size: int


@dataclass(frozen=True, slots=True, eq=False)
class DeltaState:
    """A Delta table's newest version as its log says.

    Attributes:
        version: The table version.
        schema: The table's schema as Polars reads it.
        files: The live data files (what a reader reads; removed files are not listed).
        stats: One row per live file: ``path`` and the ``min.<column>`` / ``max.<column>``
            statistics delta-rs recorded (used to find the files a merge may touch).
        last_run: The lakeflow run that wrote the newest version (``None`` if another writer).
    """

    version: int
    schema: pl.Schema
    files: tuple[DataFile, ...]
    stats: pl.DataFrame
    last_run: str | None


def _delta_error(op: str, exc: Exception, root: Path) -> LakeError:
    text = str(exc).strip().replace(str(root), "<table>") or type(exc).__name__
    if isinstance(exc, OSError):
        return lake_error_from_os(op, exc, what="a Delta table")
    return LakeError(op, f"delta-rs: {text}", "invalid")


def _guarded(op: str, root: Path, body: Callable[[], T]) -> Result[T, LakeError]:
    """Run a delta-rs call; its refusals and I/O errors become a ``LakeError`` value."""
    try:
        return Success(body())
    except OSError as exc:
        return Failure(lake_error_from_os(op, exc, what="a Delta table"))
    except _DELTA_ERRORS as exc:
        return Failure(_delta_error(op, exc, root))


def load_state(root: Path, *, table: str) -> Result[DeltaState, LakeError]:
    """Effect. The newest version of the table whose log is materialised under ``root``.

    ``table`` names the table (its lake path) in errors. A log delta-rs cannot read is
    ``corrupt``.
    """

    def body() -> DeltaState:
        delta = DeltaTable(str(root))
        actions = pl.DataFrame(delta.get_add_actions(flatten=True))
        paths = [unquote(p) for p in actions.get_column("path").to_list()] if actions.height else []
        sizes = actions.get_column("size_bytes").to_list() if actions.height else []
        stats = (
            actions.with_columns(pl.Series("path", paths, dtype=pl.String)) if paths else actions
        )
        history = delta.history(1)
        custom = history[0] if history else {}
        run = custom.get("lakeflow.run_id")
        return DeltaState(
            version=delta.version(),
            schema=pl.Schema(delta.schema()),
            files=tuple(DataFile(p, int(s)) for p, s in zip(paths, sizes, strict=True)),
            stats=stats,
            last_run=run if isinstance(run, str) else None,
        )

    loaded = _guarded("read table", root, body)
    return loaded.alt(
        lambda error: LakeError(
            "read table", f"the Delta log of {table!r} cannot be read: {error.reason}", "corrupt"
        )
    )


# -- types ----------------------------------------------------------------------------------------

_UNSIGNED: Final[Mapping[pl.DataType, pl.DataType]] = {
    pl.UInt8(): pl.Int16(),
    pl.UInt16(): pl.Int32(),
    pl.UInt32(): pl.Int64(),
    pl.UInt64(): pl.Decimal(20, 0),
}


def delta_casts(schema: pl.Schema) -> Result[dict[str, pl.DataType], str]:
    """Pure. The casts that make columns of ``schema`` storable in Delta (a Delta table reads
    back as these types), or which column cannot be stored and why.

    Unsigned integers widen to the next signed type, categoricals become text, datetimes
    become microseconds (zoned ones in UTC), all-null columns text.
    """
    casts: dict[str, pl.DataType] = {}
    bad: list[str] = []
    for name, dtype in schema.items():
        if dtype in _UNSIGNED:
            casts[name] = _UNSIGNED[dtype]
        elif isinstance(dtype, pl.Categorical | pl.Enum) or dtype == pl.Null:
            casts[name] = pl.String()
        elif isinstance(dtype, pl.Datetime):
            wanted = pl.Datetime("us", "UTC" if dtype.time_zone else None)
            if dtype != wanted:
                casts[name] = wanted
        elif isinstance(dtype, pl.Time | pl.Duration | pl.Object) or dtype == pl.Float16:
            bad.append(f"{name!r} ({dtype})")
    if bad:
        return Failure(
            f"column(s) {', '.join(bad)} cannot be stored in a Delta table; convert them "
            "(to text or numbers) in the transform"
        )
    return Success(casts)


# -- merge pruning --------------------------------------------------------------------------------

KeyBounds = Mapping[str, tuple[object, object]]
"""Per key column: the smallest and largest value among a merge's source rows."""

_BOUNDABLE = (int, float, str, date)


def key_bounds(frame: pl.DataFrame, keys: Sequence[str]) -> KeyBounds:
    """Pure. The range of each key column of ``frame`` (only numbers, text and dates: the
    columns a merge predicate can bound; empty for an empty frame)."""
    if frame.height == 0:
        return {}
    found: dict[str, tuple[object, object]] = {}
    row = frame.select(
        [pl.col(k).min().alias(f"min:{k}") for k in keys]
        + [pl.col(k).max().alias(f"max:{k}") for k in keys]
    ).row(0, named=True)
    for key in keys:
        low, high = row[f"min:{key}"], row[f"max:{key}"]
        if isinstance(low, _BOUNDABLE) and isinstance(high, _BOUNDABLE) and type(low) is type(high):
            found[key] = (low, high)
    return found


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: object) -> str:
    if isinstance(value, datetime):
        return f"'{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"'{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def _predicate(keys: Sequence[str], bounds: KeyBounds) -> str:
    """The merge condition: keys equal, and (so delta-rs skips files by their statistics) the
    target's keys within the source's range. A target row outside the range cannot match."""
    parts = [f"{_SOURCE}.{_identifier(k)} = {_TARGET}.{_identifier(k)}" for k in keys]
    for key, (low, high) in bounds.items():
        column = f"{_TARGET}.{_identifier(key)}"
        parts.append(f"{column} >= {_literal(low)} AND {column} <= {_literal(high)}")
    return " AND ".join(parts)


def overlapping(state: DeltaState, bounds: KeyBounds) -> list[DataFile]:
    """Pure. The live files a merge with these key ranges may read: those whose statistics
    overlap every bounded key's range (files without statistics always)."""
    if not bounds or state.stats.height == 0:
        return list(state.files)
    keep = pl.lit(value=True)
    for key, (low, high) in bounds.items():
        low_col, high_col = f"min.{key}", f"max.{key}"
        if low_col not in state.stats.columns or high_col not in state.stats.columns:
            continue
        lo, hi = pl.col(low_col), pl.col(high_col)
        unknown = lo.is_null() | hi.is_null()
        keep = keep & (unknown | ((hi >= pl.lit(low)) & (lo <= pl.lit(high))))
    chosen = set(state.stats.filter(keep).get_column("path").to_list())
    return [f for f in state.files if f.path in chosen]


# -- writes ---------------------------------------------------------------------------------------


def _properties(run_id: str, pipeline: str) -> CommitProperties:
    return CommitProperties(
        custom_metadata={"lakeflow.run_id": run_id, "lakeflow.pipeline": pipeline}
    )


def append(
    root: Path, rows: pl.DataFrame, *, run_id: str, pipeline: str
) -> Result[None, LakeError]:
    """Effect. Append ``rows`` to the table at ``root`` (created when it does not exist)."""
    return _guarded(
        "append to table",
        root,
        lambda: write_deltalake(
            str(root),
            rows,
            mode="append",
            writer_properties=_WRITER,
            commit_properties=_properties(run_id, pipeline),
        ),
    )


def overwrite(
    root: Path, rows: pl.DataFrame, *, run_id: str, pipeline: str
) -> Result[None, LakeError]:
    """Effect. Replace the table's rows and schema by ``rows`` (a new version; the old files
    are removed in the log, not deleted)."""
    return _guarded(
        "overwrite table",
        root,
        lambda: write_deltalake(
            str(root),
            rows,
            mode="overwrite",
            schema_mode="overwrite",
            writer_properties=_WRITER,
            commit_properties=_properties(run_id, pipeline),
        ),
    )


def add_columns(
    root: Path, columns: pl.Schema, *, run_id: str, pipeline: str
) -> Result[None, LakeError]:
    """Effect. Add nullable ``columns`` to the table's schema (a metadata-only version)."""

    def body() -> None:
        empty = pl.DataFrame(schema=columns).to_arrow()
        fields = [Field.from_arrow(f) for f in empty.schema]
        DeltaTable(str(root)).alter.add_columns(
            fields, commit_properties=_properties(run_id, pipeline)
        )

    return _guarded("add columns", root, body)


MergeMetrics = dict[str, int]


def merge(
    root: Path,
    rows: pl.DataFrame,
    keys: Sequence[str],
    *,
    delete_column: str | None,
    bounds: KeyBounds,
    run_id: str,
    pipeline: str,
) -> Result[MergeMetrics, LakeError]:
    """Effect. Upsert ``rows`` into the table by ``keys`` (keys must be unique in ``rows``).

    A matched row is replaced, a new key inserted; with ``delete_column`` a row flagged true
    deletes its key (and is never inserted), and the column is not written. ``bounds`` restrict
    the target rows the merge may match (see :func:`_predicate`): only files whose statistics
    overlap are read, only files holding a matched key are rewritten.
    """
    columns = [c for c in rows.columns if c != delete_column]
    values = {_identifier(c): f"{_SOURCE}.{_identifier(c)}" for c in columns}

    def body() -> MergeMetrics:
        merger = DeltaTable(str(root)).merge(
            rows,
            predicate=_predicate(keys, bounds),
            source_alias=_SOURCE,
            target_alias=_TARGET,
            writer_properties=_WRITER,
            commit_properties=_properties(run_id, pipeline),
        )
        if delete_column is not None:
            flag = f"{_SOURCE}.{_identifier(delete_column)}"
            merger = merger.when_matched_delete(predicate=f"{flag} IS TRUE")
            merger = merger.when_matched_update(values, predicate=f"{flag} IS NOT TRUE")
            merger = merger.when_not_matched_insert(values, predicate=f"{flag} IS NOT TRUE")
        else:
            merger = merger.when_matched_update(values).when_not_matched_insert(values)
        metrics = merger.execute()
        return {k: int(v) for k, v in metrics.items() if isinstance(v, int)}

    return _guarded("merge into table", root, body)


def compact(
    root: Path, *, target_size: int | None, run_id: str, pipeline: str
) -> Result[MergeMetrics, LakeError]:
    """Effect. Rewrite small files into fewer large ones (delta-rs ``optimize.compact``)."""

    def body() -> MergeMetrics:
        metrics = DeltaTable(str(root)).optimize.compact(
            target_size=target_size,
            writer_properties=_WRITER,
            commit_properties=_properties(run_id, pipeline),
        )
        return {k: int(v) for k, v in metrics.items() if isinstance(v, int | float)}

    return _guarded("compact table", root, body)


def unreferenced(root: Path, *, retention_hours: int) -> Result[list[str], LakeError]:
    """Effect. The files delta-rs's vacuum would remove: not referenced by the newest version
    and removed longer than ``retention_hours`` ago (paths relative to ``root``). Nothing is
    deleted (a dry run)."""

    def body() -> list[str]:
        found = DeltaTable(str(root)).vacuum(
            retention_hours=retention_hours, dry_run=True, enforce_retention_duration=False
        )
        prefix = root.as_posix().rstrip("/") + "/"
        return sorted(unquote(str(f)).removeprefix("file://").removeprefix(prefix) for f in found)

    return _guarded("vacuum table", root, body)


WriteKind = Literal["append", "overwrite", "merge"]
