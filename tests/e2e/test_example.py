"""The users example (README command 1) runs end to end on the embedded defaults."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from examples.users.__main__ import main
from lakeflow.lakes import open_lake
from lakeflow.run import runs


def test_the_users_example_runs_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Init, an initial run, new rows with a late tie, an incremental run: all published."""
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

    published = lake.scan("validated_data/users").collect()
    assert published.height == first.rows.valid + second.rows.valid
    assert published["email"].str.contains(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$").all()
    with sqlite3.connect(work / "warehouse.db") as db:
        (warehouse,) = db.execute("SELECT count(*) FROM processed_users").fetchone()
    assert warehouse == published["id"].n_unique(), "the upsert keeps one row per user"
