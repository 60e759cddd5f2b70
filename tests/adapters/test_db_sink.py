"""DatabaseSink against real PostgreSQL (embedded server over TCP) and real SQLite files."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lakeflow.adapters.db_sink import DatabaseSink
from lakeflow.core.errors import LoadError
from lakeflow.ports import Sink
from lakeflow.testing.postgres import EmbeddedPostgres
from tests.adapters.sql_helpers import Database, err, ok

DB_KINDS = ["postgresql", "sqlite"]


@pytest.fixture(params=DB_KINDS)
def db(request: pytest.FixtureRequest, sqlite_path: Path) -> Database:
    """An empty target database of each kind (the SQLite file does not exist yet)."""
    if request.param == "sqlite":
        return Database(f"sqlite://{sqlite_path}")
    uri: str = request.getfixturevalue("pg_uri")
    return Database(uri)


def _rows(db: Database, table: str, order: str = "id") -> list[tuple[Any, ...]]:
    return db.query(f'SELECT * FROM "{table}" ORDER BY "{order}"')


USERS = pl.LazyFrame(
    {
        "id": [1, 2, 3],
        "name": ["ann", "bob", None],
        "score": [1.5, None, 3.0],
    }
)


# -- modes ----------------------------------------------------------------------------------------


def test_sink_satisfies_the_port(db: Database) -> None:
    """DatabaseSink is a Sink; describe names the table and mode without secrets."""
    sink = DatabaseSink(db.uri, "users")
    assert isinstance(sink, Sink)
    assert sink.describe()["table"] == "users" and sink.describe()["mode"] == "append"
    ok(sink.check())


def test_append_creates_the_table_then_appends(db: Database) -> None:
    """The first append creates the table; each append inserts every row and counts them."""
    sink = DatabaseSink(db.uri, "users")
    assert ok(sink.load(USERS)) == 3
    assert ok(sink.load(USERS)) == 3
    rows = _rows(db, "users")
    assert [r[0] for r in rows] == [1, 1, 2, 2, 3, 3]
    assert rows[4][1:] == (None, 3.0)


def test_append_streams_in_batches(db: Database) -> None:
    """A frame larger than the batch size is loaded completely, in order, from a lazy plan."""
    frame = pl.LazyFrame({"id": range(1_000)}).with_columns(name=pl.format("u{}", "id"))
    assert (
        ok(DatabaseSink(db.uri, "big", batch_size=64).load(frame.filter(pl.col("id") % 3 > 0)))
        == 666
    )
    assert db.query('SELECT COUNT(*), MIN("id"), MAX("id") FROM "big"') == [(666, 1, 998)]


def test_replace_keeps_the_table_definition(db: Database) -> None:
    """Replace leaves only the new rows and keeps the table's own columns, defaults and index."""
    db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, note TEXT DEFAULT '-')")
    db.execute("CREATE INDEX users_name ON users (name)")
    db.execute("INSERT INTO users (id, name) VALUES (?, ?)", [(9, "old"), (10, "older")])
    frame = USERS.select("id", "name")
    assert ok(DatabaseSink(db.uri, "users", mode="replace").load(frame)) == 3
    assert _rows(db, "users") == [(1, "ann", "-"), (2, "bob", "-"), (3, None, "-")]
    if db.kind == "sqlite":
        indexes = db.query("SELECT name FROM sqlite_master WHERE type = 'index'")
    else:
        indexes = db.query("SELECT indexname FROM pg_indexes WHERE tablename = 'users'")
    assert ("users_name",) in indexes


def test_upsert_into_an_existing_datetime_column_keeps_the_whole_timestamp(
    sqlite_path: Path,
) -> None:
    """An upsert into a SQLite DATETIME column the first load created stores the full ISO text
    (SQLite's CAST AS DATETIME would keep only the year)."""
    db = Database(f"sqlite://{sqlite_path}")
    sink = DatabaseSink(db.uri, "events", mode="upsert", keys=["id"])
    first = pl.LazyFrame({"id": [1], "at": [datetime(2024, 5, 6, 7, 8, 9)]})
    second = pl.LazyFrame({"id": [1, 2], "at": [datetime(2025, 1, 2, 3, 4, 5)] * 2})
    ok(sink.load(first))
    ok(sink.load(second))
    assert _rows(db, "events") == [
        (1, "2025-01-02 03:04:05.000000"),
        (2, "2025-01-02 03:04:05.000000"),
    ]


def test_upsert_is_idempotent_and_counts_real_changes(db: Database) -> None:
    """An identical rerun changes 0 rows; a changed row and a new row count 1 each."""
    sink = DatabaseSink(db.uri, "users", mode="upsert", keys=["id"])
    assert ok(sink.load(USERS)) == 3
    assert ok(sink.load(USERS)) == 0
    changed = pl.LazyFrame(
        {"id": [2, 3, 4], "name": ["bob", "cy", "dee"], "score": [None, 3.0, 4.0]}
    )
    assert ok(sink.load(changed)) == 2  # id 3 renamed, id 4 new; id 2 identical (nulls equal)
    assert ok(sink.load(changed)) == 0
    assert _rows(db, "users") == [
        (1, "ann", 1.5),
        (2, "bob", None),
        (3, "cy", 3.0),
        (4, "dee", 4.0),
    ]


def test_upsert_creates_a_primary_key_on_the_keys(db: Database) -> None:
    """A table created by an upsert has a primary key on the keys, so plain inserts cannot dupe."""
    ok(
        DatabaseSink(db.uri, "pairs", mode="upsert", keys=["a", "b"]).load(
            pl.LazyFrame({"a": [1, 1], "b": ["x", "y"], "v": [1, 2]})
        )
    )
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        db.execute("INSERT INTO pairs (a, b, v) VALUES (1, 'x', 3)")


def test_upsert_with_only_key_columns_inserts_new_keys(db: Database) -> None:
    """When every column is a key, existing keys are left alone and new ones are inserted."""
    sink = DatabaseSink(db.uri, "tags", mode="upsert", keys=["tag"])
    assert ok(sink.load(pl.LazyFrame({"tag": ["a", "b"]}))) == 2
    assert ok(sink.load(pl.LazyFrame({"tag": ["b", "c"]}))) == 1


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("last", [(1, "second"), (2, "only")]), ("first", [(1, "first"), (2, "only")])],
)
def test_duplicate_keys_in_one_load_resolve_by_input_order(
    db: Database, policy: str, expected: list[tuple[Any, ...]]
) -> None:
    """Duplicate keys in one load keep the last (default) or first row in the frame's order."""
    frame = pl.LazyFrame({"id": [1, 2, 1], "v": ["first", "only", "second"]})
    sink = DatabaseSink(db.uri, "t", mode="upsert", keys=["id"], on_duplicate_keys=policy)  # type: ignore[arg-type]
    assert ok(sink.load(frame)) == 2
    assert _rows(db, "t") == expected


def test_duplicate_keys_can_be_refused(db: Database) -> None:
    """With on_duplicate_keys='error' a load with duplicated keys fails and writes nothing."""
    frame = pl.LazyFrame({"id": [1, 2, 1], "v": ["a", "b", "c"]})
    sink = DatabaseSink(db.uri, "t", mode="upsert", keys=["id"], on_duplicate_keys="error")
    failure = err(sink.load(frame))
    assert (
        not failure.retryable and "duplicate keys" in failure.message and "(1,)" in failure.message
    )
    exists = DatabaseSink(db.uri, "t", mode="upsert", keys=["id"])
    assert ok(exists.load(pl.LazyFrame({"id": [5], "v": ["x"]}))) == 1  # created only now


def test_null_keys_are_refused(db: Database) -> None:
    """An upsert with a null key fails as a permanent error naming the key."""
    frame = pl.LazyFrame({"id": [1, None], "v": ["a", "b"]})
    failure = err(DatabaseSink(db.uri, "t", mode="upsert", keys=["id"]).load(frame))
    assert not failure.retryable and "null key" in failure.message


# -- the property: upsert equals a model of "last row per key wins", and reruns change nothing ---

IDS = st.integers(min_value=0, max_value=6)
# PostgreSQL text cannot hold NUL characters (see test_nul_characters_fail_clearly_on_postgres).
VALUES = st.none() | st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=3)
AMOUNTS = st.none() | st.floats(allow_nan=True, allow_infinity=True, width=64)
BATCHES = st.lists(st.tuples(IDS, VALUES, AMOUNTS), max_size=10)
_tables = itertools.count()


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _stored(value: float | None, kind: str) -> float | None:
    """What the database keeps: SQLite stores NaN as NULL."""
    if kind == "sqlite" and value is not None and math.isnan(value):
        return None
    return value


@pytest.fixture(scope="module")
def property_databases(
    postgres: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Database]:
    """One database of each kind for the whole module; each example uses a new table."""
    folder = tmp_path_factory.mktemp("sink-property")
    return {
        "postgresql": Database(postgres.create_database("sink_property")),
        "sqlite": Database(f"sqlite://{folder / 'p.db'}"),
    }


@pytest.mark.parametrize("kind", DB_KINDS)
@settings(max_examples=25)
@given(batches=st.lists(BATCHES, min_size=1, max_size=3))
@example(batches=[[(1, "a", float("nan")), (1, "b", float("nan"))], [(1, "b", float("nan"))]])
@example(batches=[[(0, None, None)], [(0, None, None), (0, "", -0.0)]])
@example(batches=[[]])
def test_upsert_matches_the_last_row_wins_model(
    kind: str,
    batches: list[list[tuple[int, str | None, float | None]]],
    property_databases: dict[str, Database],
) -> None:
    """Each load changes exactly the rows the model changes, and an identical rerun changes 0."""
    db = property_databases[kind]
    table = f"p{next(_tables)}"
    sink = DatabaseSink(db.uri, table, mode="upsert", keys=["id"])
    schema = {"id": pl.Int64, "v": pl.String, "amount": pl.Float64}
    model: dict[int, tuple[str | None, float | None]] = {}
    for batch in batches:
        latest = {i: (v, _stored(a, kind)) for i, v, a in batch}
        expected = sum(
            1
            for i, row in latest.items()
            if i not in model or not all(_same(x, y) for x, y in zip(model[i], row, strict=True))
        )
        frame = pl.LazyFrame(batch, schema=schema, orient="row")
        assert ok(sink.load(frame)) == expected
        assert ok(sink.load(frame)) == 0
        model.update(latest)
    if not model:
        return
    got = {r[0]: (r[1], r[2]) for r in _rows(db, table)}
    assert got.keys() == model.keys()
    for key, row in model.items():
        assert all(_same(x, y) for x, y in zip(got[key], row, strict=True)), (key, got[key], row)


# -- types ADBC cannot write as they are ---------------------------------------------------------


def test_categorical_enum_and_null_columns_are_written(db: Database) -> None:
    """Categorical and Enum columns become text and an all-null column a typed null."""
    frame = pl.LazyFrame(
        {
            "id": [1, 2],
            "cat": pl.Series(["x", "y"], dtype=pl.Categorical),
            "enum": pl.Series(["lo", "hi"], dtype=pl.Enum(["lo", "hi"])),
            "nothing": [None, None],
        }
    )
    for mode in ("append", "upsert"):
        table = f"t_{mode}"
        keys = ["id"] if mode == "upsert" else []
        assert ok(DatabaseSink(db.uri, table, mode=mode, keys=keys).load(frame)) == 2
        assert _rows(db, table) == [(1, "x", "lo", None), (2, "y", "hi", None)]


def test_times_round_trip_through_the_sql_source(db: Database) -> None:
    """Dates and times written by the sink are read back as dates and times by SqlSource."""
    from lakeflow.adapters.sql_source import SqlSource

    frame = pl.LazyFrame(
        {
            "id": [1],
            "at": [datetime(2024, 5, 6, 7, 8, 9, 123456)],
            "day": [date(2024, 5, 6)],
        }
    )
    ok(DatabaseSink(db.uri, "times").load(frame))
    back = ok(SqlSource(db.uri, table="times").read()).collect()
    assert back.rows() == [(1, datetime(2024, 5, 6, 7, 8, 9, 123456), date(2024, 5, 6))]


def test_existing_postgres_types_are_matched(pg_uri: str) -> None:
    """Int64 into int4, floats into numeric, text into jsonb: rows are cast to the table's types."""
    db = Database(pg_uri)
    db.execute(
        "CREATE TABLE typed (id INT4 PRIMARY KEY, small INT2, amount NUMERIC(10, 2), "
        "doc JSONB, at TIMESTAMPTZ, label VARCHAR(8))"
    )
    frame = pl.LazyFrame(
        {
            "id": [1, 2],
            "small": [7, 8],
            "amount": [1.25, 2.5],
            "doc": ['{"a": 1}', "[]"],
            "at": [datetime(2024, 1, 1, 12), datetime(2024, 1, 2, 12)],
            "label": pl.Series(["a", "b"], dtype=pl.Categorical),
        }
    ).with_columns(pl.col("at").dt.replace_time_zone("Europe/Berlin"))
    assert ok(DatabaseSink(pg_uri, "typed").load(frame.filter(pl.col("id") == 1))) == 1
    upsert = DatabaseSink(pg_uri, "typed", mode="upsert", keys=["id"])
    assert ok(upsert.load(frame)) == 1
    assert ok(upsert.load(frame)) == 0
    rows = db.query("SELECT id, small, amount::text, doc::text, at, label FROM typed ORDER BY id")
    assert rows[0][:4] == (1, 7, "1.25", '{"a": 1}')
    assert rows[1][4] == datetime(2024, 1, 2, 11, tzinfo=UTC)


def test_existing_int4_column_gets_int64_rows_by_direct_copy(pg_uri: str) -> None:
    """A plain int4/text table is loaded by COPY after casting Int64 to Int32."""
    db = Database(pg_uri)
    db.execute("CREATE TABLE plain (id INT4, name TEXT)")
    frame = pl.LazyFrame({"id": [1, 2], "name": ["a", "b"]})
    assert frame.collect_schema()["id"] == pl.Int64
    assert ok(DatabaseSink(pg_uri, "plain").load(frame)) == 2
    assert _rows(db, "plain") == [(1, "a"), (2, "b")]


def test_nul_characters_fail_clearly_on_postgres(pg_uri: str) -> None:
    """PostgreSQL text cannot store NUL: the load is a permanent error naming the cause."""
    failure = err(DatabaseSink(pg_uri, "t").load(pl.LazyFrame({"v": ["a\x00b"]})))
    assert not failure.retryable and "0x00" in failure.message


def test_nested_values_are_refused_on_sqlite(sqlite_path: Path) -> None:
    """SQLite cannot store lists: the load fails naming the column."""
    frame = pl.LazyFrame({"id": [1], "tags": [["a", "b"]]})
    failure = err(DatabaseSink(f"sqlite://{sqlite_path}", "t").load(frame))
    assert "'tags'" in failure.message and not failure.retryable


# -- one transaction: a failed load leaves the table as it was ---------------------------------


@pytest.mark.parametrize("mode", ["append", "replace", "upsert"])
def test_a_failure_in_a_late_batch_leaves_the_table_unchanged(db: Database, mode: str) -> None:
    """A value that cannot be cast, found in the last batch, rolls back the whole load."""
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)")
    db.execute("INSERT INTO t VALUES (?, ?)", [(100, 1), (101, 2)])
    frame = pl.LazyFrame({"id": list(range(1, 11)), "n": [str(i) for i in range(9)] + ["oops"]})
    keys = ["id"] if mode == "upsert" else []
    sink = DatabaseSink(db.uri, "t", mode=mode, keys=keys, batch_size=3)  # type: ignore[arg-type]
    failure = err(sink.load(frame))
    assert not failure.retryable
    assert "oops" in failure.message and "'n'" in failure.message
    assert _rows(db, "t") == [(100, 1), (101, 2)]


def test_a_failed_first_load_creates_no_table(db: Database) -> None:
    """Creating the table is part of the load's transaction."""
    frame = pl.LazyFrame({"id": [1, None], "v": ["a", "b"]})
    err(DatabaseSink(db.uri, "never", mode="upsert", keys=["id"]).load(frame))
    if db.kind == "sqlite":
        found = db.query("SELECT name FROM sqlite_master WHERE name = 'never'")
    else:
        found = db.query("SELECT to_regclass('never')::text WHERE to_regclass('never') IS NOT NULL")
    assert found == []


# -- errors: classified, clear, scrubbed ---------------------------------------------------------


def test_dead_server_is_retryable(dead_uri: str) -> None:
    """An unreachable server fails at the socket check as a retryable error."""
    sink = DatabaseSink(dead_uri, "t", connect_timeout=1)
    for failure in (err(sink.load(USERS)), err(sink.check())):
        assert failure.retryable and "cannot reach" in failure.message


def test_locked_sqlite_database_is_retryable(sqlite_path: Path) -> None:
    """ "database is locked" (another process holds the write lock) is a retryable error."""
    ok(DatabaseSink(f"sqlite://{sqlite_path}", "t").load(USERS))
    # Another process: POSIX file locks do not separate two SQLite libraries in one process.
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(sqlite_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        failure = err(DatabaseSink(f"sqlite://{sqlite_path}", "t").load(USERS))
    finally:
        holder.communicate("release\n", timeout=30)
    assert failure.retryable, failure.message
    assert "locked" in failure.message
    assert len(_rows(Database(f"sqlite://{sqlite_path}"), "t")) == 3


_HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


def test_wrong_password_is_permanent(postgres: EmbeddedPostgres, pg_database: str) -> None:
    """A failed login is a permanent error without the password in it."""
    planted = "Planted-Sink-Secret-77"
    sink = DatabaseSink(postgres.uri(pg_database, password=planted), "t")
    for failure in (err(sink.load(USERS)), err(sink.check())):
        assert not failure.retryable and "authentication failed" in failure.message
        assert planted not in failure.message


def test_unknown_columns_and_missing_unique_index_are_explained(db: Database) -> None:
    """Columns the table lacks, and an upsert without a matching unique index, fail clearly."""
    db.execute("CREATE TABLE t (id INTEGER, name TEXT)")
    extra = err(DatabaseSink(db.uri, "t").load(USERS))
    assert "'score'" in extra.message and "not in the table" in extra.message
    no_index = err(DatabaseSink(db.uri, "t", mode="upsert", keys=["id"]).load(USERS.drop("score")))
    assert not no_index.retryable and "unique index" in no_index.message


@pytest.mark.parametrize("table", ["users; drop table users; --", "a.b.c", "x y"])
def test_hostile_table_names_never_reach_the_database(
    table: str, postgres: EmbeddedPostgres, pg_uri: str
) -> None:
    """A hostile target name is refused before connecting; the real table is untouched."""
    db = Database(pg_uri)
    db.execute("CREATE TABLE users (id INTEGER)")
    before = postgres.log_text()
    failure = err(DatabaseSink(pg_uri, table).load(USERS))
    assert isinstance(failure, LoadError) and not failure.retryable
    assert "nothing was sent" in failure.message
    assert "drop table" not in postgres.log_text()[len(before) :].lower()
    assert db.query("SELECT COUNT(*) FROM users") == [(0,)]


def test_hostile_column_names_are_refused(db: Database) -> None:
    """Column names in the rows are validated too, before anything is sent."""
    frame = pl.LazyFrame({"id": [1], 'x"); drop table t; --': [2]})
    failure = err(DatabaseSink(db.uri, "t").load(frame))
    assert "not plain SQL names" in failure.message


def test_invalid_options_are_all_reported() -> None:
    """Every invalid option is listed at once, secret-free, and load refuses to run."""
    sink = DatabaseSink(
        "postgresql://u:s3cret@127.0.0.1:1/db",
        "t",
        mode="merge",  # type: ignore[arg-type]
        keys=["bad key"],
        batch_size=0,
    )
    text = " | ".join(sink.problems)
    assert "mode 'merge'" in text and "'bad key'" in text and "batch_size" in text
    assert "s3cret" not in text
    assert not err(sink.load(USERS)).retryable
    assert DatabaseSink("mysql://u@h/db", "t").problems


def test_password_never_appears_in_any_output(
    postgres: EmbeddedPostgres, pg_uri: str, dead_uri: str
) -> None:
    """The URI's password is absent from describe, repr, problems and every error message."""
    password = postgres.password.reveal()
    db = Database(pg_uri)
    db.execute("CREATE TABLE t (id INTEGER, name TEXT)")
    cases: list[tuple[DatabaseSink, pl.LazyFrame]] = [
        (DatabaseSink(pg_uri, "t"), USERS),  # unknown column
        (DatabaseSink(pg_uri, "t", mode="upsert", keys=["id"]), USERS.drop("score")),
        (DatabaseSink(pg_uri, "t"), pl.LazyFrame({"id": ["x"]})),  # cast failure
        (DatabaseSink(pg_uri, "bad name"), USERS),
        (DatabaseSink(dead_uri, "t", connect_timeout=1), USERS),
    ]
    outputs: list[str] = []
    for sink, frame in cases:
        result = sink.load(frame)
        failure = err(result)
        outputs += [repr(sink), str(sink.describe()), *sink.problems, str(result)]
        outputs += [failure.message, repr(failure), str(failure.to_dict())]
    joined = "\n".join(outputs)
    assert password not in joined and "dead-server-pw-31337" not in joined
    assert "***" in joined
