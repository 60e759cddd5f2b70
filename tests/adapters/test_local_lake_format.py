"""Lakes written by earlier lakeflow versions stay readable: format 1 as the first release wrote it.

``data/format1-lake`` was written by the single-module LocalLake of the first release (a commit,
a branch, a merge and a staged write in repository ``format-one``). Every later version must
read it, verify it, and keep working on it.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from lakeflow.adapters.local import FORMAT_VERSION, LocalLake
from lakeflow.ports import Change
from lakeflow.testing.lake_contract import expect_failure, expect_success

STORED = Path(__file__).parent / "data" / "format1-lake"


@pytest.fixture
def lake(tmp_path: Path) -> LocalLake:
    """A writable copy of the stored format-1 lake."""
    shutil.copytree(STORED, tmp_path / "lake")
    return LocalLake(tmp_path / "lake", "format-one")


def test_a_format_1_lake_reads_and_verifies(lake: LocalLake) -> None:
    """History, objects, frames and staged writes of a format-1 lake read back; fsck is clean."""
    assert FORMAT_VERSION == 1
    report = expect_success(lake.fsck(deep=True))
    assert report.ok and report.commits == 4 and report.blobs_hashed == report.objects == 4
    log = [c.message for c in expect_success(lake.log_commits("main"))]
    assert log == ["Merge 'dev' into 'main'", "dev notes", "publish users", "Repository created"]
    scanned = expect_success(lake.scan_frame("validated_data/users", ref="main")).collect()
    assert scanned["name"].to_list() == ["a", "b", "c"]
    assert expect_success(lake.get_bytes("notes/ü.txt", ref="main")).decode() == "grüße"
    assert expect_success(lake.uncommitted("main")) == (Change("staged.txt", "added"),)
    info = expect_success(lake.stat("_lakeflow/checkpoints/users.json", ref="main~1"))
    assert dict(info.metadata) == {"m": "1"} and info.content_type == "application/json"


def test_a_format_1_lake_keeps_working(lake: LocalLake) -> None:
    """New commits, a revert and a new branch work on an old lake, and it stays format 1."""
    expect_success(lake.commit("main", "commit the staged write"))
    merge = expect_success(lake.log_commits("main~1", limit=1))[0]
    expect_success(lake.revert("main", merge.id))
    expect_failure(lake.get_bytes("notes/ü.txt", ref="main"), "not_found")
    expect_success(lake.create_branch("new", "main"))
    assert expect_success(lake.fsck(deep=True)).ok
    lake.close()
    db = sqlite3.connect(lake.root / "lake.sqlite3")
    assert db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone() == ("1",)
    db.close()
