"""LocalLake survives kill -9 at any instant: every branch at a valid commit, no partial object.

A child process runs a pipeline-like workload (writes, streamed and moved files, commits, a
merge, a branch deletion) and kills itself with SIGKILL at a deterministic point: the N-th
Python/C call, the N-th SQLite statement, the N-th rename or the N-th fsync, counted with
``sys.setprofile``. The parent then re-opens the lake and checks that it shows exactly the state
after some prefix of the workload, that every visible object's bytes hash to its checksum, and
that the lake keeps working (fsck, gc, a new commit).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import sqlite3
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any, Final, TypeAlias

import pytest

from lakeflow.adapters.local import LocalLake
from lakeflow.testing.lake_contract import LakeModel, expect_failure, expect_success

Op: TypeAlias = tuple[Any, ...]
State: TypeAlias = dict[str, tuple[frozenset[tuple[str, str]], frozenset[tuple[str, str]]]]

_BIG: Final = 3 * (1 << 20) + 12_345  # four read chunks: a kill can land mid-stream
OPS: Final[list[Op]] = [
    ("put", "main", "data/users/part-0.parquet", 0, 1_000),
    ("put", "main", "_lakeflow/checkpoints/users.json", 0, 40),
    ("commit", "main"),
    ("branch", "run-1", "main"),
    ("put_file", "run-1", "data/users/part-1.parquet", 1, _BIG),
    ("put_move", "run-1", "raw/users/1.parquet", 1, 200_000),
    ("put", "run-1", "_lakeflow/checkpoints/users.json", 1, 40),
    ("delete", "run-1", "data/users/part-0.parquet"),
    ("commit", "run-1"),
    ("merge", "run-1", "main"),
    ("delete_branch", "run-1"),
    ("put", "main", "_lakeflow/runs/users/1.json", 1, 300),
    ("commit", "main"),
]


def _content(path: str, version: int, size: int) -> bytes:
    seed = hashlib.sha256(f"{path}@{version}".encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _sources(folder: Path) -> dict[str, Path]:
    """The local files the workload uploads, written before the child starts."""
    folder.mkdir(parents=True, exist_ok=True)
    found = {}
    for op in OPS:
        if op[0] in {"put_file", "put_move"}:
            _, _, path, version, size = op
            source = folder / path.replace("/", "_")
            source.write_bytes(_content(path, version, size))
            found[path] = source
    return found


def _run(lake: LocalLake, sources: dict[str, Path]) -> None:
    """The workload: every operation must succeed when nothing kills it."""
    for op in OPS:
        kind = op[0]
        if kind == "put":
            expect_success(lake.put_bytes(op[2], _content(op[2], op[3], op[4]), branch=op[1]))
        elif kind in {"put_file", "put_move"}:
            expect_success(
                lake.put_file(op[2], sources[op[2]], branch=op[1], move=kind == "put_move")
            )
        elif kind == "delete":
            expect_success(lake.delete_object(op[2], branch=op[1]))
        elif kind == "commit":
            expect_success(lake.commit(op[1], f"commit {op[1]}", {"run_id": "1"}))
        elif kind == "branch":
            expect_success(lake.create_branch(op[1], op[2]))
        elif kind == "merge":
            expect_success(lake.merge(op[1], op[2]))
        else:
            expect_success(lake.delete_branch(op[1]))


def _expected_states() -> list[State]:
    """The lake's state after each prefix of the workload, from the lakeFS model."""
    heads: dict[str, dict[str, str]] = {"main": {}}
    staging: dict[str, dict[str, str | None]] = {"main": {}}
    bases: dict[str, dict[str, str]] = {}

    def view(branch: str) -> dict[str, str]:
        seen = dict(heads[branch])
        for path, value in staging[branch].items():
            if value is None:
                seen.pop(path, None)
            else:
                seen[path] = value
        return seen

    def snapshot() -> State:
        return {b: (frozenset(heads[b].items()), frozenset(view(b).items())) for b in sorted(heads)}

    states = [snapshot()]
    for op in OPS:
        kind = op[0]
        if kind in {"put", "put_file", "put_move"}:
            staging[op[1]][op[2]] = _digest(_content(op[2], op[3], op[4]))
        elif kind == "delete":
            staging[op[1]][op[2]] = None
        elif kind == "commit":
            heads[op[1]], staging[op[1]] = view(op[1]), {}
        elif kind == "branch":
            heads[op[1]], staging[op[1]], bases[op[1]] = dict(heads[op[2]]), {}, heads[op[2]]
        elif kind == "merge":
            merged = LakeModel.three_way(
                {p: (d.encode(), "") for p, d in bases[op[1]].items()},
                {p: (d.encode(), "") for p, d in heads[op[1]].items()},
                {p: (d.encode(), "") for p, d in heads[op[2]].items()},
                None,
            )
            assert isinstance(merged, dict)
            heads[op[2]] = {p: v[0].decode() for p, v in merged.items()}
        else:
            del heads[op[1]], staging[op[1]]
        states.append(snapshot())
    return states


def _observed(lake: LocalLake) -> State:
    """The lake's state through its public API, checking every object's bytes against its hash."""
    state: State = {}
    for branch in expect_success(lake.list_branches()):
        views = []
        for ref in (branch.commit_id, branch.name):
            seen = set()
            for info in expect_success(lake.list_objects(ref=ref)):
                digest = _digest(expect_success(lake.get_bytes(info.path, ref=ref)))
                assert digest == info.checksum, f"{info.path} at {ref}: bytes do not match hash"
                seen.add((info.path, digest))
            views.append(frozenset(seen))
        state[branch.name] = (views[0], views[1])
    return state


# -- the kill switch ---------------------------------------------------------------------------
def _counter(mode: str, kill_at: int | None, counts: dict[str, int]) -> Callable[..., None]:
    """A profile function counting events of ``mode``; SIGKILLs the process at ``kill_at``."""

    def profile(_frame: FrameType, event: str, arg: object) -> None:
        if event == "call":
            kinds = ["any"]
        elif event == "c_call":
            kinds = ["any"]
            if arg is os.replace:
                kinds.append("replace")
            elif arg is os.fsync:
                kinds.append("fsync")
            elif getattr(arg, "__name__", "") in {"execute", "executemany"} and isinstance(
                getattr(arg, "__self__", None), sqlite3.Connection
            ):
                kinds.append("sql")
        else:
            return
        for kind in kinds:
            counts[kind] = counts.get(kind, 0) + 1
        if kill_at is not None and counts.get(mode) == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    return profile


def _child(root: str, sources: dict[str, Path], mode: str, kill_at: int) -> None:
    lake = LocalLake(root, "repo")
    sys.setprofile(_counter(mode, kill_at, {}))
    _run(lake, sources)
    sys.setprofile(None)


def _fresh_lake(folder: Path) -> tuple[LocalLake, dict[str, Path]]:
    lake = LocalLake(folder / "lake", "repo")
    expect_success(lake.create_repository())
    return lake, _sources(folder / "src")


def _plan(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Kill points: spread over all calls, and at SQL statements, renames and fsyncs."""

    def spread(total: int, points: int) -> list[int]:
        if total <= points:
            return list(range(1, total + 1))
        return sorted({1 + (total - 1) * i // (points - 1) for i in range(points)})

    plan = [("any", k) for k in spread(counts["any"], 14)]
    plan += [("sql", k) for k in spread(counts["sql"], 14)]
    plan += [("replace", k) for k in spread(counts["replace"], 6)]
    plan += [("fsync", k) for k in spread(counts["fsync"], 6)]
    return plan


def test_the_workload_and_its_model_agree(tmp_path: Path) -> None:
    """Without a crash, the workload ends in the model's final state (the oracle is right)."""
    lake, sources = _fresh_lake(tmp_path)
    states = _expected_states()
    assert _observed(lake) == states[0]
    _run(lake, sources)
    assert _observed(lake) == states[-1]
    assert len({frozenset(s.items()) for s in states}) == len(states)  # every op changes state


def test_kill_9_at_any_point_leaves_a_consistent_lake(tmp_path: Path) -> None:
    """After SIGKILL at ~40 points, the lake shows a workload prefix and every blob is intact."""
    counts: dict[str, int] = {}
    scratch, sources = _fresh_lake(tmp_path / "count")
    sys.setprofile(_counter("any", None, counts))
    try:
        _run(scratch, sources)
    finally:
        sys.setprofile(None)
    states = _expected_states()
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    killed = 0
    for number, (mode, kill_at) in enumerate(_plan(counts)):
        lake, sources = _fresh_lake(tmp_path / f"run-{number}")
        child = context.Process(target=_child, args=(str(lake.root), sources, mode, kill_at))
        child.start()
        child.join(timeout=120)
        assert child.exitcode in {0, -signal.SIGKILL}, (mode, kill_at, child.exitcode)
        killed += child.exitcode == -signal.SIGKILL
        reopened = LocalLake(lake.root, "repo")
        observed = _observed(reopened)
        assert observed in states, f"killed at {mode} #{kill_at}: not a workload prefix"
        assert expect_success(reopened.fsck(deep=True)).problems == (), (mode, kill_at)
        expect_success(reopened.gc(grace=timedelta(0)))
        assert expect_success(reopened.fsck(deep=True)).ok
        assert _observed(reopened) == observed  # gc removed only garbage
        expect_success(reopened.put_bytes("after-crash", b"still works", branch="main"))
        expect_success(reopened.commit("main", "after the crash"))
    assert killed >= 0.8 * len(_plan(counts)), f"only {killed} runs were killed"


@pytest.mark.parametrize("stage", ["write", "rename", "stage"])
def test_a_killed_put_never_shows_a_partial_object(tmp_path: Path, stage: str) -> None:
    """A put killed after streaming, at its rename or at its staging COMMIT is absent or whole."""
    source = tmp_path / "big"
    source.write_bytes(_content("big", 0, _BIG))
    counts: dict[str, int] = {}
    scratch, _ = _fresh_lake(tmp_path / "count")
    sys.setprofile(_counter("any", None, counts))
    try:
        expect_success(scratch.put_file("big", source, branch="main"))
    finally:
        sys.setprofile(None)
    mode, kill_at = {
        "write": ("fsync", 1),  # the data is written; its fsync, rename and staging are not
        "rename": ("replace", 1),
        "stage": ("sql", counts["sql"]),  # the COMMIT of the staging transaction
    }[stage]
    lake, _ = _fresh_lake(tmp_path / "run")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    child = context.Process(target=_put_child, args=(str(lake.root), source, mode, kill_at))
    child.start()
    child.join(timeout=120)
    assert child.exitcode == -signal.SIGKILL
    reopened = LocalLake(lake.root, "repo")
    assert expect_success(reopened.list_objects(ref="main")) == ()
    expect_failure(reopened.get_bytes("big", ref="main"), "not_found")
    assert expect_success(reopened.fsck(deep=True)).ok
    expect_success(reopened.put_file("big", source, branch="main"))
    assert expect_success(reopened.get_bytes("big", ref="main")) == _content("big", 0, _BIG)


def _put_child(root: str, source: Path, mode: str, kill_at: int) -> None:
    lake = LocalLake(root, "repo")
    sys.setprofile(_counter(mode, kill_at, {}))
    expect_success(lake.put_file("big", source, branch="main"))
    sys.setprofile(None)
