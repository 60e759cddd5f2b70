"""Engine and driver failures reported as what they are, where a user meets them.

A full disk under the run's scratch files is a failed lake *write* that says the disk is full
and where (not a failed transform stage); a value the SQL driver cannot convert names the
column. Real devices and file systems: ``/dev/full``, and a tiny tmpfs mounted in a private
mount namespace (``unshare``) under a real lake, with the CLI run as a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from lakeflow.core.errors import LakeError
from lakeflow.execute import collect_together
from tests.e2e.test_cli import ROOT, lakeflow, write_config


def test_a_full_device_under_a_sink_is_a_write_failure_naming_the_folder() -> None:
    """Writing a plan's parquet sink to a device with no space left (/dev/full) returns a lake
    write failure that says the disk is full and where, not a failed stage."""
    frame = pl.LazyFrame({"text": ["x" * 1000] * 5000})
    failure = collect_together([frame.select(pl.len())], [(frame, Path("/dev/full"))]).failure()
    assert isinstance(failure, LakeError)
    assert failure.op == "write" and not failure.retryable
    assert "disk is full" in failure.message and "/dev" in failure.message


def _events(folder: Path, rows: int) -> None:
    with sqlite3.connect(folder / "events.db") as conn:
        conn.execute("CREATE TABLE events (id INTEGER, body TEXT, stamp DATETIME)")
        conn.executemany(
            "INSERT INTO events VALUES (?, ?, ?)",
            [(i, os.urandom(600).hex(), "2024-01-01 10:00:00") for i in range(rows)],
        )
    conn.close()


def _config(folder: Path) -> Path:
    return write_config(
        folder,
        {
            "pipeline": "events",
            "lake": {"url": "local://lake", "repository": "etl-pipeline"},
            "source": {"sql": {"uri": "sqlite://events.db", "table": "events"}},
            "load": {"path": "validated_data/events"},
        },
    )


def _can_mount_tmpfs(folder: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = folder / "probe"
    probe.mkdir()
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs '{probe}'"],
        capture_output=True,
        check=False,
    )
    probe.rmdir()
    return done.returncode == 0


def test_a_full_scratch_disk_fails_the_run_at_write_saying_so(tmp_path: Path) -> None:
    """`lakeflow run` with the lake's scratch folder on a full file system exits 1 at the write
    step, saying the disk is full and naming the folder; main is untouched."""
    if not _can_mount_tmpfs(tmp_path):
        pytest.skip("needs `unshare -rm` and tmpfs mounts (user namespaces) to fill a disk")
    _events(tmp_path, 2000)  # about 2.5 MB of incompressible text
    config = str(_config(tmp_path))
    assert lakeflow("init", config).returncode == 0
    scratch = tmp_path / "lake" / "tmp"
    scratch.mkdir(exist_ok=True)
    command = (
        f"mount -t tmpfs -o size=256k tmpfs '{scratch}' && "
        f"exec '{sys.executable}' -m lakeflow run '{config}' --json"
    )
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", command],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    record = json.loads(done.stdout)
    assert record["failed_step"] == "write", record["error"]
    assert record["error"]["kind"] == "lake"
    assert "disk is full" in record["error"]["message"]
    assert str(scratch) in record["error"]["message"]
    assert "Traceback" not in done.stderr
    listed = json.loads(lakeflow("runs", config, "--json").stdout)
    assert all(r["status"] != "published" for r in listed)


def test_the_cli_names_a_column_the_driver_cannot_convert(tmp_path: Path) -> None:
    """`lakeflow run` on a SQLite DATETIME column holding a time with a zone exits 1 naming
    the column and how to read it, instead of a column number."""
    _events(tmp_path, 3)
    with sqlite3.connect(tmp_path / "events.db") as conn:
        conn.execute("UPDATE events SET stamp = '2024-01-01T10:00:00+02:00' WHERE id = 1")
    conn.close()
    config = str(_config(tmp_path))
    assert lakeflow("init", config).returncode == 0
    done = lakeflow("run", config)
    assert done.returncode == 1
    shown = done.stdout + done.stderr
    assert "column 'stamp'" in shown and 'CAST("stamp" AS TEXT)' in shown, shown
