"""A lake on a read-only filesystem, or in a folder this user may not write, can still be read.

Real mechanisms, since root ignores file modes: a read-only bind mount inside a private mount
namespace (``unshare``), and a child process that drops to ``nobody`` (after its imports)
before touching a lake it has no write permission on. Each child reads everything (objects,
frames, log, diff, fsck, the run history) and tries every kind of write.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from lakeflow.adapters.local import LocalLake
from lakeflow.run import Pipeline, run
from lakeflow.testing.lake_contract import expect_success

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = ["unshare", "--user", "--map-root-user", "--mount", "true"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


@pytest.fixture
def world_readable() -> Iterator[Path]:
    """A fresh folder every user can traverse (pytest's tmp_path is private to its owner)."""
    folder = Path(tempfile.mkdtemp(prefix="lakeflow-readonly-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in [folder, *folder.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(folder)


def _lake_with_a_run(root: Path) -> LocalLake:
    lake = LocalLake(root, "repo")
    expect_success(lake.create_repository())
    users = pl.DataFrame({"id": [1, 2, 3], "email": ["a@x", "b@x", "c@x"]})
    assert run(Pipeline("users", users), lake).unwrap().status == "published"
    expect_success(lake.put_bytes("notes/readme.txt", b"hello", branch="main"))
    expect_success(lake.commit("main", "notes"))
    return lake


def _child(command: list[str]) -> dict[str, dict[str, object]]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    assert done.returncode == 0, done.stderr
    report: dict[str, dict[str, object]] = json.loads(done.stdout)
    return report


def _check(report: dict[str, dict[str, object]], lake: LocalLake, head: str) -> None:
    reads, writes = report["reads"], report["writes"]
    assert reads["repository"] == "repo" and reads["head"] == head
    assert reads["text"] == "hello" and reads["rows"] == 3
    assert reads["log"][0] == "notes"  # type: ignore[index]
    assert reads["fsck"] is True and reads["runs"] == ["published"]
    assert "notes/readme.txt" in reads["objects"]  # type: ignore[operator]
    for operation in ("put_bytes", "commit", "create_branch", "discard_changes", "gc"):
        assert writes[operation] == "read_only", (operation, writes)
    assert writes["create_repository_exist_ok"] == "ok"
    assert "read-only" in str(writes["message"])
    assert expect_success(lake.resolve("main")) == head
    assert not (lake.root / "objects" / "tmp").exists()
    assert list((lake.root / "tmp").glob("put-*")) == []


@pytest.mark.skipif(not _unshare_works(), reason="needs unshare (user + mount namespaces)")
@pytest.mark.parametrize("writer_open", [False, True])
def test_a_lake_on_a_read_only_filesystem_reads_and_refuses_writes(
    world_readable: Path, writer_open: bool
) -> None:
    """Through a read-only bind mount, every read works and every write is read_only."""
    lake = _lake_with_a_run(world_readable / "lake")
    head = expect_success(lake.resolve("main"))
    if not writer_open:
        lake.close()  # the last connection checkpoints: no write-ahead log left behind
    root = str(lake.root)
    script = (
        f'mount --bind "{root}" "{root}" && mount -o remount,bind,ro "{root}" "{root}" && '
        f'exec "{sys.executable}" -m tests.adapters.readonly_child "{root}" repo'
    )
    report = _child(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script])
    _check(report, lake, head)
    lake.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="drops privileges to nobody, which needs root")
@pytest.mark.parametrize("writer_open", [False, True])
def test_a_lake_this_user_may_not_write_reads_and_refuses_writes(
    world_readable: Path, writer_open: bool
) -> None:
    """As a user without write permission on the lake, reads work and writes are read_only."""
    lake = _lake_with_a_run(world_readable / "lake")
    head = expect_success(lake.resolve("main"))
    if not writer_open:
        lake.close()
    child = ["-m", "tests.adapters.readonly_child", str(lake.root), "repo"]
    report = _child([sys.executable, *child, "--as-user", str(NOBODY)])
    _check(report, lake, head)
    lake.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="drops privileges to nobody, which needs root")
def test_a_read_only_reader_sees_commits_made_after_it_opened(world_readable: Path) -> None:
    """A reader that opened a quiet lake read-only sees a commit its owner makes later."""
    lake = _lake_with_a_run(world_readable / "lake")
    lake.close()
    command = [sys.executable, "-m", "tests.adapters.readonly_child", str(lake.root), "repo"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with subprocess.Popen(
        [*command, "--as-user", str(NOBODY), "--follow"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdin is not None and child.stdout is not None
        assert child.stdout.readline().strip() == expect_success(lake.resolve("main"))
        expect_success(lake.put_bytes("later.txt", b"after the reader opened", branch="main"))
        newer = expect_success(lake.commit("main", "later")).id
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == newer
    assert child.returncode == 0
    lake.close()
