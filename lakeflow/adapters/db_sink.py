"""Load rows into a database table through ADBC: append, replace or idempotent upsert.

Effectful. :class:`DatabaseSink` implements the :class:`~lakeflow.ports.Sink` port for
PostgreSQL (``adbc-driver-postgresql``) and SQLite (``adbc-driver-sqlite``).

* **One transaction per load.** Creating the table, clearing it (``replace``), staging and
  inserting all happen in one transaction: a failure leaves the table exactly as it was.
* **Streaming.** Rows flow from ``LazyFrame.collect_batches(chunk_size=batch_size)`` into
  ``adbc_ingest`` (PostgreSQL ``COPY``): the frame is never collected whole.
* **Types.** Columns are cast to the existing table's types (an ``Int64`` frame column into an
  ``int4`` column fails in ADBC otherwise); Categorical and Enum become text; all-null
  (``Null`` dtype) columns become typed nulls. On SQLite, times are stored as text
  ``YYYY-MM-DD HH:MM:SS.ffffff`` (UTC for zone-aware values), dates as ``YYYY-MM-DD``,
  decimals as REAL and durations as integer microseconds. When the table has column types
  lakeflow cannot map to Polars (``numeric``, ``jsonb``, ``uuid``…), rows are staged in a
  temporary table and inserted with SQL casts instead.
* **Modes.** ``append`` inserts. ``replace`` empties the table (``TRUNCATE`` on PostgreSQL,
  ``DELETE`` on SQLite, both transactional) and inserts, keeping the table's definition,
  indexes and grants. ``upsert`` stages the rows in a TEMPORARY table, then runs
  ``INSERT … SELECT … ON CONFLICT (keys) DO UPDATE SET … WHERE target.c IS DISTINCT FROM
  excluded.c``: an identical rerun changes 0 rows, and the returned count is the number of
  rows inserted or actually changed. The target needs a primary key or unique index on
  exactly ``keys`` (lakeflow creates one with the table). Rows with a null key are refused.
* **Duplicate keys in one load** (upsert) are resolved before they reach the target: by
  default the *last* row in the frame's order wins (``on_duplicate_keys="first"`` keeps the
  first, ``"error"`` refuses the load naming some duplicated keys). lakeflow numbers the rows
  as they stream into the temporary table and picks one per key there, in SQL, so the frame
  is never held in memory.
* A missing table is created on the first load (with a primary key on ``keys`` for upsert).
* SQLite: the ADBC driver carries its own SQLite library. POSIX file locks do not separate
  two SQLite libraries inside one process, so do not write the same database file through
  Python's ``sqlite3`` in the same process while a load runs (other processes are fine).

Errors become :class:`LoadError` values: retryable for refused or reset connections, timeouts,
lock contention, serialization failures and "database is locked"; permanent otherwise. The
URI's password never appears in them. Table and column names are validated and quoted like
the SQL source's (letters, digits, underscores; ``schema.table`` on PostgreSQL).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import polars as pl
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure

from lakeflow.adapters.identifiers import (
    Dialect,
    quote_columns,
    quote_identifier,
    quote_table,
    sql_literal,
    table_problem,
    validate_identifier,
)
from lakeflow.adapters.sql_common import (
    ConnectionTarget,
    driver_errors,
    first_line,
    is_retryable,
    parse_target,
)
from lakeflow.core.errors import LoadError, catch_engine, is_panic
from lakeflow.core.secrets import Secret

__all__ = ["DatabaseSink", "LoadMode"]

LoadMode: TypeAlias = Literal["append", "replace", "upsert"]
DuplicateKeys: TypeAlias = Literal["last", "first", "error"]
_MODES: tuple[LoadMode, ...] = ("append", "replace", "upsert")
_DUPLICATES: tuple[DuplicateKeys, ...] = ("last", "first", "error")
_ROW = "__lakeflow_row"
_TARGET_ALIAS = "lakeflow_target"
# PostgreSQL types without an equality operator: upserts compare them as text.
_NO_EQUALITY = frozenset(
    {"json", "xml", "point", "line", "lseg", "box", "path", "polygon", "circle"}
)


class _LoadFailed(Exception):  # noqa: N818 - carries a LoadError value out of nested helpers
    """Internal: aborts a load with a prepared failure value (caught in :meth:`load`)."""

    def __init__(self, reason: str, *, retryable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class _Column:
    """A target column: its name and the Polars type lakeflow casts to (``None``: let SQL)."""

    name: str
    dtype: pl.DataType | None
    sql_type: str | None = None


class DatabaseSink:
    """A database table loaded through ADBC (see the module docs for modes and guarantees).

    Args:
        uri: ``postgresql://…`` or ``sqlite:///absolute/path.db`` (a :class:`Secret` or str).
        table: ``table`` or ``schema.table`` (PostgreSQL); created on the first load.
        mode: ``append``, ``replace`` or ``upsert``.
        keys: The columns identifying a row (required for ``upsert``, unused otherwise).
        batch_size: Rows per streamed batch.
        on_duplicate_keys: Upsert only: ``last`` (default) or ``first`` row per key wins, or
            ``error``.
        connect_timeout: Seconds to wait for the server's TCP port and login.

    Invalid options do not raise: they are listed in :attr:`problems` and ``load`` returns them
    as a permanent :class:`LoadError` before touching the database.
    """

    __slots__ = (
        "_batch_size",
        "_connect_timeout",
        "_duplicates",
        "_keys",
        "_mode",
        "_problems",
        "_table",
        "_target",
    )

    def __init__(
        self,
        uri: str | Secret,
        table: str,
        *,
        mode: LoadMode = "append",
        keys: Sequence[str] = (),
        batch_size: int = 100_000,
        on_duplicate_keys: DuplicateKeys = "last",
        connect_timeout: float = 5.0,
    ) -> None:
        parsed = parse_target(uri)
        self._target: ConnectionTarget | None = (
            parsed if isinstance(parsed, ConnectionTarget) else None
        )
        problems: list[str] = [] if self._target is not None else [str(parsed)]
        self._table = table
        self._mode = mode
        self._keys = tuple(keys) if not isinstance(keys, str) else (keys,)
        self._batch_size = batch_size
        self._duplicates = on_duplicate_keys
        self._connect_timeout = connect_timeout
        if self._target is not None and self._target.dialect not in ("postgresql", "sqlite"):
            problems.append(
                f"database loads support PostgreSQL and SQLite, not {self._target.dialect}"
            )
        problem = table_problem(table)
        if problem is not None:
            problems.append(problem)
        elif self._target is not None:
            parts = table.split(".")
            allowed = 1 if self._target.dialect == "sqlite" else 2
            if len(parts) > allowed:
                problems.append(
                    f"table {table!r}: use "
                    + ("an unqualified table name on SQLite" if allowed == 1 else "schema.table")
                    + "; nothing was sent to the database"
                )
        if mode not in _MODES:
            problems.append(f"mode {mode!r} is not allowed; allowed: {', '.join(_MODES)}")
        if mode == "upsert" and not self._keys:
            problems.append("mode upsert needs keys= (the columns identifying a row)")
        if mode != "upsert" and self._keys:
            problems.append(f"keys are only used with mode upsert, not mode {mode}")
        for key in self._keys:
            try:
                validate_identifier(key)
            except ValueError as exc:
                problems.append(f"key: {exc}")
        if on_duplicate_keys not in _DUPLICATES:
            problems.append(
                f"on_duplicate_keys {on_duplicate_keys!r} is not allowed; "
                f"allowed: {', '.join(_DUPLICATES)}"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            problems.append(f"batch_size must be an integer >= 1, got {batch_size!r}")
        if not (isinstance(connect_timeout, int | float) and connect_timeout > 0):
            problems.append(f"connect_timeout must be a positive number, got {connect_timeout!r}")
        scrub = self._target.scrub if self._target is not None else str
        self._problems = tuple(scrub(p) for p in problems)

    @property
    def problems(self) -> tuple[str, ...]:
        """Invalid options found at construction (empty when the sink is usable)."""
        return self._problems

    def describe(self) -> Mapping[str, object]:
        """Pure. Kind, redacted URI, table, mode and keys; no secrets."""
        out: dict[str, object] = {
            "kind": "database",
            "dialect": self._target.dialect if self._target else "unknown",
            "uri": self._target.display if self._target else "(invalid)",
            "table": self._table,
            "mode": self._mode,
        }
        if self._keys:
            out["keys"] = list(self._keys)
        return out

    def __repr__(self) -> str:
        uri = self._target.display if self._target else "(invalid)"
        return f"DatabaseSink({uri!r}, {self._table!r}, mode={self._mode!r})"

    def _name(self) -> str:
        uri = self._target.display if self._target else "(invalid uri)"
        return f"{uri} table {self._table!r}"

    def _error(self, reason: str, *, retryable: bool = False) -> LoadError:
        text = self._target.scrub(reason) if self._target is not None else reason
        return LoadError(self._name(), text, retryable=retryable)

    # -- the Sink port ----------------------------------------------------------------------
    def check(self) -> IOResult[None, LoadError]:
        """Effect. Is the server reachable and the login valid (for ``lakeflow health``)?"""
        failure = self._preflight()
        if failure is not None:
            return IOFailure(failure)
        assert self._target is not None  # noqa: S101 - guarded by _preflight
        try:
            with self._target.adbc_connection(self._connect_timeout) as conn:
                cur = conn.cursor()
                cur.execute("SELECT 1")
                cur.fetchall()
        except driver_errors() as exc:  # the driver's errors become values at this boundary
            return IOFailure(self._driver_error(exc))
        return IOSuccess(None)

    def load(self, frame: pl.LazyFrame) -> IOResult[int, LoadError]:
        """Effect. Load ``frame`` in one transaction; the number of rows inserted or changed."""
        failure = self._preflight()
        if failure is not None:
            return IOFailure(failure)
        assert self._target is not None  # noqa: S101 - guarded by _preflight
        planned = catch_engine(frame.collect_schema, OSError)
        if isinstance(planned, Failure):
            reason = first_line(str(planned.failure()))
            return IOFailure(self._error(f"cannot plan the rows to load: {reason}"))
        schema = planned.unwrap()
        bad = [n for n in schema.names() if _invalid_name(n)]
        if bad:
            return IOFailure(
                self._error(
                    f"column name(s) {', '.join(repr(b) for b in bad)} are not plain SQL names "
                    "(letters, digits, underscores); rename them before loading"
                )
            )
        missing_keys = [k for k in self._keys if k not in schema]
        if missing_keys:
            return IOFailure(
                self._error(f"key column(s) {', '.join(map(repr, missing_keys))} not in the rows")
            )
        if _ROW in schema:
            return IOFailure(self._error(f"column name {_ROW!r} is reserved by lakeflow"))
        stream_error: list[BaseException] = []
        try:
            with self._target.adbc_connection(self._connect_timeout) as conn:
                try:
                    count = _Load(self, conn, frame, schema, stream_error).run()
                    conn.commit()
                except BaseException:
                    with suppress(Exception):
                        conn.rollback()
                    raise
        except _LoadFailed as exc:
            return IOFailure(self._error(exc.reason, retryable=exc.retryable))
        except BaseException as exc:
            if not (
                is_panic(exc) or isinstance(exc, (*driver_errors(), pl.exceptions.PolarsError))
            ):
                raise
            cause = stream_error[0] if stream_error else exc
            if cause is not exc and isinstance(cause, pl.exceptions.PolarsError | ValueError):
                return IOFailure(
                    self._error(
                        "cannot convert the rows to the table's column types: "
                        + first_line(str(cause))
                    )
                )
            return IOFailure(self._driver_error(cause))
        return IOSuccess(count)

    # -- internals --------------------------------------------------------------------------
    def _preflight(self) -> LoadError | None:
        if self._problems or self._target is None:
            return LoadError(self._name(), "; ".join(self._problems), retryable=False)
        target = self._target
        if target.sqlite_path is not None:
            if not target.sqlite_path.parent.is_dir():
                return self._error(
                    f"the folder of SQLite database {str(target.sqlite_path)!r} does not exist"
                )
            return None
        unreachable = target.unreachable(self._connect_timeout)
        if unreachable is not None:
            return self._error(unreachable, retryable=True)
        return None

    def _driver_error(self, exc: BaseException) -> LoadError:
        text = str(exc)
        retryable = is_retryable(text, getattr(exc, "sqlstate", None))
        reason = first_line(text)
        if "no unique or exclusion constraint matching the ON CONFLICT" in text or (
            "ON CONFLICT clause does not match" in text
        ):
            keys = ", ".join(self._keys)
            reason = f"upsert needs a primary key or unique index on exactly ({keys}): {reason}"
        return self._error(reason, retryable=retryable)


def _invalid_name(name: str) -> bool:
    try:
        validate_identifier(name)
    except ValueError:
        return True
    return False


class _Load:
    """One load on one open connection (internal; every effect happens inside ``run``)."""

    def __init__(
        self,
        sink: DatabaseSink,
        conn: Any,
        frame: pl.LazyFrame,
        schema: pl.Schema,
        stream_error: list[BaseException],
    ) -> None:
        assert sink._target is not None  # noqa: S101 - checked by the caller
        self.sink = sink
        self.conn = conn
        self.cur = conn.cursor()
        self.frame = frame
        self.schema = schema
        self.dialect: Dialect = sink._target.dialect
        self.parts = sink._table.split(".")
        self.target_sql = quote_table(sink._table, self.dialect)
        self.stream_error = stream_error
        self.columns: Mapping[str, _Column] = {}

    # -- table introspection -------------------------------------------------------------
    def _execute(self, sql: str) -> None:
        self.cur.execute(sql)

    def _scalar(self, sql: str) -> Any:
        self.cur.execute(sql)
        row = self.cur.fetchone()
        return None if row is None else row[0]

    def _table_exists(self) -> bool:
        if self.dialect == "sqlite":
            name = sql_literal(self.parts[-1], self.dialect)
            sql = f"SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = {name}"  # noqa: S608
            return bool(self._scalar(sql))
        regclass = sql_literal(self.target_sql, self.dialect)
        return bool(self._scalar(f"SELECT to_regclass({regclass}) IS NOT NULL"))

    def _columns(self) -> dict[str, _Column]:
        if self.dialect == "sqlite":
            return self._sqlite_columns()
        schema_name = self.parts[0] if len(self.parts) == 2 else None
        arrow = self.conn.adbc_get_table_schema(self.parts[-1], db_schema_filter=schema_name)
        regclass = sql_literal(self.target_sql, self.dialect)
        where = f"attrelid = to_regclass({regclass}) AND attnum > 0 AND NOT attisdropped"
        sql = "SELECT attname, format_type(atttypid, atttypmod) FROM pg_catalog.pg_attribute"
        self.cur.execute(f"{sql} WHERE {where}")
        sql_types = {str(name): str(sql_type) for name, sql_type in self.cur.fetchall()}
        return {f.name: _Column(f.name, _polars_type(f.type), sql_types.get(f.name)) for f in arrow}

    def _sqlite_columns(self) -> dict[str, _Column]:
        self.cur.execute(f"PRAGMA table_info({quote_identifier(self.parts[-1], 'sqlite')})")
        columns: dict[str, _Column] = {}
        for row in self.cur.fetchall():
            name, declared = str(row[1]), str(row[2] or "").upper()
            kind, dtype = _sqlite_affinity(declared)
            columns[name] = _Column(name, dtype, kind)
        return columns

    # -- the load --------------------------------------------------------------------------
    def run(self) -> int:
        """Effect. Create/clear the table as needed, then insert; returns rows written."""
        sink = self.sink
        exists = self._table_exists()
        if exists:
            columns = self._columns()
            unknown = [n for n in self.schema.names() if n not in columns]
            if unknown:
                raise _LoadFailed(
                    f"column(s) {', '.join(map(repr, unknown))} are not in the table "
                    f"(it has {', '.join(map(repr, columns))}); add them to the table or drop "
                    "them before loading"
                )
        else:
            columns = {}
        frame, out_schema, direct_ok = self._conform(columns)
        self.columns = columns
        if not exists:
            self._create(out_schema)
        elif sink._mode == "replace":
            self._execute(
                f"TRUNCATE TABLE {self.target_sql}"
                if self.dialect == "postgresql"
                else f"DELETE FROM {self.target_sql}"  # noqa: S608
            )
        if sink._mode == "upsert":
            return self._upsert(frame, out_schema)
        if direct_ok:
            return self._ingest(self.parts[-1], frame, out_schema, mode="append", into_target=True)
        return self._staged_append(frame, out_schema)

    def _conform(self, columns: Mapping[str, _Column]) -> tuple[pl.LazyFrame, pl.Schema, bool]:
        """Pure. Casts for ADBC and the table's types; whether a direct COPY is safe."""
        casts: list[pl.Expr] = []
        direct_ok = True
        out: dict[str, pl.DataType] = {}
        for name, dtype in self.schema.items():
            column = columns.get(name)
            target = column.dtype if column is not None else None
            if column is not None and target is None and self.dialect == "postgresql":
                direct_ok = False
            expr, new_dtype = _conform_column(name, dtype, target, self.dialect)
            problem = _unsupported(new_dtype, self.dialect)
            if problem is not None:
                raise _LoadFailed(f"column {name!r}: {problem}")
            if expr is not None:
                casts.append(expr)
            out[name] = new_dtype
        frame = self.frame.with_columns(casts) if casts else self.frame
        return frame, pl.Schema(out), direct_ok

    def _create(self, schema: pl.Schema) -> None:
        sink = self.sink
        if self.dialect == "sqlite":
            # Declared types from the frame's own types, so connectorx reads dates back as dates.
            defs = [
                f"{quote_identifier(n, 'sqlite')} {_sqlite_declared(d)}"
                for n, d in self.schema.items()
            ]
            if sink._mode == "upsert":
                defs.append(f"PRIMARY KEY ({quote_columns(sink._keys, 'sqlite')})")
            self._execute(f"CREATE TABLE {self.target_sql} ({', '.join(defs)})")
            return
        empty = pl.DataFrame(schema=schema).to_arrow()
        schema_name = self.parts[0] if len(self.parts) == 2 else None
        self.cur.adbc_ingest(self.parts[-1], empty, mode="create", db_schema_name=schema_name)
        if sink._mode == "upsert":
            self._execute(
                f"ALTER TABLE {self.target_sql} ADD PRIMARY KEY "
                f"({quote_columns(sink._keys, self.dialect)})"
            )

    def _batches(self, frame: pl.LazyFrame, schema: pl.Schema) -> Any:
        """A pyarrow RecordBatchReader streaming ``frame`` in ``batch_size`` chunks."""
        import pyarrow as pa

        arrow_schema = pl.DataFrame(schema=schema).to_arrow().schema
        batches = frame.collect_batches(chunk_size=self.sink._batch_size, lazy=True)
        stream_error = self.stream_error

        def generate() -> Iterator[Any]:
            try:
                for chunk in batches:
                    yield from chunk.to_arrow().to_batches()
            except BaseException as exc:
                stream_error.append(exc)
                raise

        return pa.RecordBatchReader.from_batches(arrow_schema, generate())

    def _ingest(
        self,
        name: str,
        frame: pl.LazyFrame,
        schema: pl.Schema,
        *,
        mode: Literal["append", "create"],
        into_target: bool = False,
        temporary: bool = False,
    ) -> int:
        schema_name = self.parts[0] if into_target and len(self.parts) == 2 else None
        reader = self._batches(frame, schema)
        count = self.cur.adbc_ingest(
            name, reader, mode=mode, db_schema_name=schema_name, temporary=temporary
        )
        return int(count) if count is not None and count >= 0 else 0

    def _stage(self, frame: pl.LazyFrame, schema: pl.Schema, *, with_row: bool) -> str:
        """Effect. Stream ``frame`` into a new TEMPORARY table; returns its quoted name."""
        name = f"lakeflow_stage_{secrets.token_hex(6)}"
        if with_row:
            frame = frame.with_row_index(_ROW).with_columns(pl.col(_ROW).cast(pl.Int64))
            schema = pl.Schema({_ROW: pl.Int64(), **dict(schema.items())})
        self._ingest(name, frame, schema, mode="create", temporary=True)
        prefix = "pg_temp" if self.dialect == "postgresql" else "temp"
        return f"{prefix}.{quote_identifier(name, self.dialect)}"

    def _select_list(self, names: Sequence[str]) -> str:
        """The staged columns, cast in SQL to the target's types where lakeflow could not."""
        items: list[str] = []
        for name in names:
            quoted = quote_identifier(name, self.dialect)
            column = self.columns.get(name)
            if (
                column is not None
                and column.dtype is None
                and column.sql_type
                and self.dialect != "sqlite"
            ):
                # format_type() output from the catalog, not user input. SQLite stores what
                # lakeflow already converted (dates as ISO text); its CAST would reduce a
                # DATETIME's text to a NUMERIC (the year), so it is never cast there.
                items.append(f"CAST({quoted} AS {column.sql_type}) AS {quoted}")
            else:
                items.append(quoted)
        return ", ".join(items)

    def _staged_append(self, frame: pl.LazyFrame, schema: pl.Schema) -> int:
        stage = self._stage(frame, schema, with_row=False)
        cols = quote_columns(schema.names(), self.dialect)
        select = self._select_list(schema.names())
        self._execute(f"INSERT INTO {self.target_sql} ({cols}) SELECT {select} FROM {stage}")  # noqa: S608
        return self._changed()

    def _distinct(self, name: str) -> str:
        """``target.c IS DISTINCT FROM excluded.c`` (as text for types without equality)."""
        quoted = quote_identifier(name, self.dialect)
        left, right = f"{_TARGET_ALIAS}.{quoted}", f"excluded.{quoted}"
        column = self.columns.get(name)
        if column is not None and column.sql_type in _NO_EQUALITY:
            left, right = f"CAST({left} AS TEXT)", f"CAST({right} AS TEXT)"
        return f"{left} IS DISTINCT FROM {right}"

    def _upsert(self, frame: pl.LazyFrame, schema: pl.Schema) -> int:
        sink, dialect = self.sink, self.dialect
        stage = self._stage(frame, schema, with_row=True)
        keys = quote_columns(sink._keys, dialect)
        null_key = " OR ".join(f"{quote_identifier(k, dialect)} IS NULL" for k in sink._keys)
        nulls = self._scalar(f"SELECT COUNT(*) FROM {stage} WHERE {null_key}")  # noqa: S608
        if nulls:
            raise _LoadFailed(f"{nulls} row(s) have a null key ({', '.join(sink._keys)})")
        if sink._duplicates == "error":
            self.cur.execute(
                f"SELECT {keys} FROM {stage} GROUP BY {keys} HAVING COUNT(*) > 1 LIMIT 5"  # noqa: S608
            )
            duplicated = self.cur.fetchall()
            if duplicated:
                shown = ", ".join(repr(tuple(d)) for d in duplicated)
                raise _LoadFailed(f"duplicate keys in the rows to load, for example {shown}")
        source = self._one_row_per_key(stage, keys)
        names = schema.names()
        cols = quote_columns(names, dialect)
        updates = [n for n in names if n not in sink._keys]
        if updates:
            assign = ", ".join(
                f"{quote_identifier(n, dialect)} = excluded.{quote_identifier(n, dialect)}"
                for n in updates
            )
            changed = " OR ".join(self._distinct(n) for n in updates)
            action = f"DO UPDATE SET {assign} WHERE {changed}"
        else:
            action = "DO NOTHING"
        self._execute(
            f"INSERT INTO {self.target_sql} AS {_TARGET_ALIAS} ({cols}) "  # noqa: S608
            f"SELECT {self._select_list(names)} FROM {source} "
            f"ON CONFLICT ({keys}) {action}"
        )
        return self._changed()

    def _one_row_per_key(self, stage: str, keys: str) -> str:
        """The staged rows, one per key (the first or last by input order), as a FROM clause.

        PostgreSQL: ``DISTINCT ON`` sorted by key, which also makes the conflict checks walk
        the target's key index in order (measured 2-3x faster than a semi-join on 1M rows).
        SQLite: the rows whose row number is the key's MAX (or MIN). Both end in a WHERE
        clause, which SQLite needs to parse ``INSERT … SELECT … ON CONFLICT``.
        """
        row = quote_identifier(_ROW, self.dialect)
        if self.sink._duplicates == "error":  # already checked: none
            order = f" ORDER BY {keys}" if self.dialect == "postgresql" else ""
            return f"{stage} WHERE TRUE{order}"
        if self.dialect == "postgresql":
            direction = "DESC" if self.sink._duplicates == "last" else "ASC"
            latest = (
                f"(SELECT DISTINCT ON ({keys}) * FROM {stage} "  # noqa: S608
                f"ORDER BY {keys}, {row} {direction}) AS lakeflow_rows"
            )
            return f"{latest} WHERE TRUE"
        pick = "MAX" if self.sink._duplicates == "last" else "MIN"
        return f"{stage} WHERE {row} IN (SELECT {pick}({row}) FROM {stage} GROUP BY {keys})"  # noqa: S608

    def _changed(self) -> int:
        if self.dialect == "sqlite":
            return int(self._scalar("SELECT changes()") or 0)
        count = self.cur.rowcount
        return int(count) if count is not None and count >= 0 else 0


# -- type mapping ------------------------------------------------------------------------------


def _polars_type(arrow_type: Any) -> pl.DataType | None:
    """Pure. The Polars type for a target column's Arrow type, or ``None`` if not mappable."""
    import pyarrow as pa

    t = pa.types
    simple: list[tuple[Any, pl.DataType]] = [
        (t.is_int8, pl.Int8()),
        (t.is_int16, pl.Int16()),
        (t.is_int32, pl.Int32()),
        (t.is_int64, pl.Int64()),
        (t.is_uint8, pl.UInt8()),
        (t.is_uint16, pl.UInt16()),
        (t.is_uint32, pl.UInt32()),
        (t.is_uint64, pl.UInt64()),
        (t.is_float32, pl.Float32()),
        (t.is_float64, pl.Float64()),
        (t.is_boolean, pl.Boolean()),
        (t.is_date32, pl.Date()),
        (t.is_time64, pl.Time()),
    ]
    if isinstance(arrow_type, pa.ExtensionType) or type(arrow_type).__name__.endswith(
        "ExtensionType"
    ):
        return None
    for test, dtype in simple:
        if test(arrow_type):
            return dtype
    if t.is_string(arrow_type) or t.is_large_string(arrow_type) or t.is_string_view(arrow_type):
        return pl.String()
    if t.is_binary(arrow_type) or t.is_large_binary(arrow_type):
        return pl.Binary()
    if t.is_timestamp(arrow_type):
        units: dict[str, Literal["ms", "us", "ns"]] = {"ms": "ms", "us": "us", "ns": "ns"}
        return pl.Datetime(units.get(str(arrow_type.unit), "us"), arrow_type.tz)
    if t.is_decimal128(arrow_type):
        return pl.Decimal(arrow_type.precision, arrow_type.scale)
    return None


def _sqlite_affinity(declared: str) -> tuple[str, pl.DataType | None]:
    """Pure. SQLite's type affinity rules for a declared type, refined for dates and times."""
    if "INT" in declared:
        return "integer", pl.Int64()
    if any(s in declared for s in ("CHAR", "CLOB", "TEXT")):
        return "text", pl.String()
    if "BLOB" in declared or not declared:
        return "any", None
    if any(s in declared for s in ("REAL", "FLOA", "DOUB")):
        return "real", pl.Float64()
    if "TIMESTAMP" in declared or "DATETIME" in declared:
        return "datetime", None
    if "DATE" in declared:
        return "date", None
    if "BOOL" in declared:
        return "boolean", pl.Boolean()
    return "numeric", None


def _sqlite_declared(dtype: pl.DataType) -> str:
    """Pure. The declared SQLite type for a new table's column (what connectorx reads back)."""
    if dtype.is_integer() or isinstance(dtype, pl.Duration):
        return "INTEGER"
    if dtype.is_float() or isinstance(dtype, pl.Decimal):
        return "REAL"
    if isinstance(dtype, pl.Datetime):
        return "DATETIME"
    if dtype == pl.Date:
        return "DATE"
    if dtype == pl.Boolean:
        return "BOOLEAN"
    if dtype == pl.Binary:
        return "BLOB"
    return "TEXT"


def _conform_column(
    name: str, dtype: pl.DataType, target: pl.DataType | None, dialect: Dialect
) -> tuple[pl.Expr | None, pl.DataType]:
    """Pure. The cast (if any) that makes a column writable by ADBC into its target column."""
    if dtype == pl.Null:
        typed = target if target is not None else pl.String()
        return pl.lit(None, dtype=typed).alias(name), typed
    column = pl.col(name)
    changed = False
    if isinstance(dtype, pl.Categorical | pl.Enum):
        column, dtype, changed = column.cast(pl.String), pl.String(), True
    if dialect == "sqlite":
        converted = _sqlite_value(column, dtype)
        if converted is not None:
            (column, dtype), changed = converted, True
    if target is not None and dtype != target:
        column, dtype, changed = column.cast(target, strict=True), target, True
    return (column.alias(name) if changed else None), dtype


def _sqlite_value(column: pl.Expr, dtype: pl.DataType) -> tuple[pl.Expr, pl.DataType] | None:
    """Pure. SQLite has no date, time, decimal or duration types: store text or numbers."""
    if isinstance(dtype, pl.Datetime):
        utc = (
            column.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
            if dtype.time_zone
            else column
        )
        return utc.dt.strftime("%Y-%m-%d %H:%M:%S%.6f"), pl.String()
    if dtype == pl.Date:
        return column.dt.strftime("%Y-%m-%d"), pl.String()
    if dtype == pl.Time:
        return column.dt.strftime("%H:%M:%S%.6f"), pl.String()
    if isinstance(dtype, pl.Decimal):
        return column.cast(pl.Float64), pl.Float64()
    if isinstance(dtype, pl.Duration):
        return column.dt.total_microseconds(), pl.Int64()
    return None


def _unsupported(dtype: pl.DataType, dialect: Dialect) -> str | None:
    """Pure. Why ADBC cannot write ``dtype`` to ``dialect``, or ``None`` when it can."""
    if isinstance(dtype, pl.Object):
        return "Python objects cannot be written to a database"
    if dialect == "sqlite" and dtype.is_nested():
        return f"SQLite cannot store {dtype} values; serialise them (e.g. to JSON text) first"
    if isinstance(dtype, pl.Struct):
        return f"{dtype} values cannot be written; unnest or serialise them first"
    return None
