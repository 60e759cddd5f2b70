"""Damaged LocalLake metadata is damage, never "no lake": refused clearly, never built over."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from returns.io import IOResult

from lakeflow.adapters.local import LocalLake
from lakeflow.core.errors import LakeError, LakeflowError
from lakeflow.lakes import open_lake
from lakeflow.run import runs
from lakeflow.testing.lake_contract import expect_failure, expect_success

Damage = Callable[[Path], None]


def _emptied(root: Path) -> None:
    (root / "lake.sqlite3").write_bytes(b"")


def _deleted(root: Path) -> None:
    for name in ("lake.sqlite3", "lake.sqlite3-wal", "lake.sqlite3-shm"):
        (root / name).unlink(missing_ok=True)


def _garbage(root: Path) -> None:
    (root / "lake.sqlite3").write_bytes(b"not a database at all " * 300)


def _schema_dropped(root: Path) -> None:
    db = sqlite3.connect(root / "lake.sqlite3")
    db.executescript("DROP TABLE meta; DROP TABLE repositories; DROP TABLE branches;")
    db.close()


def _data_lake(root: Path) -> LocalLake:
    lake = LocalLake(root, "repo")
    expect_success(lake.create_repository())
    expect_success(lake.put_bytes("data/part-1.parquet", b"published rows", branch="main"))
    expect_success(lake.commit("main", "data"))
    lake.close()
    return lake


def _reads(lake: LocalLake) -> list[IOResult[object, LakeError]]:
    return [
        lake.get_repository(),
        lake.list_branches(),
        lake.resolve("main"),
        lake.list_objects(ref="main"),
        lake.get_bytes("data/part-1.parquet", ref="main"),
        lake.log_commits("main"),
    ]


@pytest.mark.parametrize("damage", [_emptied, _deleted, _garbage, _schema_dropped])
def test_damaged_metadata_next_to_objects_is_corrupt_and_never_rebuilt(
    tmp_path: Path, damage: Damage
) -> None:
    """Reads and create are corrupt, name the file, never suggest init; nothing is rebuilt."""
    root = tmp_path / "lake"
    _data_lake(root)
    damage(root)
    before = sorted(p.name for p in (root / "objects").rglob("*"))
    lake = LocalLake(root, "repo")
    for result in _reads(lake):
        error = expect_failure(result, "corrupt", retryable=False)
        assert "lake.sqlite3" in error.reason
        assert "init" not in error.reason and "create_repository" not in error.reason
    error = expect_failure(lake.create_repository(exist_ok=True), "corrupt")
    assert "no new lake will be created" in error.reason
    assert sorted(p.name for p in (root / "objects").rglob("*")) == before
    db = root / "lake.sqlite3"
    assert not db.exists() or db.stat().st_size == 0 or damage is not _emptied
    with pytest.raises(LakeflowError, match="damaged"):
        runs(lake)


def test_a_create_that_never_finished_is_not_damage(tmp_path: Path) -> None:
    """An empty metadata file with no blob store yet (a killed create) lets create proceed."""
    root = tmp_path / "lake"
    root.mkdir()
    (root / "lake.sqlite3").write_bytes(b"")
    lake = LocalLake(root, "repo")
    error = expect_failure(lake.get_repository(), "not_found")
    assert "no lake" in error.reason
    expect_success(lake.create_repository())
    assert expect_success(lake.list_branches())[0].name == "main"


@pytest.mark.parametrize(
    ("table", "column"), [("commits", "message"), ("ranges", "data"), ("trees", "data")]
)
def test_a_tampered_commit_tree_or_range_is_corrupt(
    tmp_path: Path, table: str, column: str
) -> None:
    """Stored commits, trees and ranges are checked against their ids when read."""
    root = tmp_path / "lake"
    _data_lake(root)
    db = sqlite3.connect(root / "lake.sqlite3", isolation_level=None)
    if column == "message":
        db.execute("UPDATE commits SET message = 'rewritten history' WHERE message = 'data'")
    else:
        swapped = f"CAST(REPLACE(CAST({column} AS TEXT), 'data', 'dada') AS BLOB)"
        db.execute(f"UPDATE {table} SET {column} = {swapped}")
    db.close()
    lake = LocalLake(root, "repo")
    read = lake.log_commits("main") if column == "message" else lake.list_objects(ref="main")
    error = expect_failure(read, "corrupt")
    assert "does not match its id" in error.reason
    report = expect_success(lake.fsck())
    assert not report.ok and any("does not match its id" in p for p in report.problems)


def test_a_folder_without_a_lake_says_so_and_how_to_create_one(tmp_path: Path) -> None:
    """open_lake on a mistyped path: get_repository says there is no lake and names init."""
    (tmp_path / "typo").mkdir()
    for url in (f"local://{tmp_path}/typo", f"local://{tmp_path}/missing"):
        lake = open_lake(url, repository="etl-pipeline")
        error = expect_failure(lake.lake.get_repository(), "not_found")
        assert "no lake at" in error.reason and "lakeflow init" in error.reason
        with pytest.raises(LakeflowError, match="no lake at"):
            runs(lake)
    assert list((tmp_path / "typo").iterdir()) == []
    assert not (tmp_path / "missing").exists()


def test_a_lake_without_the_repository_is_not_found_not_empty(tmp_path: Path) -> None:
    """A lake folder holding other repositories: the history of a missing one is an error."""
    _data_lake(tmp_path / "lake")
    other = open_lake(f"local://{tmp_path}/lake", repository="other-repo")
    error = expect_failure(other.lake.get_repository(), "not_found")
    assert "repository 'other-repo' does not exist" in error.reason
    with pytest.raises(LakeflowError, match="other-repo"):
        runs(other)
