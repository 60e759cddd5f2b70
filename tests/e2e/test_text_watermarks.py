"""Text timestamps as incremental columns: compared as instants, so no row is ever lost.

A model check over random sequences of rows whose text timestamps mix UTC offsets, ``Z``, a
space or ``T``, fractions of any length and ties, across several incremental runs of the real
shell on a real lake, reading real SQLite, PostgreSQL, CSV and parquet sources: every row is
published exactly once. Text that is not a timestamp fails the run naming the column.
"""

from __future__ import annotations

import itertools
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from lakeflow.adapters.file_source import FileSource
from lakeflow.adapters.sql_source import SqlSource
from lakeflow.core.incremental import IncrementalSpec
from lakeflow.ports import Lake, Source
from lakeflow.run import Pipeline, RetryPolicy, run
from lakeflow.testing.postgres import EmbeddedPostgres
from tests.e2e.lakes import new_lake, published

SPEC = IncrementalSpec("updated_at", ("id",))
FAST = RetryPolicy(max_retries=0, timeout_seconds=30)
_databases = itertools.count(1)

# -- texts of instants -------------------------------------------------------------------------

ZONES = ["", "Z", "z", "+00:00", "+02:00", "-05:00", "+05:30", "+0200", "-0800", "+02", "-12:00"]


def _offset(zone: str) -> timedelta:
    if zone in ("", "Z", "z"):
        return timedelta(0)
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:]) if len(digits) > 2 else 0)
    return sign * timedelta(minutes=minutes)


@st.composite
def texts_of(draw: st.DrawFn, instant: datetime) -> str:
    """One textual form of ``instant`` (UTC) that denotes exactly that instant."""
    zone = draw(st.sampled_from(ZONES))
    local = instant.astimezone(timezone(_offset(zone)))
    sep = draw(st.sampled_from(["T", " ", "t"]))
    text = local.strftime("%Y-%m-%d") + sep + local.strftime("%H:%M")
    whole_minute = local.second == 0 and local.microsecond == 0
    if not whole_minute or draw(st.booleans()):
        text += local.strftime(":%S")
        micros = f"{local.microsecond:06d}"
        digits = draw(st.sampled_from([6, 9] if local.microsecond else [0, 1, 3, 6, 9]))
        if digits:
            text += "." + (micros + "000")[:digits]
    return text + zone


START = datetime(2024, 3, 31, 22, 0, tzinfo=UTC)
# A later row's instant is never below what was already there, and is often equal to it.
steps = st.sampled_from(
    [timedelta(0), timedelta(microseconds=1), timedelta(milliseconds=1), timedelta(minutes=90)]
)


@st.composite
def arrivals(draw: st.DrawFn) -> list[list[str]]:
    """Batches of text timestamps, in commit order; a run happens after each batch."""
    instant = START
    batches: list[list[str]] = []
    for _ in range(draw(st.integers(1, 4))):
        batch: list[str] = []
        for _ in range(draw(st.integers(0, 4))):
            instant += draw(steps)
            batch.append(draw(texts_of(instant)))
        batches.append(batch)
    return batches


# -- sources that grow between runs ------------------------------------------------------------


@dataclass
class Growing:
    """A real source table or file that new rows are appended to between runs."""

    source: Source
    append: Callable[[list[tuple[int, str]]], None]


def sqlite_events(folder: Path) -> Growing:
    db = folder / "events.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE events (id INTEGER, updated_at TEXT)")

    def append(rows: list[tuple[int, str]]) -> None:
        with sqlite3.connect(db) as conn:
            conn.executemany("INSERT INTO events VALUES (?, ?)", rows)

    return Growing(SqlSource(f"sqlite://{db}", table="events", incremental=SPEC), append)


def postgres_events(server: EmbeddedPostgres) -> Growing:
    name = f"text_wm_{next(_databases)}"
    uri = server.create_database(name)
    server.execute("CREATE TABLE events (id INTEGER, updated_at TEXT)", database=name)

    def append(rows: list[tuple[int, str]]) -> None:
        if rows:
            values = ", ".join(f"({i}, '{text}')" for i, text in rows)
            server.execute(f"INSERT INTO events VALUES {values}", database=name)

    return Growing(SqlSource(uri, table="events", incremental=SPEC), append)


def file_events(folder: Path, fmt: str) -> Growing:
    """A folder of files (CSV or parquet with string timestamps), one new file per batch."""
    batches = itertools.count()
    data = folder / "events"
    data.mkdir()

    def append(rows: list[tuple[int, str]]) -> None:
        frame = pl.DataFrame(rows, schema={"id": pl.Int64, "updated_at": pl.String}, orient="row")
        path = data / f"part-{next(batches):03d}.{fmt}"
        frame.write_csv(path) if fmt == "csv" else frame.write_parquet(path)

    # The first run must see the files' schema: start with an empty one.
    append([])
    return Growing(FileSource(str(data / f"*.{fmt}"), incremental=SPEC), append)


def ids_published(lake: Lake) -> list[int]:
    frame = published(lake, "validated_data/events")
    # A CSV folder that starts with a header-only file reads its ids as text.
    return sorted(frame["id"].cast(pl.Int64).to_list()) if frame.height else []


# -- the model check ---------------------------------------------------------------------------


def _check_every_row_once(growing: Growing, lake: Lake, batches: list[list[str]]) -> None:
    next_id = 0
    for batch in batches:
        rows = [(next_id + n, text) for n, text in enumerate(batch)]
        next_id += len(rows)
        growing.append(rows)
        outcome = run(Pipeline("events", growing.source, keep_raw=False, retry=FAST), lake)
        assert outcome.value_or(None) is not None, outcome.failure().dumps()
    assert ids_published(lake) == list(range(next_id)), batches


@settings(max_examples=25)
@given(batches=arrivals(), kind=st.sampled_from(["sqlite", "csv", "parquet"]))
def test_every_row_with_a_text_timestamp_is_published_exactly_once(
    batches: list[list[str]], kind: str
) -> None:
    """Across runs, rows whose text timestamps mix offsets, separators and fractions (and tie
    with the watermark in another form) are each published exactly once (SQLite, CSV, parquet)."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        growing = sqlite_events(root) if kind == "sqlite" else file_events(root, kind)
        _check_every_row_once(growing, new_lake(root / "lake"), batches)


@settings(max_examples=6)
@given(batches=arrivals())
def test_every_row_with_a_postgres_text_timestamp_is_published_exactly_once(
    postgres: EmbeddedPostgres, batches: list[list[str]]
) -> None:
    """The same model check on a PostgreSQL TEXT column (bound pushed down as an instant)."""
    with tempfile.TemporaryDirectory() as folder:
        _check_every_row_once(postgres_events(postgres), new_lake(Path(folder)), batches)


def test_rows_written_with_another_offset_or_separator_are_published(tmp_path: Path) -> None:
    """The reported case: after a row at +02:00, later rows written with Z or a space are kept."""
    growing = sqlite_events(tmp_path)
    lake = new_lake(tmp_path / "lake")
    pipeline = Pipeline("events", growing.source, keep_raw=False, retry=FAST)
    growing.append([(1, "2024-01-01T10:00:00+02:00")])
    assert run(pipeline, lake).value_or(None) is not None
    growing.append([(2, "2024-01-01T09:00:00Z"), (3, "2024-01-01 11:00:00")])
    assert run(pipeline, lake).value_or(None) is not None
    assert ids_published(lake) == [1, 2, 3]


def test_text_that_is_not_a_timestamp_fails_the_run_naming_the_column(tmp_path: Path) -> None:
    """A row whose text has no place in the order fails the run (first run or later), never
    vanishes; the message names the column and the value."""
    growing = sqlite_events(tmp_path)
    lake = new_lake(tmp_path / "lake")
    pipeline = Pipeline("events", growing.source, keep_raw=False, retry=FAST)
    growing.append([(1, "2024-01-01T10:00:00Z")])
    assert run(pipeline, lake).value_or(None) is not None
    growing.append([(2, "01/02/2024 10:00"), (3, "2024-01-02T00:00:00Z"), (4, "12345")])
    failure = run(pipeline, lake).failure()
    assert failure.failed_step == "extract"
    assert "'updated_at'" in failure.error.message
    assert "'01/02/2024 10:00'" in failure.error.message and "'12345'" in failure.error.message
    assert ids_published(lake) == [1]
