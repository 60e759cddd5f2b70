"""kill -9 anywhere in a run that merges into a Delta table never half-publishes it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl

from lakeflow.adapters.local import LocalLake
from lakeflow.lakes import LakeHandle
from lakeflow.run import run
from tests.e2e.lakes import head, new_lake
from tests.e2e.run_child import users_pipeline

ROOT = Path(__file__).resolve().parents[2]
CRASH_POINTS = 10
TABLE = "validated_data/users"


def _child(lake: LocalLake, source: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    child = ["-m", "tests.e2e.run_child", str(lake.root), lake.repository, str(source), "--merge"]
    command = [sys.executable, *child, *extra]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def _table(lake: LocalLake) -> dict[int, int]:
    rows = LakeHandle(lake).scan(TABLE).collect()
    return dict(zip(rows["id"].to_list(), rows["age"].to_list(), strict=True))


def _prepare(tmp: Path) -> tuple[LocalLake, Path, dict[int, int], dict[int, int]]:
    """A table where a first run merged ids 1-20; the source now updates 1-10 and adds 21-30."""
    lake = new_lake(tmp / "lake", durable=True)
    source = tmp / "users.parquet"
    first = pl.DataFrame({"id": list(range(1, 21)), "age": [30] * 20, "ts": [1] * 20})
    first.write_parquet(source)
    assert run(users_pipeline(source, merge=True), lake).unwrap().rows.valid == 20
    changes = pl.DataFrame(
        {"id": [*range(1, 11), *range(21, 31)], "age": [40] * 20, "ts": [2] * 20}
    )
    pl.concat([first, changes]).write_parquet(source)
    before = dict.fromkeys(range(1, 21), 30)
    after = before | dict.fromkeys([*range(1, 11), *range(21, 31)], 40)
    return lake, source, before, after


def test_kill_9_during_a_merge_run_never_half_publishes(tmp_path: Path) -> None:
    """At every kill point main's table is the old one or the whole merge, fsck finds nothing
    damaged, and the next run converges to the merged table."""
    lake, source, _, _ = _prepare(tmp_path / "count")
    counted = _child(lake, source, "--count")
    assert counted.returncode == 0, counted.stderr
    total = int(counted.stdout.strip().splitlines()[-1])
    last = total * 97 // 100
    points = sorted({1 + (last - 1) * k // (CRASH_POINTS - 1) for k in range(CRASH_POINTS)})
    outcomes: set[str] = set()
    for point in points:
        lake, source, before, after = _prepare(tmp_path / f"kill-{point}")
        start = head(lake)
        killed = _child(lake, source, "--kill-at", str(point))
        assert killed.returncode == -9, (point, killed.stdout, killed.stderr)
        reopened = LocalLake(lake.root, lake.repository)
        if head(reopened) == start:
            assert _table(reopened) == before, f"kill at {point}: main changed without a merge"
            outcomes.add("before")
        else:
            assert _table(reopened) == after, f"kill at {point}: a partial merge is visible"
            outcomes.add("after")
        report = reopened.fsck(deep=True)
        assert report.map(lambda r: r.ok).value_or(False), f"kill at {point}: fsck failed"
        assert run(users_pipeline(source, merge=True), reopened).unwrap().status == "published"
        assert _table(reopened) == after, f"kill at {point}: the next run did not converge"
    assert outcomes == {"before", "after"}, "kill points must fall before and after the merge"
