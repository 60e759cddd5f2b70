"""An incremental column whose type changes between runs fails the run cleanly, on the record.

The second run must not raise, must not compare values of different types, and must not
publish: it fails at extract with a message naming the column and both types, main keeps the
first run's rows, and the failed run is in the run history (real SQLite, PostgreSQL, CLI).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from lakeflow.adapters.sql_source import SqlSource
from lakeflow.core.incremental import IncrementalSpec
from lakeflow.core.records import FailureRecord
from lakeflow.ports import Lake, Source
from lakeflow.run import Pipeline, RetryPolicy, run, runs
from lakeflow.testing.postgres import EmbeddedPostgres
from tests.e2e.lakes import new_lake, published
from tests.e2e.test_cli import lakeflow, write_config

SPEC = IncrementalSpec("updated_at", ("id",))
FAST = RetryPolicy(max_retries=0, timeout_seconds=30)

NAIVE = "Datetime(time_unit='us', time_zone=None)"
# SQLite declared type, a value of it, and the Polars type connectorx reads it as.
SQLITE_TYPES = {
    "TEXT": ("'2024-01-01T10:00:00+02:00'", "String"),
    "DATETIME": ("'2024-01-01 10:00:00'", NAIVE),
    "INTEGER": ("5", "Int64"),
    "DATE": ("'2024-01-01'", "Date"),
}
CHANGES = [
    ("TEXT", "DATETIME"),
    ("DATETIME", "TEXT"),
    ("INTEGER", "TEXT"),
    ("TEXT", "INTEGER"),
    ("INTEGER", "DATETIME"),
    ("DATETIME", "INTEGER"),
    ("DATE", "DATETIME"),
]


def _sqlite_table(db: Path, ddl_type: str, row_id: int) -> None:
    """(Re)create `events` with `updated_at` of ``ddl_type`` holding one row."""
    value, _ = SQLITE_TYPES[ddl_type]
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE IF EXISTS events")
        conn.execute(f"CREATE TABLE events (id INTEGER, updated_at {ddl_type})")
        conn.execute(f"INSERT INTO events VALUES ({row_id}, {value})")
    conn.close()


def _second_run_fails(source: Source, lake: Lake, change: object) -> FailureRecord:
    pipeline = Pipeline("events", source, keep_raw=False, retry=FAST)
    outcome = run(pipeline, lake)
    assert outcome.value_or(None) is not None, outcome.failure().dumps()
    change()  # type: ignore[operator]
    second = run(pipeline, lake)
    failure: FailureRecord = second.failure()
    assert failure.failed_step == "extract"
    assert failure.error.kind in ("watermark", "extract")
    assert "'updated_at'" in failure.error.message
    assert published(lake, "validated_data/events")["id"].to_list() == [1]
    history = {r.run_id: r for r in runs(lake, "events")}
    assert history[failure.run_id].status == "failed"
    return failure


@pytest.mark.parametrize(("before", "after"), CHANGES, ids=[f"{a}->{b}" for a, b in CHANGES])
def test_a_changed_sqlite_column_type_fails_naming_the_column_and_both_types(
    tmp_path: Path, before: str, after: str
) -> None:
    """SQLite: a watermark column recreated with another type fails the next run at extract,
    naming the column and both types; it is recorded and main keeps the first run's rows."""
    db = tmp_path / "events.db"
    _sqlite_table(db, before, 1)
    source = SqlSource(f"sqlite://{db}", table="events", incremental=SPEC)
    failure = _second_run_fails(
        source, new_lake(tmp_path / "lake"), lambda: _sqlite_table(db, after, 2)
    )
    message = failure.error.message
    assert SQLITE_TYPES[before][1] in message and SQLITE_TYPES[after][1] in message, message


PG_CHANGES = [
    ("TEXT", "'2024-01-01T10:00:00Z'", "TIMESTAMPTZ"),
    ("INTEGER", "5", "TEXT"),
    ("TIMESTAMPTZ", "'2024-01-01T10:00:00Z'", "INTEGER"),
]


@pytest.mark.parametrize("change", PG_CHANGES, ids=[f"{a}->{b}" for a, _, b in PG_CHANGES])
def test_a_changed_postgres_column_type_fails_naming_the_column_and_both_types(
    tmp_path: Path, postgres: EmbeddedPostgres, pg_uri: str, change: tuple[str, str, str]
) -> None:
    """PostgreSQL: whether the database refuses the pushed-down bound or lakeflow sees the new
    type, the run fails at extract naming the column and both types, and is recorded."""
    before, value, after = change
    database = pg_uri.rsplit("/", 1)[1]
    postgres.execute(
        f"CREATE TABLE events (id INTEGER, updated_at {before})",
        f"INSERT INTO events VALUES (1, {value})",
        database=database,
    )

    def recreate() -> None:
        postgres.execute(
            "DROP TABLE events",
            f"CREATE TABLE events (id INTEGER, updated_at {after})",
            database=database,
        )

    source = SqlSource(pg_uri, table="events", incremental=SPEC)
    failure = _second_run_fails(source, new_lake(tmp_path / "lake"), recreate)
    kinds = {"TEXT": "String", "INTEGER": "Int32", "TIMESTAMPTZ": "time_zone='UTC'"}
    assert kinds[before] in failure.error.message and kinds[after] in failure.error.message


def test_the_cli_reports_a_changed_column_type_and_lists_the_failed_run(tmp_path: Path) -> None:
    """`lakeflow run` exits 1 naming the column and both types; `lakeflow runs` lists the run."""
    db = tmp_path / "events.db"
    _sqlite_table(db, "TEXT", 1)
    config = write_config(
        tmp_path,
        {
            "pipeline": "events",
            "lake": {"url": "local://lake", "repository": "etl-pipeline"},
            "source": {
                "sql": {
                    "uri": "sqlite://events.db",
                    "table": "events",
                    "incremental": {"column": "updated_at", "key": ["id"]},
                }
            },
            "load": {"path": "validated_data/events"},
        },
    )
    path = str(config)
    assert lakeflow("init", path).returncode == 0
    assert lakeflow("run", path).returncode == 0
    _sqlite_table(db, "DATETIME", 2)
    second = lakeflow("run", path)
    assert second.returncode == 1, second.stderr
    shown = second.stdout + second.stderr
    assert "Traceback" not in shown
    assert "'updated_at'" in shown and "String" in shown and NAIVE in shown
    listed = json.loads(lakeflow("runs", path, "--json").stdout)
    failed = [r for r in listed if r["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["failed_step"] == "extract"
    assert "'updated_at'" in failed[0]["error"]["message"]
