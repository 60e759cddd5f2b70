"""Crash and concurrency safety of run(): kill -9 anywhere, N processes at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from lakeflow.adapters.local import LocalLake
from lakeflow.run import run
from tests.e2e.lakes import head, new_lake, paths, published
from tests.e2e.run_child import users_pipeline

ROOT = Path(__file__).resolve().parents[2]
CRASH_POINTS = 24


def _source(path: Path, ids: range, ts: int) -> pl.DataFrame:
    frame = pl.DataFrame(
        {"id": list(ids), "age": [15 if i % 7 == 0 else 40 for i in ids], "ts": [ts] * len(ids)}
    )
    frame.write_parquet(path)
    return frame


def _command(lake: LocalLake, source: Path, *extra: str) -> list[str]:
    child = ["-m", "tests.e2e.run_child", str(lake.root), lake.repository, str(source)]
    return [sys.executable, *child, *extra]


def _child(lake: LocalLake, source: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = _command(lake, source, *extra)
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def _published_ids(lake: LocalLake) -> list[int]:
    rows = published(lake, "validated_data/users")
    return [] if rows.is_empty() else sorted(rows["id"].to_list())


def _valid_ids(frame: pl.DataFrame) -> list[int]:
    return sorted(frame.filter(pl.col("age") >= 18)["id"].to_list())


def _prepare(tmp: Path) -> tuple[LocalLake, Path, list[int], list[int]]:
    """A lake where a first run published batch 1; the source now also holds batch 2."""
    lake = new_lake(tmp / "lake", durable=True)
    source = tmp / "users.parquet"
    first = _source(source, range(1, 41), ts=1)
    assert run(users_pipeline(source), lake).unwrap().rows.valid == len(_valid_ids(first))
    second = pl.DataFrame({"id": list(range(41, 81)), "age": [40] * 40, "ts": [1] * 40})
    both = pl.concat([first, second], how="vertical_relaxed")
    both.write_parquet(source)
    return lake, source, _valid_ids(first), _valid_ids(both)


def test_kill_9_at_any_point_of_a_run_never_half_publishes(tmp_path: Path) -> None:
    """At >= 20 kill points the target shows the old state or the whole run; the next run
    then publishes the rest exactly once."""
    lake, source, _, _ = _prepare(tmp_path / "count")
    counted = _child(lake, source, "--count")
    assert counted.returncode == 0, counted.stderr
    total = int(counted.stdout.strip().splitlines()[-1])
    assert total > CRASH_POINTS * 4, "the run should offer many distinct kill points"
    # Event counts vary a little between runs (caches warm differently): stay inside the run.
    last = total * 97 // 100
    points = sorted({1 + (last - 1) * k // (CRASH_POINTS - 1) for k in range(CRASH_POINTS)})
    assert len(points) >= 20

    outcomes: set[str] = set()
    for point in points:
        lake, source, before_ids, all_ids = _prepare(tmp_path / f"kill-{point}")
        before = head(lake)
        killed = _child(lake, source, "--kill-at", str(point))
        assert killed.returncode == -9, (point, killed.stdout, killed.stderr)

        reopened = LocalLake(lake.root, lake.repository)
        state = _published_ids(reopened)
        if head(reopened) == before:
            assert state == before_ids, f"kill at {point}: target changed without a merge"
            outcomes.add("before")
        else:
            assert state == all_ids, f"kill at {point}: a partial run is visible"
            records = paths(reopened, "main", "_lakeflow/runs/users/")
            assert len(records) == 2, "both runs' records are on the target"
            outcomes.add("after")
        # Every object the target references exists and hashes right.
        report = reopened.fsck(deep=True)
        assert report.map(lambda r: r.ok).value_or(False), f"kill at {point}: fsck failed"

        again = run(users_pipeline(source), reopened)
        assert again.unwrap().status == "published"
        assert _published_ids(reopened) == all_ids, f"kill at {point}: rows lost or doubled"
    assert outcomes == {"before", "after"}, "kill points must fall before and after the merge"


@pytest.mark.parametrize("retry_on_conflict", [0, 4])
def test_concurrent_processes_publish_every_row_exactly_once(
    tmp_path: Path, retry_on_conflict: int
) -> None:
    """N processes run the same pipeline on main at once: no row duplicated, none lost."""
    lake, source, _, all_ids = _prepare(tmp_path)
    command = _command(lake, source, "--retry-on-conflict", str(retry_on_conflict))
    children = [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    results = [child.communicate() for child in children]
    assert all(child.returncode == 0 for child in children), results
    assert _published_ids(LocalLake(lake.root, lake.repository)) == all_ids
