"""SqlSource against real PostgreSQL (embedded server over TCP) and real SQLite files."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from lakeflow.adapters.sql_source import SqlSource
from lakeflow.core.errors import ExtractError
from lakeflow.core.incremental import IncrementalSpec, Watermark
from lakeflow.ports import ExtractContext, Source
from lakeflow.testing.postgres import EmbeddedPostgres
from tests.adapters.sql_helpers import Database, err, ok, publish

DB_KINDS = ["postgresql", "sqlite"]


@pytest.fixture(params=DB_KINDS)
def db(request: pytest.FixtureRequest, sqlite_path: Path) -> Database:
    """An empty database of each kind: a fresh PostgreSQL database or a new SQLite file."""
    if request.param == "sqlite":
        sqlite_path.touch()
        return Database(f"sqlite://{sqlite_path}")
    uri: str = request.getfixturevalue("pg_uri")
    return Database(uri)


def _sorted(frame: pl.LazyFrame | pl.DataFrame, by: str = "id") -> pl.DataFrame:
    data = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    return data.sort(by)


# -- full reads ---------------------------------------------------------------------------------


def test_full_table_read_returns_every_row_with_types(db: Database) -> None:
    """A table source reads every row, nulls included, with integer and text types kept."""
    db.execute("CREATE TABLE users (id INTEGER, name TEXT, score REAL)")
    db.execute("INSERT INTO users VALUES (?, ?, ?)", [(1, "ann", 1.5), (2, "bob", None)])
    db.execute("INSERT INTO users (id) VALUES (3)")
    frame = _sorted(ok(SqlSource(db.uri, table="users").read()))
    assert frame["id"].to_list() == [1, 2, 3]
    assert frame["name"].to_list() == ["ann", "bob", None]
    assert frame["score"].to_list() == [1.5, None, None]
    assert frame.schema["name"] == pl.String


def test_source_satisfies_the_port_and_reads_through_extract(
    db: Database, make_context: Callable[..., ExtractContext]
) -> None:
    """SqlSource is a Source and ``extract`` with no watermark reads the whole table."""
    db.execute("CREATE TABLE t (id INTEGER)")
    db.execute("INSERT INTO t VALUES (?)", [(1,), (2,)])
    source = SqlSource(db.uri, table="t", incremental=IncrementalSpec("id"))
    assert isinstance(source, Source)
    assert sorted(ok(source.extract(make_context())).collect()["id"].to_list()) == [1, 2]


def test_custom_query_is_sent_as_written(db: Database) -> None:
    """A query source returns the query's own columns; a trailing semicolon is tolerated."""
    db.execute("CREATE TABLE t (id INTEGER, amount INTEGER)")
    db.execute("INSERT INTO t VALUES (?, ?)", [(1, 10), (2, 20), (3, 30)])
    source = SqlSource(db.uri, query="SELECT id, amount * 2 AS doubled FROM t WHERE id > 1;\n")
    frame = _sorted(ok(source.read()))
    assert frame.columns == ["id", "doubled"]
    assert frame["doubled"].to_list() == [40, 60]


def test_schema_qualified_table_and_case_sensitive_names(pg_uri: str) -> None:
    """``schema.table`` is quoted part by part, so mixed-case and reserved names work."""
    db = Database(pg_uri)
    db.execute('CREATE SCHEMA "Sales"')
    db.execute('CREATE TABLE "Sales"."order" ("Id" INTEGER, "select" TEXT)')
    db.execute('INSERT INTO "Sales"."order" VALUES (?, ?)', [(7, "x")])
    source = SqlSource(pg_uri, table="Sales.order", incremental=IncrementalSpec("Id"))
    frame = ok(source.read(Watermark("Id", 7))).collect()
    assert frame.rows() == [(7, "x")]


def test_schema_and_check_report_the_columns_extract_produces(db: Database) -> None:
    """``schema()`` maps each column to the Polars type the extract returns; ``check()`` passes."""
    db.execute("CREATE TABLE t (id INTEGER, name TEXT, ts TIMESTAMP)")
    db.execute("INSERT INTO t VALUES (?, ?, ?)", [(1, "a", datetime(2024, 1, 1, 12))])
    source = SqlSource(db.uri, table="t")
    schema = ok(source.schema())
    frame = ok(source.read()).collect()
    assert schema == {name: str(dtype) for name, dtype in frame.schema.items()}
    assert schema["ts"].startswith("Datetime")
    ok(source.check())


# -- incremental reads: late ties are neither lost nor published twice ---------------------------

T0 = datetime(2024, 3, 1, 12, 0, 0)


def _pg_ts(i: int) -> object:
    return T0 + timedelta(seconds=i)


def _pg_tstz(i: int) -> object:
    return (T0 + timedelta(seconds=i)).replace(tzinfo=UTC)


def _text_ts(i: int) -> str:
    """Step i as text, in a form that sorts *before* step i - 1's as text (compared as instants)."""
    instant = (T0 + timedelta(seconds=i)).replace(tzinfo=UTC)
    forms = [
        instant.astimezone(timezone(timedelta(hours=2))).isoformat(),  # ...T14:00:01+02:00
        instant.strftime("%Y-%m-%dT%H:%M:%SZ"),  # ...T12:00:02Z
        instant.strftime("%Y-%m-%d %H:%M:%S.%f"),  # ... 12:00:03.000000 (UTC)
    ]
    return forms[i % 3]


# Each case: column DDL type, value for step i (as stored), and the database it runs on.
INCREMENTAL_CASES: dict[str, tuple[str, str, Callable[[int], object]]] = {
    "pg-timestamp": ("postgresql", "TIMESTAMP", _pg_ts),
    "pg-timestamptz": ("postgresql", "TIMESTAMPTZ", _pg_tstz),
    "pg-date": ("postgresql", "DATE", lambda i: date(2024, 3, 1) + timedelta(days=i)),
    "pg-bigint": ("postgresql", "BIGINT", lambda i: 1_000 + i),
    "pg-text-timestamps": ("postgresql", "TEXT", _text_ts),
    "pg-double": ("postgresql", "DOUBLE PRECISION", lambda i: 0.1 * i),
    # SQLite stores times as text: whole seconds without a fraction (Python's sqlite3
    # adapter, CURRENT_TIMESTAMP) must still tie with a watermark that has microseconds.
    "sqlite-datetime-plain": (
        "sqlite",
        "DATETIME",
        lambda i: (T0 + timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S"),
    ),
    "sqlite-datetime-iso-t": (
        "sqlite",
        "DATETIME",
        lambda i: (T0 + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%f"),
    ),
    "sqlite-date": ("sqlite", "DATE", lambda i: (date(2024, 3, 1) + timedelta(days=i)).isoformat()),
    "sqlite-integer": ("sqlite", "INTEGER", lambda i: 1_000 + i),
    "sqlite-text-timestamps": ("sqlite", "TEXT", _text_ts),
}


@pytest.mark.parametrize("case", list(INCREMENTAL_CASES))
def test_incremental_reads_late_ties_exactly_once(
    case: str, sqlite_path: Path, request: pytest.FixtureRequest
) -> None:
    """Rows committed after a run with a value equal to the watermark are read, once."""
    kind, ddl_type, value = INCREMENTAL_CASES[case]
    if kind == "sqlite":
        sqlite_path.touch()
        db = Database(f"sqlite://{sqlite_path}")
    else:
        db = Database(request.getfixturevalue("pg_uri"))
    db.execute(f"CREATE TABLE events (id BIGINT, v {ddl_type}, note TEXT)")
    insert = "INSERT INTO events VALUES (?, ?, ?)"
    spec = IncrementalSpec("v", key=("id",))
    source = SqlSource(db.uri, table="events", incremental=spec)

    db.execute(insert, [(1, value(1), "a"), (2, value(2), "b"), (3, value(2), "c")])
    first, wm = publish(ok(source.read(None)), None, spec)
    assert sorted(first["id"].to_list()) == [1, 2, 3]

    # Late rows: a tie with the watermark (a strict ">" cursor would lose it) and a newer one.
    db.execute(insert, [(4, value(2), "late tie"), (5, value(3), "newer")])
    second, wm = publish(ok(source.read(wm)), wm, spec)
    assert sorted(second["id"].to_list()) == [4, 5]

    db.execute(insert, [(6, value(3), "tie with the new max")])
    third, wm = publish(ok(source.read(wm)), wm, spec)
    assert third["id"].to_list() == [6]

    fourth, after = publish(ok(source.read(wm)), wm, spec)
    assert fourth.height == 0
    assert after == wm


def test_incremental_ties_with_an_int4_key_column(pg_uri: str) -> None:
    """Published keys are matched whatever the key column's integer width (int4 here)."""
    db = Database(pg_uri)
    db.execute("CREATE TABLE events (id INTEGER, v BIGINT)")
    db.execute("INSERT INTO events VALUES (?, ?)", [(1, 1), (2, 2)])
    spec = IncrementalSpec("v", key=("id",))
    source = SqlSource(pg_uri, table="events", incremental=spec)
    _, wm = publish(ok(source.read(None)), None, spec)
    db.execute("INSERT INTO events VALUES (?, ?)", [(3, 2)])
    again, _ = publish(ok(source.read(wm)), wm, spec)
    assert again["id"].to_list() == [3]


def test_incremental_query_source_is_wrapped_as_a_subquery(db: Database) -> None:
    """A custom query with its own WHERE still gets the watermark filter (as a subquery)."""
    db.execute("CREATE TABLE t (id INTEGER, kind TEXT)")
    db.execute("INSERT INTO t VALUES (?, ?)", [(1, "a"), (2, "b"), (3, "a"), (4, "a")])
    source = SqlSource(
        db.uri,
        query="SELECT id AS n, kind FROM t WHERE kind = 'a'",
        incremental=IncrementalSpec("n"),
    )
    frame = _sorted(ok(source.read(Watermark("n", 3))), "n")
    assert frame["n"].to_list() == [3, 4]


def test_watermark_for_another_column_is_a_permanent_error(db: Database) -> None:
    """A checkpoint written for a different incremental column is refused, not misapplied."""
    db.execute("CREATE TABLE t (id INTEGER, ts TEXT)")
    source = SqlSource(db.uri, table="t", incremental=IncrementalSpec("id"))
    lake_free = ExtractContext(watermark=Watermark("ts", "x"), lake=None, base_ref="c1")  # type: ignore[arg-type]
    failure = err(source.extract(lake_free))
    assert not failure.retryable
    assert "'ts'" in failure.message and "'id'" in failure.message


# -- partitioned reads --------------------------------------------------------------------------


@pytest.mark.parametrize("partitions", [1, 2, 3, 7, 50])
def test_partitioned_read_equals_the_full_read(db: Database, partitions: int) -> None:
    """Any number of partitions returns exactly the rows of one query, NULL keys included."""
    db.execute("CREATE TABLE t (id INTEGER, grp INTEGER, name TEXT)")
    rows = [(i, (i * 37) % 11 - 3, f"n{i}") for i in range(1, 41)]
    db.execute("INSERT INTO t VALUES (?, ?, ?)", rows)
    db.execute("INSERT INTO t (id, name) VALUES (41, 'null group')")
    full = _sorted(ok(SqlSource(db.uri, table="t").read()))
    source = SqlSource(db.uri, table="t", partition_on="grp", partitions=partitions)
    parted = _sorted(ok(source.read()))
    assert_frame_equal(parted, full)
    assert 41 in parted["id"].to_list()


def test_partitioned_read_on_a_float_column_and_empty_table(db: Database) -> None:
    """Float partition columns split correctly, and an empty table reads as zero rows."""
    db.execute("CREATE TABLE t (id INTEGER, x REAL)")
    empty = SqlSource(db.uri, table="t", partition_on="x", partitions=4)
    assert ok(empty.read()).collect().height == 0
    db.execute("INSERT INTO t VALUES (?, ?)", [(i, i / 7) for i in range(30)])
    assert sorted(ok(empty.read()).collect()["id"].to_list()) == list(range(30))


def test_partitioned_incremental_read_applies_both(db: Database) -> None:
    """Partitioning and the watermark filter combine: only rows at or after it, all of them."""
    db.execute("CREATE TABLE t (id INTEGER, ts INTEGER)")
    db.execute("INSERT INTO t VALUES (?, ?)", [(i, i // 3) for i in range(60)])
    spec = IncrementalSpec("ts", key=("id",))
    source = SqlSource(db.uri, table="t", incremental=spec, partition_on="id", partitions=4)
    frame = ok(source.read(Watermark("ts", 10, ("id",), ((30,),))))
    assert sorted(frame.collect()["id"].to_list()) == list(range(30, 60))


@settings(max_examples=30)
@given(
    values=st.lists(st.none() | st.integers(-(10**12), 10**12), max_size=25)
    | st.lists(st.none() | st.floats(-1e9, 1e9, allow_nan=False), max_size=25),
    requested=st.integers(1, 10**15),
)
@example(values=list(range(1, 201)), requested=10**12)
def test_partitions_beyond_the_rows_cost_at_most_one_range_per_value(
    values: list[int | float | None], requested: int
) -> None:
    """However many partitions are asked for (up to 10**15, the plan costing the same), a read
    issues at most one range query per non-null value and returns exactly the full read."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.db"
        kind = "REAL" if any(isinstance(v, float) for v in values) else "INTEGER"
        with sqlite3.connect(path) as conn:
            conn.execute(f"CREATE TABLE t (id INTEGER, p {kind})")
            conn.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
        conn.close()
        uri = f"sqlite://{path}"
        source = SqlSource(uri, table="t", partition_on="p", partitions=requested)
        planned = ok(source.queries())
        present = sum(v is not None for v in values)
        assert 1 <= len(planned) <= max(1, present)
        full = ok(SqlSource(uri, table="t").read()).collect()
        assert sorted(ok(source.read()).collect()["id"].to_list()) == sorted(full["id"].to_list())


def test_a_huge_partition_count_on_postgres_issues_one_query_per_row_at_most(
    postgres: EmbeddedPostgres, pg_uri: str
) -> None:
    """partitions: 10**12 on a 40-row PostgreSQL table runs at most 40 range queries (counted
    in the server's statement log) plus the bounds query, and reads every row once."""
    db = Database(pg_uri)
    db.execute("CREATE TABLE huge_parts (id INTEGER, v TEXT)")
    db.execute("INSERT INTO huge_parts VALUES (?, ?)", [(i, f"v{i}") for i in range(40)])
    logged_before = len(postgres.log_text())
    source = SqlSource(pg_uri, table="huge_parts", partition_on="id", partitions=10**12)
    frame = ok(source.read()).collect()
    assert sorted(frame["id"].to_list()) == list(range(40))
    issued = [
        line
        for line in postgres.log_text()[logged_before:].splitlines()
        if 'FROM "huge_parts"' in line
    ]
    assert 2 <= len(issued) <= 40 + 1, issued


def test_partitioning_a_text_column_is_a_clear_error(pg_uri: str) -> None:
    """A non-numeric partition column is refused with a message naming it."""
    db = Database(pg_uri)
    db.execute("CREATE TABLE t (id INTEGER, name TEXT)")
    db.execute("INSERT INTO t VALUES (?, ?)", [(1, "a")])
    failure = err(SqlSource(pg_uri, table="t", partition_on="name", partitions=2).read())
    assert "'name'" in failure.message and "numeric" in failure.message


# -- identifiers never reach the database unvalidated -------------------------------------------

HOSTILE = [
    "users; drop table users; --",
    'users" ; drop table users; --',
    "users where 1=1",
    "1users",
    "",
    "a.b.c.d",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_table_names_are_refused_before_any_query(
    name: str, postgres: EmbeddedPostgres, pg_uri: str, pg_database: str
) -> None:
    """A hostile table name fails as a permanent error; the server never sees it."""
    db = Database(pg_uri)
    db.execute("CREATE TABLE users (id INTEGER)")
    db.execute("INSERT INTO users VALUES (?)", [(1,)])
    log_before = postgres.log_text()
    source = SqlSource(pg_uri, table=name)
    assert source.problems
    for result in (source.read(), source.schema(), source.check()):
        failure = err(result)
        assert isinstance(failure, ExtractError) and not failure.retryable
        assert "nothing was sent" in failure.message or "exactly one of" in failure.message
    assert db.query("SELECT COUNT(*) FROM users") == [(1,)]
    new_log = postgres.log_text()[len(log_before) :]
    assert "drop table" not in new_log.lower()
    assert f"{pg_database} LOG:  statement" in new_log  # the log does record statements


@pytest.mark.parametrize("role", ["incremental", "key", "partition_on"])
def test_hostile_column_names_are_refused(role: str, sqlite_path: Path) -> None:
    """Incremental, key and partition column names are validated like table names."""
    sqlite_path.touch()
    hostile = "id) or (1=1"
    cases: dict[str, dict[str, Any]] = {
        "incremental": {"incremental": IncrementalSpec(hostile)},
        "key": {"incremental": IncrementalSpec("id", key=(hostile,))},
        "partition_on": {"partition_on": hostile, "partitions": 2},
    }
    options = cases[role]
    source = SqlSource(f"sqlite://{sqlite_path}", table="t", **options)
    failure = err(source.read())
    assert not failure.retryable and repr(hostile) in failure.message


def test_invalid_options_are_all_reported() -> None:
    """Every invalid option is listed at construction, without touching any database."""
    source = SqlSource(
        "postgresql://u:pw@127.0.0.1:1/db", table="t", query="select 1", partitions=0
    )
    text = " | ".join(source.problems)
    assert "exactly one of" in text
    assert "partition_on" in text
    assert "pw" not in text


# -- failures: fast, classified, named, scrubbed ------------------------------------------------


def test_dead_server_is_a_retryable_error(dead_uri: str) -> None:
    """An unreachable server fails at the socket check, as a retryable error."""
    source = SqlSource(dead_uri, table="users", connect_timeout=2)
    for result in (source.read(), source.schema(), source.check()):
        failure = err(result)
        assert failure.retryable
        assert "cannot reach" in failure.message


def test_wrong_password_is_permanent_and_scrubbed(postgres: EmbeddedPostgres, pg_uri: str) -> None:
    """A failed login is not retried (permanent) and the wrong password is not echoed."""
    planted = "Planted-Secret-9f3b"
    source = SqlSource(postgres.uri(pg_uri.rsplit("/", 1)[1], password=planted), table="t")
    failure = err(source.read())
    assert not failure.retryable
    assert "authentication failed" in failure.message
    assert planted not in failure.message and planted not in str(failure.to_dict())


BAD_SQL = {
    "missing table": (
        "missing_table",
        None,
        {"postgresql": "missing_table", "sqlite": "missing_table"},
    ),
    "syntax error": (None, "SELEC nonsense", {"postgresql": "syntax", "sqlite": "selec"}),
    "runtime error": (
        None,
        "SELECT abs(-9223372036854775807 - 1) AS x, 1 / 0 AS y",
        {"postgresql": "out of range", "sqlite": "integer overflow"},
    ),
}


@pytest.mark.parametrize("case", list(BAD_SQL))
def test_bad_sql_is_a_permanent_error(db: Database, case: str) -> None:
    """Missing tables, syntax errors and runtime SQL errors are permanent, with the reason."""
    table, query, expected = BAD_SQL[case]
    failure = err(SqlSource(db.uri, table=table, query=query).read())
    assert not failure.retryable
    assert expected[db.kind] in failure.message.lower()


def test_sqlite_missing_file_is_refused_and_not_created(tmp_path: Path) -> None:
    """A missing SQLite file is a permanent error, and no empty file is left behind."""
    path = tmp_path / "nope.db"
    failure = err(SqlSource(f"sqlite://{path}", table="t").read())
    assert not failure.retryable and "does not exist" in failure.message
    assert not path.exists()


def test_driver_panic_names_the_column(pg_uri: str) -> None:
    """A connectorx panic on a PostgreSQL interval column becomes an error naming that column."""
    db = Database(pg_uri)
    db.execute("CREATE TABLE t (id INTEGER, name TEXT, waited INTERVAL)")
    db.execute("INSERT INTO t VALUES (1, 'a', '2 days')")
    for result in (SqlSource(pg_uri, table="t").read(), SqlSource(pg_uri, table="t").schema()):
        failure = err(result)
        assert isinstance(failure, ExtractError) and not failure.retryable
        assert "'waited'" in failure.message
        assert "'id'" not in failure.message and "'name'" not in failure.message
    fixed = SqlSource(pg_uri, query="SELECT id, waited::text AS waited FROM t")
    assert ok(fixed.read()).collect()["waited"].to_list() == ["2 days"]


def test_password_never_appears_in_any_output(
    postgres: EmbeddedPostgres, pg_uri: str, dead_uri: str
) -> None:
    """The URI's password is absent from describe, repr, problems and every error message."""
    password = postgres.password.reveal()
    outputs: list[str] = []
    sources = [
        SqlSource(pg_uri, table="missing"),
        SqlSource(pg_uri, query="SELEC 1"),
        SqlSource(pg_uri, table="bad name"),
        SqlSource(pg_uri, table="t", partition_on="x", partitions=2),
        SqlSource(pg_uri, query="SELECT 1.5::float8 AS x", incremental=IncrementalSpec("x")),
    ]
    for source in sources:
        outputs += [repr(source), str(source.describe()), *source.problems]
        results = (source.read(Watermark("x", float("nan"))), source.read(), source.schema())
        outputs += [str(result) for result in results]
        outputs += [err(results[0]).message]
    dead = SqlSource(dead_uri, table="t", connect_timeout=1)
    outputs += [repr(dead), str(dead.describe()), err(dead.read()).message]
    joined = "\n".join(outputs)
    assert password not in joined
    assert "dead-server-pw-31337" not in joined
    assert "***" in joined


# -- values the driver cannot convert ------------------------------------------------------------

BAD_TIMES = st.sampled_from(
    ["2024-01-01T10:00:00+02:00", "2024-01-01T10:00:00Z", "01/02/2024 10:00", "garbage", "now"]
)


@settings(max_examples=20)
@given(
    names=st.lists(
        st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True), min_size=1, max_size=5, unique=True
    ),
    position=st.integers(0, 5),
    bad=BAD_TIMES,
)
def test_a_datetime_value_the_driver_cannot_convert_is_reported_by_column_name(
    names: list[str], position: int, bad: str
) -> None:
    """A SQLite DATETIME column holding text connectorx cannot read fails the read naming that
    column (not its position) and saying how to read it, wherever the column is."""
    columns = [n for n in names if n != "stamp"]
    columns.insert(min(position, len(columns)), "stamp")
    ddl = ", ".join(f'"{c}" DATETIME' if c == "stamp" else f'"{c}" INTEGER' for c in columns)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.db"
        with sqlite3.connect(path) as conn:
            conn.execute(f"CREATE TABLE t ({ddl})")
            conn.execute(
                f"INSERT INTO t VALUES ({', '.join('?' for _ in columns)})",
                [bad if c == "stamp" else 1 for c in columns],
            )
        conn.close()
        failure = err(SqlSource(f"sqlite://{path}", table="t").read())
    assert "column 'stamp'" in failure.message, failure.message
    assert 'CAST("stamp" AS TEXT)' in failure.message
    assert not failure.retryable
