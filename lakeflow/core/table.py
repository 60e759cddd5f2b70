"""Published datasets as tables: formats, merge by key and schema policies, the pure parts.

Pure. A pipeline publishes to one lake path in one of three modes: ``append`` (a part per run),
``overwrite`` (the dataset replaced) or ``merge`` (upsert by key into a Delta table: the
newest version of a key wins, rows flagged by a delete column are removed). This module holds
what those modes mean without touching a lake: the options (:class:`TableOptions`), the
decision what a run's schema does to the published one under ``load.schema``
(:func:`schema_change`), how a run's rows are made to fit it (:func:`conform`), the stage that
keeps one version per key (:func:`latest_per_key`) and the rule that a merge key is present
(:func:`key_rule`).

>>> published = pl.Schema({"id": pl.Int64, "age": pl.Int32})
>>> rows = pl.Schema({"id": pl.Int64, "age": pl.Int64, "nick": pl.String})
>>> change = schema_change(published, rows, "add_columns", dataset="users").unwrap()
>>> change.added, change.widened, dict(change.schema)["age"]
(('nick',), ('age',), Int64)
>>> for problem in schema_change(published, rows, "strict", dataset="users").failure().problems:
...     print(problem)
column 'age' changed type: published Int32, the rows have Int64
column 'nick' (String) is new in the rows
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, TypeAlias, get_args

import polars as pl
from returns.result import Failure, Result, Success

from lakeflow.core.errors import SchemaMismatch
from lakeflow.core.stage import Stage, StageResult

if TYPE_CHECKING:
    from lakeflow.core.validate import Rule

__all__ = [
    "LOAD_MODES",
    "SCHEMA_POLICIES",
    "TABLE_FORMATS",
    "LoadMode",
    "SchemaChange",
    "SchemaPolicy",
    "TableFormat",
    "TableOptions",
    "conform",
    "key_rule",
    "latest_per_key",
    "schema_change",
    "widens",
]

LoadMode: TypeAlias = Literal["append", "overwrite", "merge"]
"""``append`` adds the run's rows, ``overwrite`` replaces the dataset, ``merge`` upserts by key."""
TableFormat: TypeAlias = Literal["delta", "parquet"]
"""``delta``: a Delta Lake table (data files and ``_delta_log/``); ``parquet``: a folder of
``part-<run_id>.parquet`` files."""
SchemaPolicy: TypeAlias = Literal["strict", "add_columns", "evolve"]
"""``strict``: the rows must have the published schema; ``add_columns``: new columns are added
(older rows read as null); ``evolve``: also publish nulls for columns the rows no longer have."""
LOAD_MODES: Final[tuple[str, ...]] = get_args(LoadMode)
TABLE_FORMATS: Final[tuple[str, ...]] = get_args(TableFormat)
SCHEMA_POLICIES: Final[tuple[str, ...]] = get_args(SchemaPolicy)

_LADDERS: Final[tuple[tuple[pl.DataType, ...], ...]] = (
    (pl.Int8(), pl.Int16(), pl.Int32(), pl.Int64()),
    (pl.UInt8(), pl.UInt16(), pl.UInt32(), pl.UInt64()),
    (pl.Float32(), pl.Float64()),
)
"""Safe widenings: a type may become a later type of its own ladder, never another ladder."""


def widens(old: pl.DataType, new: pl.DataType) -> bool:
    """Pure. Whether every value of type ``old`` is exactly a value of type ``new`` (a wider one).

    >>> widens(pl.Int32(), pl.Int64()), widens(pl.Int64(), pl.Int32())
    (True, False)
    >>> widens(pl.Int64(), pl.Float64())
    False
    """
    if old == pl.Null and new != pl.Null:
        return True
    for ladder in _LADDERS:
        if old in ladder and new in ladder:
            return ladder.index(old) < ladder.index(new)
    return False


@dataclass(frozen=True, slots=True)
class TableOptions:
    """How a pipeline's dataset is kept: its format, merge keys, delete column, schema policy.

    Attributes:
        format: ``delta`` or ``parquet``; ``None`` picks ``delta`` for ``merge`` (the only
            format that can merge) and ``parquet`` for ``append`` and ``overwrite``.
        keys: The columns identifying a row of a ``merge`` dataset.
        delete_column: A boolean column of the rows: ``true`` removes the key from the table
            (the column itself is not published). ``merge`` only.
        schema: What a run whose columns differ from the published ones does
            (:data:`SchemaPolicy`).
        order_by: For ``merge``: the column saying which of a run's versions of a key is the
            newest (a pipeline defaults it to its source's incremental column).
    """

    format: TableFormat | None = None
    keys: tuple[str, ...] = ()
    delete_column: str | None = None
    schema: SchemaPolicy = "add_columns"
    order_by: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", tuple(self.keys))

    def format_for(self, mode: LoadMode) -> TableFormat:
        """Pure. The format a dataset published in ``mode`` has."""
        if self.format is not None:
            return self.format
        return "delta" if mode == "merge" else "parquet"

    def problems(self, mode: str) -> list[tuple[str, str]]:
        """Pure. What is wrong with these options for ``mode``: ``(option, problem)`` pairs."""
        found: list[tuple[str, str]] = []
        if mode not in LOAD_MODES:
            return [("mode", f"must be one of {', '.join(LOAD_MODES)}, got {mode!r}")]
        if self.format is not None and self.format not in TABLE_FORMATS:
            found.append(("format", f"must be one of {', '.join(TABLE_FORMATS)}"))
        if self.schema not in SCHEMA_POLICIES:
            found.append(("schema", f"must be one of {', '.join(SCHEMA_POLICIES)}"))
        if mode == "merge":
            if not self.keys:
                found.append(
                    ("keys", "required with mode: merge (the columns that identify a row)")
                )
            if self.format == "parquet":
                found.append(("format", "mode: merge needs format: delta (parquet cannot merge)"))
            if self.delete_column is not None and self.delete_column in self.keys:
                found.append(("delete_column", f"{self.delete_column!r} is a key, not a flag"))
        else:
            if self.keys:
                found.append(("keys", f"only used with mode: merge, not mode: {mode}"))
            if self.delete_column is not None:
                found.append(("delete_column", f"only used with mode: merge, not mode: {mode}"))
        return found


@dataclass(frozen=True, slots=True)
class SchemaChange:
    """What a run does to a dataset's schema, decided before anything is written.

    Attributes:
        schema: The dataset's schema once the run is published (published columns first).
        added: Columns the run adds (older rows read as null).
        dropped: Published columns the run's rows lack (published as null; ``evolve`` only).
        widened: Published columns whose type the run widens (``Int32`` to ``Int64``...).
        cast: Columns of the rows cast to the wider published type.
        new: True when nothing was published before (the run's schema is the dataset's).
    """

    schema: pl.Schema
    added: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    widened: tuple[str, ...] = ()
    cast: tuple[str, ...] = ()
    new: bool = False

    @property
    def unchanged(self) -> bool:
        """True when the published schema stays as it is."""
        return not (self.added or self.dropped or self.widened or self.new)

    def describe(self) -> str:
        """Pure. The change in words for run notes (empty when the schema is unchanged)."""
        parts = []
        if self.added:
            parts.append(f"added column(s) {', '.join(self.added)}")
        if self.dropped:
            parts.append(f"published null for missing column(s) {', '.join(self.dropped)}")
        if self.widened:
            shown = ", ".join(f"{c} to {self.schema[c]}" for c in self.widened)
            parts.append(f"widened {shown}")
        return "; ".join(parts)


def _since(last_run: str | None) -> str:
    return f" (last published by run {last_run})" if last_run else ""


def schema_change(
    published: pl.Schema | None,
    incoming: pl.Schema,
    policy: SchemaPolicy,
    *,
    dataset: str,
    last_run: str | None = None,
) -> Result[SchemaChange, SchemaMismatch]:
    """Pure. What publishing rows of schema ``incoming`` does to ``published`` under ``policy``.

    A column added to the rows is added to the dataset (``add_columns``, ``evolve``); a
    published column the rows lack fails the run unless ``evolve`` (published as null); a
    changed type fails the run unless it widens safely (:func:`widens`) -- either way round:
    the dataset keeps the wider type. ``strict`` accepts no difference at all but a row type
    that widens to the published one. Every problem is named, with both types and the run
    that last published the dataset.
    """
    if published is None:
        return Success(SchemaChange(pl.Schema(incoming), new=True))
    problems: list[str] = []
    hints: list[str] = []
    schema: dict[str, pl.DataType] = {}
    dropped: list[str] = []
    widened: list[str] = []
    cast: list[str] = []
    for name, old in published.items():
        new = incoming.get(name)
        if new is None:
            if policy == "evolve":
                dropped.append(name)
            else:
                problems.append(f"column {name!r} ({old}) is published but missing from the rows")
                hints.append(
                    "set load.schema: evolve to publish nulls for a column the source dropped, "
                    "or bring the column back"
                )
            schema[name] = old
        elif new == old:
            schema[name] = old
        elif widens(new, old):
            cast.append(name)
            schema[name] = old
        elif widens(old, new) and policy != "strict":
            widened.append(name)
            schema[name] = new
        else:
            problems.append(
                f"column {name!r} changed type: published {old}{_since(last_run)}, "
                f"the rows have {new}"
            )
            hints.append(
                f"convert {name!r} back to {old} in the transform (clean.type_conversions), "
                "or publish to a new load.path: a published column's type only widens "
                "(Int32 to Int64, Float32 to Float64)"
            )
            schema[name] = old
    added = [name for name in incoming.names() if name not in published]
    if added and policy == "strict":
        problems.extend(f"column {name!r} ({incoming[name]}) is new in the rows" for name in added)
        hints.append(
            "set load.schema: add_columns to publish new columns (older rows read as null), "
            "or leave them out before publishing"
        )
    if problems:
        said = ". ".join(dict.fromkeys(hints))
        hint = f"{said[:1].upper()}{said[1:]}. {dataset!r} on the target was left untouched."
        return Failure(SchemaMismatch(dataset, policy, tuple(problems), hint))
    schema.update({name: incoming[name] for name in added})
    return Success(
        SchemaChange(pl.Schema(schema), tuple(added), tuple(dropped), tuple(widened), tuple(cast))
    )


def conform(frame: pl.LazyFrame, change: SchemaChange) -> pl.LazyFrame:
    """Pure. ``frame`` in the dataset's schema after ``change``: published columns first (cast
    up where the rows are narrower, typed nulls where they are missing), then added ones."""
    present = frame.collect_schema()
    columns = [
        pl.col(name).cast(dtype) if name in present else pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in change.schema.items()
    ]
    return frame.select(columns)


_SORTABLE: Final = (pl.Boolean, pl.String, pl.Binary, pl.Date, pl.Datetime, pl.Time, pl.Duration)


def _sortable(dtype: pl.DataType) -> bool:
    return dtype.is_numeric() or isinstance(dtype, _SORTABLE)


def latest_per_key(keys: Sequence[str], order_by: str | None) -> Stage:
    """Pure. A stage keeping one row per key: the newest by ``order_by``, deterministically.

    Rows of one key are ordered by ``order_by`` (nulls oldest), then by every other sortable
    column, so which row wins never depends on the order the source returned them in. Without
    ``order_by`` the greatest row in column order wins.

    >>> frame = pl.LazyFrame({"id": [1, 1, 2], "ts": [2, 1, 1], "v": ["new", "old", "x"]})
    >>> latest_per_key(["id"], "ts")(frame).unwrap().sort("id").collect()["v"].to_list()
    ['new', 'x']
    """
    key = tuple(keys)
    order = (order_by,) if order_by is not None and order_by not in key else ()

    def latest(frame: pl.LazyFrame) -> StageResult:
        schema = frame.collect_schema()
        rest = [c for c in schema.names() if c not in key and c not in order]
        by = [*order, *(c for c in rest if _sortable(schema[c]))]
        ordered = frame.sort(by, nulls_last=False, maintain_order=True) if by else frame
        return Success(ordered.unique(subset=list(key), keep="last", maintain_order=True))

    return Stage("latest_per_key", latest, requires=key + order)


def key_rule(keys: Sequence[str]) -> Rule:
    """Pure. The rule that every part of a merge key is present (a null key never matches).

    >>> key_rule(["id"]).name
    'merge_key:id'
    """
    from lakeflow.core.validate import Rule  # here: config.load imports this module

    condition = pl.all_horizontal([pl.col(k).is_not_null() for k in keys])
    return Rule(f"merge_key:{','.join(keys)}", condition, "error", "fail")
