"""The users example (README command 1) runs end to end on the embedded defaults."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from examples.users.__main__ import main
from lakeflow.lakes import open_lake
from lakeflow.run import runs


def test_the_users_example_runs_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Init, an initial run, new rows, updates and a late tie, an incremental run: main's
    merged table holds one row per user, equal to the warehouse table the example upserts."""
    work = tmp_path / "work"
    assert main(work) == 0
    printed = capsys.readouterr().out
    assert printed.count("published run ") == 2

    lake = open_lake(f"local://{work / 'lake'}", repository="etl-pipeline")
    first, second = sorted(runs(lake, "users"), key=lambda r: r.started_at)
    assert first.status == second.status == "published"
    with sqlite3.connect(work / "users.db") as db:
        (total,) = db.execute("SELECT count(*) FROM users").fetchone()
    # Every source row was read exactly once across the two runs: the late row tied with the
    # first run's watermark included.
    assert first.rows.extracted + second.rows.extracted == total
    assert second.rows.quarantined > 0, "the generated mess reaches the quarantine"

    published = lake.scan("validated_data/users").collect().sort("id")
    assert published["email"].str.contains(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$").all()
    assert published["id"].is_unique().all(), "the merge keeps one row per user"
    assert second.table is not None and second.table["format"] == "delta"
    metrics = second.table["metrics"]
    assert isinstance(metrics, dict) and metrics["num_target_rows_updated"] > 0
    assert published.height < first.rows.valid + second.rows.valid, "updates replaced rows"
    with sqlite3.connect(work / "warehouse.db") as db:
        warehouse = pl.read_database("SELECT * FROM processed_users", db)
    warehouse = warehouse.with_columns(
        pl.col("created_at", "updated_at").str.to_datetime(time_unit="us")
    ).sort("id")
    assert_frame_equal(published, warehouse, check_column_order=False)
