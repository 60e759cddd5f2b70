"""Read tables and queries from SQL databases with connectorx, incrementally and in parallel.

Effectful. :class:`SqlSource` implements the :class:`~lakeflow.ports.Source` port:

* **Full read** of a table (``table="sales.orders"``) or of your own SQL (``query="select …"``).
* **Incremental** (``incremental=IncrementalSpec("updated_at", key=("id",))``): the source
  asks only for ``updated_at >= <last watermark>`` (a typed literal, never pasted text) and the
  shell then drops the rows already published at exactly that value by key, so rows committed
  later with a timestamp *equal* to the last watermark are neither lost nor published twice.
* **Partitioned parallel reads** (``partition_on="id", partitions=4``): lakeflow reads the
  column's min, max and count, splits the range into ``partitions`` contiguous ranges (never
  more than there are values, nor than the integer span: asking for a billion partitions of a
  200-row table costs at most 200 ranges) and lets connectorx run one query per range in
  parallel; :meth:`SqlSource.queries` shows them. Unlike connectorx's own ``partition_on``,
  rows whose partition column is NULL are read too (they join the first range). The range
  queries do not share a snapshot: rows written between them may be missed or seen once
  (the same as connectorx); use incremental reads to pick them up on the next run.
* ``schema()`` (column → Polars type, as the extract will produce it) and ``check()``
  (reachability, login and the table or query, for ``lakeflow health``).

Custom ``query`` sources are your own SQL, sent as written: for incremental and partitioned
reads lakeflow wraps it as a subquery, ``SELECT * FROM (<query>) AS lakeflow_query WHERE …``,
so it must be a single SELECT whose column names are the ones you refer to (a trailing ``;``
is removed). Table and column names you give lakeflow are validated (letters, digits,
underscores; ``schema.table``) and quoted, so they are case-sensitive exactly as stored in the
catalog; a name such as ``users; drop table users; --`` is refused before anything is sent.

Failing fast: the TCP endpoint is checked with a short socket timeout before connectorx runs
(its pool would retry an unreachable server for ~30 s), and PostgreSQL logins are tried once
through ADBC (a wrong password fails at once rather than after connectorx's retries).
Unreachable servers, timeouts, lock and serialization failures are *retryable*
:class:`ExtractError` values; bad SQL, missing tables, wrong passwords and unreadable types are
permanent. A Rust panic in a driver (PostgreSQL ``interval`` columns panic in connectorx)
becomes an error naming the column, found by probing columns one by one. Every message is
scrubbed of the URI's password.

Databases: PostgreSQL (``postgresql://user:pass@host:5432/db``) and SQLite
(``sqlite:///absolute/path.db``) are tested for real. Other connectorx databases (MySQL,
MariaDB, SQL Server, Oracle, Redshift…) get dialect-specific quoting and literals but are
**untested**. SQLite keeps times as text; incremental filters on SQLite times compare through
``julianday()`` so that ``2024-01-01 12:00:00`` and ``2024-01-01T12:00:00.000`` order
correctly (an index on the column is then not used). A text incremental column (read as a
string) is compared as instants, never as text (see :mod:`lakeflow.core.incremental`): on
SQLite and PostgreSQL the bound is pushed down as an instant comparison, on other databases
every row is read and filtered exactly by lakeflow. connectorx reads SQLite ``DATETIME``
columns written as ``YYYY-MM-DD HH:MM:SS[.ffffff]`` (space or ``T``), but not values with a
time zone suffix or integer epochs: convert those in a ``query``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import polars as pl
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure

from lakeflow.adapters.identifiers import (
    at_or_after,
    quote_identifier,
    quote_table,
    sql_literal,
    table_problem,
    text_at_or_after,
    validate_identifier,
)
from lakeflow.adapters.sql_common import (
    ConnectionTarget,
    conversion_problem,
    driver_errors,
    first_line,
    is_retryable,
    parse_target,
)
from lakeflow.core.errors import ExtractError, catch_engine, is_panic
from lakeflow.core.incremental import (
    IncrementalSpec,
    Watermark,
    after_watermark,
    watermark_family,
)
from lakeflow.core.secrets import Secret
from lakeflow.ports import ExtractContext

__all__ = ["SqlSource"]

_QUERY_ALIAS = "lakeflow_query"
_MAX_PROBED_COLUMNS = 200


@dataclass(frozen=True, slots=True)
class _Plan:
    """The SQL of one extract: one query, or one query per partition."""

    queries: tuple[str, ...]
    checked: bool  # whether the login was already checked while planning (bounds query)


class SqlSource:
    """A table or query in a SQL database, read with connectorx (see the module docs).

    Args:
        uri: Connection URI (a :class:`Secret` or a string); its password never appears in
            errors, ``describe()`` or ``repr``.
        table: ``table`` or ``schema.table`` (exactly one of ``table`` and ``query``).
        query: Your own SELECT statement, wrapped as a subquery when lakeflow adds filters.
        incremental: Read only rows at or after the last watermark of this column.
        partition_on: A numeric column to split the read into parallel range queries.
        partitions: How many range queries (with ``partition_on``), at least 1.
        connect_timeout: Seconds to wait for the server's TCP port and login.

    Invalid options do not raise: they are listed in :attr:`problems` and every operation
    returns them as a permanent :class:`ExtractError` before touching the database.
    """

    __slots__ = (
        "_connect_timeout",
        "_incremental",
        "_partition_on",
        "_partitions",
        "_problems",
        "_query",
        "_table",
        "_target",
    )

    def __init__(
        self,
        uri: str | Secret,
        *,
        table: str | None = None,
        query: str | None = None,
        incremental: IncrementalSpec | None = None,
        partition_on: str | None = None,
        partitions: int | None = None,
        connect_timeout: float = 5.0,
    ) -> None:
        parsed = parse_target(uri)
        self._target: ConnectionTarget | None = (
            parsed if isinstance(parsed, ConnectionTarget) else None
        )
        problems: list[str] = [] if self._target is not None else [str(parsed)]
        self._table = table
        self._query = query.strip().rstrip(";").strip() if isinstance(query, str) else None
        self._incremental = incremental
        self._partition_on = partition_on
        self._partitions = partitions
        self._connect_timeout = connect_timeout
        if (table is None) == (self._query is None) or self._query == "":
            problems.append("give exactly one of table= and query= (a non-empty SELECT)")
        if table is not None:
            problem = table_problem(table)
            if problem is not None:
                problems.append(problem)
        for role, name in self._named_columns():
            try:
                validate_identifier(name)
            except ValueError as exc:
                problems.append(f"{role}: {exc}")
        if (partitions is None) != (partition_on is None):
            problems.append(
                "partition_on= (a numeric column) and partitions= (how many range queries) "
                "go together"
            )
        if self._partitions is not None and (
            isinstance(self._partitions, bool)
            or not isinstance(self._partitions, int)
            or self._partitions < 1
        ):
            problems.append(f"partitions must be an integer >= 1, got {partitions!r}")
        if not (isinstance(connect_timeout, int | float) and connect_timeout > 0):
            problems.append(f"connect_timeout must be a positive number, got {connect_timeout!r}")
        if self._target is not None:
            self._problems = tuple(self._target.scrub(p) for p in problems)
        else:
            self._problems = tuple(problems)

    def _named_columns(self) -> list[tuple[str, str]]:
        named: list[tuple[str, str]] = []
        if self._incremental is not None:
            named.append(("incremental column", self._incremental.column))
            named.extend(("incremental key", k) for k in self._incremental.key)
        if self._partition_on is not None:
            named.append(("partition_on", self._partition_on))
        return named

    # -- the Source port --------------------------------------------------------------------
    @property
    def incremental(self) -> IncrementalSpec | None:
        """How the source is read incrementally, or ``None`` for a full read every run."""
        return self._incremental

    @property
    def problems(self) -> tuple[str, ...]:
        """Invalid options found at construction (empty when the source is usable)."""
        return self._problems

    @property
    def table(self) -> str | None:
        """The table this source reads, if it reads a table."""
        return self._table

    @property
    def query(self) -> str | None:
        """The custom query this source reads, if any (without a trailing ``;``)."""
        return self._query

    def describe(self) -> Mapping[str, object]:
        """Pure. Kind, redacted URI, table or query, incremental and partitioning; no secrets."""
        out: dict[str, object] = {
            "kind": "sql",
            "dialect": self._target.dialect if self._target else "unknown",
            "uri": self._target.display if self._target else "(invalid)",
        }
        if self._table is not None:
            out["table"] = self._table
        if self._query is not None:
            out["query"] = self._scrub(self._query)
        if self._incremental is not None:
            out["incremental"] = {
                "column": self._incremental.column,
                "key": list(self._incremental.key),
            }
        if self._partition_on is not None:
            out["partition_on"] = self._partition_on
            out["partitions"] = self._partitions
        return out

    def __repr__(self) -> str:
        what = f"table={self._table!r}" if self._table is not None else "query=…"
        uri = self._target.display if self._target else "(invalid)"
        return f"SqlSource({uri!r}, {what})"

    def extract(self, context: ExtractContext) -> IOResult[pl.LazyFrame, ExtractError]:
        """Effect. Read the rows for one run (eagerly, so connection errors surface here)."""
        failure = self._preflight()
        if failure is not None:
            return IOFailure(failure)
        watermark = context.watermark if self._incremental is not None else None
        spec = self._incremental
        if watermark is not None and spec is not None and watermark.column != spec.column:
            return IOFailure(
                self._error(
                    f"the checkpoint holds a watermark for column {watermark.column!r} but "
                    f"the source is incremental by {spec.column!r}; reset the "
                    "pipeline's checkpoint to change the column"
                )
            )
        return self._read(watermark)

    def read(self, watermark: Watermark | None = None) -> IOResult[pl.LazyFrame, ExtractError]:
        """Effect. Like :meth:`extract` without a lake: for notebooks and tests."""
        failure = self._preflight()
        if failure is not None:
            return IOFailure(failure)
        return self._read(watermark if self._incremental is not None else None)

    def plan_schema(self, context: ExtractContext) -> IOResult[pl.Schema, ExtractError]:
        """Effect. The schema :meth:`extract` would produce, from a query that reads no row."""
        del context  # the schema does not depend on the watermark
        return self._plan_schema_now()

    def schema(self) -> IOResult[dict[str, str], ExtractError]:
        """Effect. Column name → Polars type name, as :meth:`extract` would produce them."""
        return self._plan_schema_now().map(
            lambda schema: {name: str(dtype) for name, dtype in schema.items()}
        )

    def _plan_schema_now(self) -> IOResult[pl.Schema, ExtractError]:
        failure = self._preflight()
        if failure is not None:
            return IOFailure(failure)
        sql = self._select(self._relation(), ["1 = 0"])
        result = self._run((sql,), watermark=None, first=True)
        if isinstance(result, ExtractError):
            return IOFailure(result)
        return IOSuccess(result.schema)

    def check(self) -> IOResult[None, ExtractError]:
        """Effect. Is the server reachable, the login valid and the table or query readable?"""
        return self.schema().map(lambda _: None)

    # -- internals --------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        return self._target.scrub(text) if self._target is not None else text

    def _name(self) -> str:
        uri = self._target.display if self._target else "(invalid uri)"
        return f"{uri} table {self._table!r}" if self._table is not None else f"{uri} query"

    def _error(self, reason: str, *, retryable: bool = False) -> ExtractError:
        return ExtractError(self._name(), self._scrub(reason), retryable=retryable)

    def _preflight(self) -> ExtractError | None:
        """Effect. Refuse invalid options; check the file or the server before connectorx runs."""
        if self._problems or self._target is None:
            return ExtractError(self._name(), "; ".join(self._problems), retryable=False)
        target = self._target
        if target.sqlite_path is not None:
            if not target.sqlite_path.is_file():
                return self._error(
                    f"SQLite database file {str(target.sqlite_path)!r} does not exist "
                    "(connectorx would silently create an empty one)"
                )
            return None
        unreachable = target.unreachable(self._connect_timeout)
        if unreachable is not None:
            return self._error(unreachable, retryable=True)
        return None

    def _login_check(self, target: ConnectionTarget) -> ExtractError | None:
        """Effect. Log in once through ADBC (libpq): a wrong password fails in milliseconds."""
        error = target.login_error(self._connect_timeout)
        if error is None:
            return None
        text = str(error)
        return self._error(
            first_line(text), retryable=is_retryable(text, getattr(error, "sqlstate", None))
        )

    def _relation(self) -> str:
        assert self._target is not None  # noqa: S101 - guarded by _preflight
        if self._table is not None:
            return quote_table(self._table, self._target.dialect)
        return f"({self._query}) AS {_QUERY_ALIAS}"

    def _column(self, name: str) -> str:
        assert self._target is not None  # noqa: S101 - guarded by _preflight
        return quote_identifier(name, self._target.dialect)

    def _watermark_condition(self, watermark: Watermark | None) -> list[str]:
        if watermark is None:
            return []
        assert self._target is not None  # noqa: S101 - guarded by _preflight
        column, dialect = self._column(watermark.column), self._target.dialect
        if watermark_family(watermark) == "text":
            # Text timestamps compare as instants; a checkpoint from before lakeflow recorded
            # instants holds the text itself: read every row then (the shell filters exactly).
            if not isinstance(watermark.value, datetime):
                return []
            condition = text_at_or_after(column, watermark.value, dialect)
            return [condition] if condition is not None else []
        return [at_or_after(column, watermark.value, dialect)]

    @staticmethod
    def _select(relation: str, conditions: Sequence[str], columns: str = "*") -> str:
        where = " WHERE " + " AND ".join(f"({c})" for c in conditions) if conditions else ""
        # Every part is a quoted, validated name or a typed literal (see identifiers.py).
        return f"SELECT {columns} FROM {relation}{where}"  # noqa: S608

    def _read(self, watermark: Watermark | None) -> IOResult[pl.LazyFrame, ExtractError]:
        try:
            conditions = self._watermark_condition(watermark)
        except ValueError as exc:
            return IOFailure(self._error(f"cannot use the watermark as a SQL bound: {exc}"))
        plan = self._plan(conditions)
        if isinstance(plan, ExtractError):
            return IOFailure(self._explain(plan, watermark))
        result = self._run(plan.queries, watermark=watermark, first=not plan.checked)
        if isinstance(result, ExtractError):
            return IOFailure(self._explain(result, watermark))
        return IOSuccess(result.lazy())

    def queries(
        self, watermark: Watermark | None = None
    ) -> IOResult[tuple[str, ...], ExtractError]:
        """Effect. The SQL :meth:`read` would run: one query, or one per partition.

        Planning a partitioned read runs its bounds query (min, max and count of the partition
        column); no rows are read.
        """
        failure = self._preflight()
        if failure is not None:
            return IOFailure(failure)
        try:
            conditions = self._watermark_condition(
                watermark if self._incremental is not None else None
            )
        except ValueError as exc:
            return IOFailure(self._error(f"cannot use the watermark as a SQL bound: {exc}"))
        plan = self._plan(conditions)
        if isinstance(plan, ExtractError):
            return IOFailure(plan)
        return IOSuccess(plan.queries)

    def _explain(self, error: ExtractError, watermark: Watermark | None) -> ExtractError:
        """Effect. When a permanent failure of an incremental read comes from the column's type
        having changed since the checkpoint (the database refused the comparison), say so.
        """
        if watermark is None or error.retryable:
            return error
        probed = self._run((self._select(self._relation(), ["1 = 0"]),), watermark=None)
        if isinstance(probed, ExtractError):
            return error
        checked = after_watermark(probed.lazy(), watermark)
        if isinstance(checked, Failure):
            return self._error(checked.failure().message)
        return error

    def _plan(self, conditions: list[str]) -> _Plan | ExtractError:
        relation = self._relation()
        if self._partition_on is None or (self._partitions or 1) <= 1:
            return _Plan((self._select(relation, conditions),), checked=False)
        assert self._target is not None  # noqa: S101 - guarded by _preflight
        column = self._column(self._partition_on)
        low, high = f"MIN({column})", f"MAX({column})"
        if self._target.dialect == "sqlite":  # connectorx cannot type a NULL on SQLite
            low, high = f"COALESCE({low}, 0)", f"COALESCE({high}, 0)"
        bounds_sql = self._select(
            relation, conditions, f"{low} AS lo, {high} AS hi, COUNT({column}) AS n"
        )
        bounds = self._run((bounds_sql,), watermark=None, first=True)
        if isinstance(bounds, ExtractError):
            return bounds
        lo, hi, count = bounds.row(0)
        cuts = _cut_points(lo, hi, _ranges(self._partitions or 1, count))
        if isinstance(cuts, str):
            return self._error(f"partition_on column {self._partition_on!r}: {cuts}")
        dialect = self._target.dialect
        literals = [sql_literal(c, dialect) for c in cuts]
        queries: list[str] = []
        for i in range(len(literals) + 1):
            parts: list[str] = []
            if i > 0:
                parts.append(f"{column} >= {literals[i - 1]}")
            if i < len(literals):
                parts.append(f"{column} < {literals[i]}")
            range_sql = " AND ".join(parts)
            if i == 0:
                range_sql = f"{range_sql} OR {column} IS NULL" if range_sql else ""
            queries.append(
                self._select(relation, [*conditions, range_sql] if range_sql else conditions)
            )
        return _Plan(tuple(queries), checked=True)

    def _run(
        self, queries: tuple[str, ...], *, watermark: Watermark | None, first: bool = False
    ) -> pl.DataFrame | ExtractError:
        """Effect. Run one query (or partitions in parallel) through connectorx.

        For the ``first`` query of an operation on PostgreSQL, connectorx runs in a background
        thread (it releases the GIL) while this thread logs in once through ADBC: a wrong
        password then fails at once instead of after connectorx's ~30 s of pool retries, and
        a good login costs no extra time. After a failed login the abandoned connectorx call
        finishes its retries in its daemon thread and its result is dropped.
        """
        target = self._target
        assert target is not None  # noqa: S101 - guarded by _preflight
        query: str | list[str] = queries[0] if len(queries) == 1 else list(queries)
        outcome: dict[str, Any] = {}

        def read() -> None:
            import connectorx as cx

            try:
                outcome["table"] = cx.read_sql(target.connectorx_uri(), query, return_type="arrow")
            except BaseException as exc:  # handed to the caller below (panics included)
                outcome["error"] = exc

        if first and target.dialect == "postgresql" and target.endpoints:
            reader = threading.Thread(target=read, name="lakeflow-connectorx", daemon=True)
            reader.start()
            login = self._login_check(target)
            if login is not None:
                return login
            reader.join()
        else:
            read()
        error = outcome.get("error")
        if error is not None:
            if is_panic(error):
                return self._diagnose_panic(error, watermark)
            if not isinstance(error, driver_errors()):
                raise error  # not the driver's failure: a bug, or an interrupt
            text = str(error)
            unconverted = conversion_problem(text, self._column_names)
            if unconverted is not None:
                return self._error(unconverted)
            return self._error(first_line(text), retryable=is_retryable(text))
        frame = pl.from_arrow(outcome["table"], rechunk=False)
        assert isinstance(frame, pl.DataFrame)  # noqa: S101 - a Table always gives a frame
        return frame

    # -- panics ------------------------------------------------------------------------------
    def _diagnose_panic(self, exc: BaseException, watermark: Watermark | None) -> ExtractError:
        """Effect. Name the column whose type made the driver panic, by probing columns."""
        panic = first_line(str(exc), 300)
        names = self._column_names()
        culprit: str | None = None
        if names:
            relation = self._relation()
            conditions = self._watermark_condition(watermark)
            for where in (["1 = 0"], conditions):
                culprit = self._first_panicking(names, relation, where)
                if culprit is not None:
                    break
        if culprit is None:
            return self._error(
                f"the connectorx driver panicked ({panic}) and no single column reproduces it"
            )
        cast = (
            f'"{culprit}"::text'
            if self._target and self._target.dialect == "postgresql"
            else "CAST(...)"
        )
        return self._error(
            f"cannot read column {culprit!r}: its type is not supported by connectorx (driver "
            f"panic: {panic}); select it converted in a query (for example {cast} AS "
            f'"{culprit}") or leave it out'
        )

    def _first_panicking(self, names: Sequence[str], relation: str, where: list[str]) -> str | None:
        import connectorx as cx

        assert self._target is not None  # noqa: S101 - guarded by _preflight
        for name in names[:_MAX_PROBED_COLUMNS]:
            sql = self._select_columns(relation, [name], where)
            uri = self._target.connectorx_uri()
            probed = catch_engine(
                lambda: cx.read_sql(uri, sql, return_type="arrow"),  # noqa: B023 - called now
                *driver_errors(),
            )
            if isinstance(probed, Failure) and is_panic(probed.failure()):
                return name
        return None

    def _select_columns(self, relation: str, names: Sequence[str], where: list[str]) -> str:
        # Names here come from the database's own result description, not from users: quote
        # them by doubling the quote character.
        assert self._target is not None  # noqa: S101 - guarded by _preflight
        quote = "`" if self._target.dialect == "mysql" else '"'
        columns = ", ".join(quote + n.replace(quote, quote * 2) + quote for n in names)
        return self._select(relation, where, columns)

    def _column_names(self) -> list[str]:
        """Effect. The relation's column names, read without connectorx (it is what panicked)."""
        target = self._target
        if target is None:
            return []
        sql = self._select(self._relation(), ["1 = 0"])
        try:
            if target.sqlite_path is not None:
                import sqlite3

                with sqlite3.connect(f"file:{target.sqlite_path}?mode=ro", uri=True) as conn:
                    return [d[0] for d in conn.execute(sql).description]
            if target.dialect == "postgresql":
                with target.adbc_connection(self._connect_timeout) as conn:
                    cur = conn.cursor()
                    cur.execute(sql)
                    names: list[str] = [d[0] for d in cur.description]
                    return names
        except driver_errors():  # diagnosis is best effort: the panic is reported either way
            return []
        return []


def _ranges(requested: int, count: object) -> int:
    """Pure. How many ranges to read: never more than there are non-null values to split.

    Asking for far more partitions than rows (``partitions: 1000000000000`` on 200 rows) then
    costs what a sensible count costs: at most one range per row.
    """
    if isinstance(count, bool) or not isinstance(count, int):
        return requested
    return max(1, min(requested, count))


def _cut_points(lo: Any, hi: Any, partitions: int) -> list[int | float] | str:
    """Pure. Boundaries splitting ``[lo, hi]`` into up to ``partitions`` contiguous ranges.

    At most ``min(partitions, hi - lo + 1) - 1`` boundaries for integers: the work done is
    bounded by the span of the values, whatever ``partitions`` asks for.
    """
    if lo is None or hi is None:  # no non-null value: one range reads everything
        return []
    if isinstance(lo, Decimal) or isinstance(hi, Decimal):
        lo, hi = float(lo), float(hi)
    if isinstance(lo, bool) or not isinstance(lo, int | float) or not isinstance(hi, int | float):
        return f"must be numeric to partition a read, got {type(lo).__name__}"
    if isinstance(lo, int) and isinstance(hi, int):
        if hi <= lo:
            return []
        ranges = min(partitions, hi - lo + 1)
        step = math.ceil((hi - lo + 1) / ranges)
        return list(range(lo + step, hi + 1, step))
    lo_f, hi_f = float(lo), float(hi)
    if not (math.isfinite(lo_f) and math.isfinite(hi_f)) or hi_f <= lo_f:
        return []
    step_f = (hi_f - lo_f) / partitions
    return sorted({lo_f + i * step_f for i in range(1, partitions)})
