"""Identifiers and typed literals: properties checked by real SQLite and PostgreSQL engines."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from lakeflow.adapters.identifiers import (
    at_or_after,
    dialect_of,
    quote_identifier,
    quote_table,
    sql_literal,
    table_problem,
    text_at_or_after,
    validate_identifier,
)
from lakeflow.adapters.sql_source import SqlSource
from lakeflow.core.incremental import IncrementalSpec, Watermark, text_instant
from lakeflow.testing.postgres import EmbeddedPostgres
from tests.adapters.sql_helpers import ok

TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"))
FINITE = st.floats(allow_nan=False, allow_infinity=False)
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
# PostgreSQL timestamps span 4713 BC..294276 AD; Python's datetime covers years 1..9999.
TIMES = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))


@pytest.fixture(scope="module")
def pg_cursor(postgres: EmbeddedPostgres) -> Iterator[Any]:
    """One autocommit ADBC cursor on the test server, shared by the module's properties."""
    import adbc_driver_postgresql.dbapi as pg

    with pg.connect(postgres.uri(), autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'America/New_York'")  # literals must not depend on it
        yield cur


def _sqlite_value(literal: str) -> Any:
    with sqlite3.connect(":memory:") as conn:
        return conn.execute(f"SELECT {literal}").fetchone()[0]


def _pg_value(cur: Any, literal: str) -> Any:
    cur.execute(f"SELECT {literal}")
    return cur.fetchone()[0]


# -- literals evaluate to the value they were made from ------------------------------------------


@given(text=TEXT)
@example(text="O'Brien")
@example(text="back\\slash '' \\' done")
@example(text="'; DROP TABLE users; --")
@example(text="")
def test_string_literals_round_trip(text: str, pg_cursor: Any) -> None:
    """Any text (quotes, backslashes, SQL) rendered as a literal evaluates to itself."""
    assert _sqlite_value(sql_literal(text, "sqlite")) == text
    assert _pg_value(pg_cursor, sql_literal(text, "postgresql")) == text


@given(number=INT64 | FINITE)
@example(number=0.1)
@example(number=-0.0)
@example(number=5e-324)
@example(number=1.7976931348623157e308)
@example(number=-(2**63))
def test_number_literals_round_trip(number: float, pg_cursor: Any) -> None:
    """Integers and finite floats rendered as literals evaluate to the same number."""
    assert _sqlite_value(sql_literal(number, "sqlite")) == number
    # PostgreSQL types a decimal literal as numeric (ADBC returns it as text): compare exactly.
    got = _pg_value(pg_cursor, sql_literal(number, "postgresql"))
    written = repr(number) if isinstance(number, float) else str(number)
    assert Decimal(str(got)) == Decimal(written)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), True, None])
def test_values_without_a_sql_literal_are_refused(value: object) -> None:
    """NaN, infinities, booleans and None have no safe bound literal and are refused."""
    with pytest.raises(ValueError, match="cannot use"):
        sql_literal(value, "postgresql")


@given(moment=TIMES, aware=st.booleans())
@example(moment=datetime(2024, 3, 10, 2, 30), aware=False)  # a New York DST gap
@example(moment=datetime(2024, 1, 1, 0, 0, 0, 1), aware=True)
def test_timestamp_literals_round_trip_on_postgresql(
    moment: datetime, aware: bool, pg_cursor: Any
) -> None:
    """Naive times become TIMESTAMP, aware ones TIMESTAMPTZ, independent of the session zone."""
    value = moment.replace(tzinfo=UTC) if aware else moment
    got = _pg_value(pg_cursor, sql_literal(value, "postgresql"))
    assert got == value
    assert (got.tzinfo is not None) == aware


@given(day=st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_date_literals_round_trip(day: date, pg_cursor: Any) -> None:
    """Dates become DATE literals on PostgreSQL and ISO text on SQLite."""
    assert _pg_value(pg_cursor, sql_literal(day, "postgresql")) == day
    assert _sqlite_value(sql_literal(day, "sqlite")) == day.isoformat()


# -- identifiers ----------------------------------------------------------------------------------


@given(name=st.text(max_size=40))
@example(name="users; drop table users; --")
@example(name='x" OR "1"="1')
@example(name="naïve_größe")
@example(name="order")
@example(name="users\n")
@example(name="users\r\n")
def test_identifiers_are_accepted_only_when_plain_and_then_name_a_real_column(name: str) -> None:
    """Accepted names contain no quote, space or punctuation and name exactly that column."""
    try:
        validate_identifier(name)
    except ValueError as exc:
        problem = str(exc)
    else:
        problem = ""
    if problem:
        assert "nothing was sent" in problem
        return
    assert name and not any(ch in name for ch in "\"'`;()[] \t\n-.,/*=")
    quoted = quote_identifier(name, "sqlite")
    with sqlite3.connect(":memory:") as conn:
        cursor = conn.execute(f"SELECT 1 AS {quoted}")
        assert cursor.description[0][0] == name


def test_quoting_per_dialect() -> None:
    """Each dialect gets its own identifier quotes; schema-qualified names quote each part."""
    assert quote_table("s.t", "postgresql") == '"s"."t"'
    assert quote_table("s.t", "mysql") == "`s`.`t`"
    assert quote_table("s.t", "mssql") == "[s].[t]"
    assert dialect_of("postgres://h/db") == dialect_of("postgresql+psycopg://h/db") == "postgresql"
    assert dialect_of("sqlite:///x.db") == "sqlite"
    assert dialect_of("snowflake://x") == "other"


# -- SQLite times: the incremental bound never drops a row at or after the watermark -------------

SQLITE_FORMATS = [
    "%Y-%m-%d %H:%M:%S",  # CURRENT_TIMESTAMP, Python's sqlite3 adapter without microseconds
    "%Y-%m-%d %H:%M:%S.%f",  # Python's sqlite3 adapter
    "%Y-%m-%dT%H:%M:%S",  # isoformat()
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S.{ms}",  # milliseconds, as many tools write them
]
MOMENTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2000, 1, 1, 0, 0, 3))


def _render(moment: datetime, fmt: str) -> str:
    return moment.strftime(fmt.replace("{ms}", f"{moment.microsecond // 1000:03d}"))


@given(
    rows=st.lists(st.tuples(MOMENTS, st.sampled_from(SQLITE_FORMATS)), min_size=1, max_size=12),
    pick=st.integers(min_value=0),
    shift=st.sampled_from([timedelta(0), timedelta(microseconds=1), timedelta(microseconds=-1)]),
)
def test_sqlite_time_bounds_never_drop_a_row(
    rows: list[tuple[datetime, str]], pick: int, shift: timedelta
) -> None:
    """Whatever text format each row uses, every row at or after the watermark is read."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.db"
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE t (id INTEGER, ts DATETIME)")
            conn.executemany(
                "INSERT INTO t VALUES (?, ?)",
                [(i, _render(m, f)) for i, (m, f) in enumerate(rows)],
            )
        conn.close()
        source = SqlSource(f"sqlite://{path}", table="t")
        stored = ok(source.read()).collect()  # the values as connectorx reads them
        mark = stored["ts"][pick % stored.height] + shift
        incremental = SqlSource(f"sqlite://{path}", table="t", incremental=IncrementalSpec("ts"))
        got = ok(incremental.read(Watermark("ts", mark))).collect()
        expected = set(stored.filter(stored["ts"] >= mark)["id"].to_list())
        assert expected <= set(got["id"].to_list())
        # The over-read is bounded: only rows within the same millisecond as the mark.
        extra = got.filter(got["ts"] < mark)["ts"].to_list()
        assert all(mark - t < timedelta(milliseconds=1) for t in extra)


def test_sqlite_condition_uses_julianday_for_times_only() -> None:
    """SQLite time bounds compare through julianday(); numbers and text compare directly."""
    assert at_or_after('"n"', 5, "sqlite") == '"n" >= 5'
    assert at_or_after('"s"', "b", "sqlite") == "\"s\" >= 'b'"
    assert at_or_after('"d"', date(2024, 1, 2), "sqlite").startswith('julianday("d") >=')
    assert at_or_after('"t"', datetime(2024, 1, 2), "postgresql") == (
        "\"t\" >= TIMESTAMP '2024-01-02 00:00:00.000000'"
    )


# -- text timestamps: the pushed-down bound keeps every row lakeflow would select ----------------

ZONES = ["", "Z", "z", "+00:00", "+02:00", "-05:00", "+05:30", "+0200", "-0800", "+02", "+23:59"]
INSTANTS = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
ODD_TEXTS = st.sampled_from(
    [
        *("garbage", "12345", "2460310.5", "now", " 2024-01-01T10:00:00", "", "2024-1-1"),
        *("2024-02-30", "2023-02-29T10:00", "2024-13-01", "0000-06-01", "0001-01-01T00:30+01:00"),
        *(
            "9999-12-31T23:00-05:00",
            "2024-01-01T24:00:00",
            "2024-01-01T10:60",
            "2024-01-01T10:00:60",
        ),
        *("2024-01-01\t10:00", "2024-01-01  10:00", "2024-01-01T10:00:00.1234567891"),
        *("2024-01-01T10:00+14:60", "2024-01-01T10:00+16:00", "2024-01-01T10:00:00 +02:00"),
    ]
)


@st.composite
def timestamp_texts(draw: st.DrawFn) -> str:
    """Text timestamps in the forms programs write, and text that only looks like one."""
    if draw(st.integers(0, 4)) == 0:
        return draw(ODD_TEXTS | TEXT)
    instant = draw(INSTANTS)
    zone = draw(st.sampled_from(ZONES))
    sign = -1 if zone.startswith("-") else 1
    digits = zone[1:].replace(":", "") if zone[:1] in "+-" else ""
    minutes = (int(digits[:2]) * 60 + int(digits[2:] or 0)) if digits else 0
    local = instant.astimezone(timezone(sign * timedelta(minutes=minutes)))
    sep = draw(st.sampled_from(["T", " ", "t"]))
    fraction = draw(st.sampled_from(["", ".5", ".123", ".999999", ".123456789"]))
    return local.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + fraction + zone


def _selected_by_lakeflow(texts: list[str], bound: datetime) -> set[int]:
    frame = pl.DataFrame(
        {"id": range(len(texts)), "t": texts}, schema={"id": pl.Int64, "t": pl.String}
    )
    instant = text_instant(pl.col("t"))
    unplaced = pl.col("t").is_not_null() & instant.is_null()
    keep = (instant >= pl.lit(bound, dtype=pl.Datetime("us", "UTC"))) | unplaced
    return set(frame.filter(keep)["id"].to_list())


@given(texts=st.lists(timestamp_texts(), min_size=1, max_size=15), bound=INSTANTS)
@example(
    texts=["2024-01-01T10:00:00+02:00", "2024-01-01T09:00:00Z", "2024-01-01 11:00"],
    bound=datetime(2024, 1, 1, 8, 30, tzinfo=UTC),
)
@example(
    texts=["2024-01-01 10:00:00.9996", "2024-01-01T10:00:00.999599Z"],
    bound=datetime(2024, 1, 1, 10, 0, 0, 999600, tzinfo=UTC),
)
def test_text_timestamp_bounds_keep_every_row_lakeflow_selects(
    texts: list[str], bound: datetime, pg_cursor: Any
) -> None:
    """The SQL bound of a text column, run by real SQLite and PostgreSQL (in a non-UTC session),
    keeps every row whose text is at or after the watermark as an instant, and every row whose
    text is not a timestamp (so the run can report it): never fewer than lakeflow selects."""
    expected = _selected_by_lakeflow(texts, bound)
    condition = text_at_or_after('"t"', bound, "sqlite")
    assert condition is not None
    with sqlite3.connect(":memory:") as conn:
        conn.execute('CREATE TABLE t (id INTEGER, "t" TEXT)')
        conn.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(texts)))
        got = {row[0] for row in conn.execute(f"SELECT id FROM t WHERE {condition}")}
    assert expected <= got
    condition = text_at_or_after('"t"', bound, "postgresql")
    rows = ", ".join(f"({i}, {sql_literal(text, 'postgresql')})" for i, text in enumerate(texts))
    pg_cursor.execute(f'SELECT id FROM (VALUES {rows}) AS v(id, "t") WHERE {condition}')
    assert expected <= {row[0] for row in pg_cursor.fetchall()}


@pytest.mark.parametrize("name", ["users\n", "users\r\n", "sales.orders\n"])
def test_a_trailing_newline_is_not_part_of_a_plain_identifier(name: str) -> None:
    """Identifiers are matched in full: a name with a trailing newline is refused up front."""
    assert table_problem(name) is not None
    with pytest.raises(ValueError, match="nothing was sent"):
        validate_identifier(name.rsplit(".", maxsplit=1)[-1])
