"""The table commands from the command line: backfill, reset, quarantine, optimize, show."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def lakeflow(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess, as a user would."""
    command = [sys.executable, "-m", "lakeflow", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def _config(folder: Path, load: str) -> Path:
    config = folder / f"pipeline-{abs(hash(load)) % 10_000}.yaml"
    config.write_text(
        "pipeline: users\n"
        "lake: {url: local://lake, repository: etl-pipeline}\n"
        "source: {sql: {uri: sqlite://users.db, table: users,"
        " incremental: {column: updated_at, key: [id]}}}\n"
        "validate:\n"
        "  rules: [{name: adult, condition: 'age >= 18'}]\n"
        "  max_invalid_fraction: 0.5\n"
        f"load: {load}\n"
    )
    return config


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite source, a merge config, an initialised lake and one published run."""
    folder = tmp_path_factory.mktemp("cli-tables")
    with sqlite3.connect(folder / "users.db") as db:
        db.execute("CREATE TABLE users (id INTEGER, age INTEGER, updated_at INTEGER)")
        rows = [(1, 30, 1), (2, 12, 1), (3, 40, 2), (4, 50, 3)]
        db.executemany("INSERT INTO users VALUES (?, ?, ?)", rows)
    config = _config(folder, "{path: validated_data/users, mode: merge, keys: [id]}")
    assert lakeflow("init", str(config)).returncode == 0
    done = lakeflow("run", str(config), "--json")
    assert done.returncode == 0, done.stderr
    return config


def test_quarantine_prints_rules_with_counts_and_rows(project: Path) -> None:
    """The newest run's quarantined rows: each rule with its count, then the rows."""
    done = lakeflow("quarantine", str(project))
    assert done.returncode == 0, done.stderr
    assert "1 quarantined row(s)" in done.stdout
    assert any(line.split() == ["1", "adult"] for line in done.stdout.splitlines())
    listed = json.loads(lakeflow("quarantine", str(project), "--json", "--limit", "5").stdout)
    assert listed["rules"] == [{"rule": "adult", "rows": 1}]
    assert [row["id"] for row in listed["sample"]] == [2]
    missing = lakeflow("quarantine", str(project), "no-such-run")
    assert missing.returncode == 2 and "no run 'no-such-run'" in missing.stderr


def test_show_prints_the_published_schema(project: Path) -> None:
    """`lakeflow show` of a run prints the table it published and its schema."""
    run_id = json.loads(lakeflow("runs", str(project), "--json").stdout)[-1]["run_id"]
    shown = lakeflow("show", str(project), run_id)
    assert shown.returncode == 0, shown.stderr
    assert "published delta dataset validated_data/users version 0" in shown.stdout
    assert any(line.split() == ["age", "Int64"] for line in shown.stdout.splitlines())


def test_backfill_and_reset_from_the_command_line(project: Path) -> None:
    """backfill re-publishes a window (exit 0); reset sets the watermark (exit 0); bad values
    and append datasets are usage errors (exit 2) before any work."""
    done = lakeflow("backfill", str(project), "--from", "1", "--to", "2", "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["source"]["backfill"] == {"column": "updated_at", "from": 1, "to": 2}
    assert record["rows"]["valid"] == 2
    bad = lakeflow("backfill", str(project), "--from", "x", "--to", "2")
    assert bad.returncode == 2 and "not a number" in bad.stderr
    append = _config(project.parent, "{path: validated_data/other}")
    refused = lakeflow("backfill", str(append), "--from", "1", "--to", "2")
    assert refused.returncode == 2 and "publish them twice" in refused.stderr
    reset = lakeflow("reset", str(project), "--to", "2", "--json")
    assert reset.returncode == 0, reset.stderr
    assert json.loads(reset.stdout)["watermark"]["to"] == {"type": "int", "value": 2}
    assert lakeflow("reset", str(project), "--to", "later").returncode == 2


def test_optimize_from_the_command_line(project: Path) -> None:
    """optimize compacts the Delta table (exit 0); a parquet dataset is a usage error."""
    done = lakeflow("optimize", str(project), "--retention-hours", "0", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["table"]["live_files"] >= 1
    parquet = _config(project.parent, "{path: validated_data/plain}")
    refused = lakeflow("optimize", str(parquet))
    assert refused.returncode == 2 and "Delta tables" in refused.stderr
