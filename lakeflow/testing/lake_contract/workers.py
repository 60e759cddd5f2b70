"""Child processes of the Lake contract's concurrency tests.

Effect (tests). Workers are top-level functions so that spawned children can import them; each
re-opens the lake from its URL with :func:`lakeflow.lakes.open_lake`.
"""

# ruff: noqa: S101 - a test suite: assertions are its purpose (shipped for adapters' tests)
from __future__ import annotations

import multiprocessing
import queue as queue_module
from collections.abc import Callable
from typing import Any

from returns.result import Failure

from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.ports import Lake
from lakeflow.testing.lake_contract.assertions import expect_success

__all__ = ["checkpoint_worker", "commit_worker", "publish_worker", "run_processes"]


def _open(url: str, repository: str) -> Lake:
    from lakeflow.lakes import open_lake

    return open_lake(url, repository=repository).lake


def publish_worker(  # noqa: PLR0917 - multiprocessing passes positional args
    url: str, repository: str, worker: int, rounds: int, barrier: Any, results: Any
) -> None:
    """Child process: ``rounds`` x (branch, write, commit, merge into main, retrying races)."""
    lake = _open(url, repository)
    barrier.wait()
    report: dict[str, Any] = {"worker": worker, "merged": [], "races": 0, "other": []}
    for number in range(rounds):
        branch = f"w{worker}-{number}"
        expect_success(lake.create_branch(branch, "main"))
        expect_success(
            lake.put_bytes(f"out/{worker}/{number}.txt", f"{worker}".encode(), branch=branch)
        )
        expect_success(lake.commit(branch, f"work {worker}/{number}"))
        for _ in range(200):
            outcome = unwrap_io(lake.merge(branch, "main"))
            if not isinstance(outcome, Failure):
                report["merged"].append(outcome.unwrap())
                break
            error = outcome.failure()
            if error.code == "conflict" and error.retryable:
                report["races"] += 1
                continue
            report["other"].append(error.to_dict())
            break
    results.put(report)


def checkpoint_worker(url: str, repository: str, worker: int, barrier: Any, results: Any) -> None:
    """Child process: merge a run branch that moved the shared checkpoint into main."""
    lake = _open(url, repository)
    barrier.wait()
    report: dict[str, Any] = {"worker": worker, "merged": None, "races": 0, "error": None}
    for _ in range(200):
        outcome = unwrap_io(lake.merge(f"run-{worker}", "main"))
        if not isinstance(outcome, Failure):
            report["merged"] = outcome.unwrap()
            break
        error = outcome.failure()
        if error.code == "conflict" and error.retryable:
            report["races"] += 1
            continue
        report["error"] = error.to_dict()
        break
    results.put(report)


def commit_worker(url: str, repository: str, worker: int, barrier: Any, results: Any) -> None:
    """Child process: stage a file on the shared branch and commit it, retrying races."""
    lake = _open(url, repository)
    barrier.wait()
    report: dict[str, Any] = {"worker": worker, "commits": [], "races": 0, "other": []}
    expect_success(lake.put_bytes(f"by/{worker}", f"{worker}".encode(), branch="shared"))
    for _ in range(200):
        outcome = unwrap_io(lake.commit("shared", f"commit by {worker}"))
        if not isinstance(outcome, Failure):
            report["commits"].append(outcome.unwrap().id)
            break
        error = outcome.failure()
        if error.code == "conflict" and error.retryable:
            report["races"] += 1
            continue
        # "no changes": a concurrent commit already took this worker's staged file.
        report["other"].append(error.to_dict())
        break
    results.put(report)


def run_processes(target: Callable[..., None], args: list[tuple[Any, ...]]) -> list[Any]:
    """Effect (test). Run ``target`` in one spawned process per args tuple; their reports."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(args))
    results = context.Queue()
    processes = [
        context.Process(target=target, args=(*a, barrier, results), daemon=True) for a in args
    ]
    for process in processes:
        process.start()
    try:
        reports = [results.get(timeout=120) for _ in processes]
    except queue_module.Empty:
        raise AssertionError("a worker process did not report back within 120 s") from None
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():  # pragma: no cover - only on a hung worker
                process.kill()
    assert all(p.exitcode == 0 for p in processes), [p.exitcode for p in processes]
    return reports
