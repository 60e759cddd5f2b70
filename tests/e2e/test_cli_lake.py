"""The command line on damaged, missing and healthy lakes: `fsck`; damage is never "no lake"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.adapters.local import LocalLake
from lakeflow.cli import main as cli_main
from tests.e2e.test_cli import base_config, lakeflow, sqlite_source, write_config


@pytest.fixture
def published(tmp_path: Path) -> Path:
    """A project (config + SQLite source) whose lake holds one published run."""
    sqlite_source(tmp_path)
    write_config(tmp_path, base_config())
    for command in ("init", "run"):
        with pytest.raises(SystemExit) as done:
            cli_main([command, str(tmp_path / "pipeline.yaml")])
        assert done.value.code in (0, None)
    return tmp_path


def _blob(project: Path, path: str) -> Path:
    lake = LocalLake(project / "lake", "etl-pipeline")
    found: Path = unwrap_io(lake.blob_path(path, ref="main")).unwrap()
    return found


def test_fsck_of_a_healthy_lake_exits_0(published: Path) -> None:
    """`fsck --deep --json` on an untouched lake reports no problem and exits 0."""
    done = lakeflow("fsck", str(published / "pipeline.yaml"), "--deep", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True and report["problems"] == []
    assert report["objects"] >= 4 and report["blobs_hashed"] == report["objects"]


def test_fsck_names_each_damaged_object_and_exits_1(published: Path) -> None:
    """A flipped byte is found by --deep, a missing blob by plain fsck; each names its path."""
    config = str(published / "pipeline.yaml")
    flipped = _blob(published, "_lakeflow/checkpoints/users.json")
    data = bytearray(flipped.read_bytes())
    data[5] ^= 0x01
    flipped.chmod(0o644)
    flipped.write_bytes(bytes(data))
    shallow = lakeflow("fsck", config)
    assert shallow.returncode == 0, shallow.stdout  # same size: only hashing finds it
    deep = lakeflow("fsck", config, "--deep")
    assert deep.returncode == 1
    assert "DAMAGED object '_lakeflow/checkpoints/users.json'" in deep.stdout
    assert "does not match its hash" in deep.stdout
    _blob(published, "_lakeflow/README.md").unlink()
    missing = lakeflow("fsck", config, "--json")
    assert missing.returncode == 1
    (problem,) = json.loads(missing.stdout)["problems"]
    assert "'_lakeflow/README.md'" in problem and "missing" in problem


def test_emptied_metadata_is_damage_for_every_command(published: Path) -> None:
    """A 0-byte lake.sqlite3: runs, init and fsck exit 1 saying it is damaged, never 'init'."""
    config = str(published / "pipeline.yaml")
    (published / "lake" / "lake.sqlite3").write_bytes(b"")
    for command in ("runs", "init", "fsck"):
        done = lakeflow(command, config)
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        assert "damaged" in done.stderr and "lake.sqlite3" in done.stderr, command
        assert "lakeflow init" not in done.stderr + done.stdout, command
    assert (published / "lake" / "lake.sqlite3").stat().st_size == 0


def test_runs_on_a_mistyped_lake_path_says_there_is_no_lake(tmp_path: Path) -> None:
    """`runs` on a lake URL where no lake exists fails (exit 1) and says how to create one."""
    sqlite_source(tmp_path)
    write_config(tmp_path, base_config())
    done = lakeflow("runs", str(tmp_path / "pipeline.yaml"))
    assert done.returncode == 1
    assert "no lake at" in done.stderr and "lakeflow init" in done.stderr
    assert not (tmp_path / "lake").exists()
