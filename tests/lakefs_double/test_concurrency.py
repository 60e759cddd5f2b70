"""Concurrent merges over HTTP: the double keeps LocalLake's compare-and-swap semantics."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import lakefs
from lakefs.exceptions import ConflictException

from lakeflow.testing.lakefs import LakeFSDouble

_RUNS = 4


def _client(server: LakeFSDouble) -> Any:
    return lakefs.Client(  # type: ignore[no-untyped-call]  # the SDK has no annotations here
        host=server.endpoint,
        username=server.access_key_id,
        password=server.secret_access_key,
    )


def _prepare_runs(repo: Any, path_of: Callable[[int], str]) -> None:
    for run in range(_RUNS):
        branch = repo.branch(f"run-{run}").create("main")
        branch.object(path_of(run)).upload(f"run {run}".encode())
        branch.object(f"_lakeflow/runs/{run}.json").upload(b"{}")
        branch.commit(f"run {run}")


def _merge_all_at_once(server: LakeFSDouble, repo_id: str) -> list[str | None]:
    """Merge every run branch into main from its own thread and client, all released together;
    each result is the merge commit id, or ``None`` for a conflict."""
    start = threading.Barrier(_RUNS)

    def merge(run: int) -> str | None:
        source = lakefs.Repository(repo_id, client=_client(server)).branch(f"run-{run}")
        start.wait()
        try:
            return str(source.merge_into("main"))
        except ConflictException:
            return None

    with ThreadPoolExecutor(_RUNS) as pool:
        return list(pool.map(merge, range(_RUNS)))


def test_concurrent_disjoint_merges_all_publish(lakefs_server: LakeFSDouble, repo: Any) -> None:
    """Runs writing different paths all merge, whatever the interleaving: lost races on the
    head are retried inside the double, and main ends with every run's data."""
    _prepare_runs(repo, lambda run: f"data/part-{run}.txt")
    results = _merge_all_at_once(lakefs_server, repo.id)
    assert None not in results
    main = repo.branch("main")
    assert sorted(o.path for o in main.objects(prefix="data/")) == [
        f"data/part-{run}.txt" for run in range(_RUNS)
    ]
    merges = [c for c in main.log() if len(c.parents) == 2]
    assert len(merges) == _RUNS


def test_concurrent_runs_from_one_base_publish_exactly_once(
    lakefs_server: LakeFSDouble, repo: Any
) -> None:
    """Runs that all advance the same checkpoint path conflict: exactly one merge publishes,
    the others get 409, and main holds the winner's checkpoint."""
    _prepare_runs(repo, lambda _run: "_lakeflow/checkpoints/users.json")
    results = _merge_all_at_once(lakefs_server, repo.id)
    winners = [run for run, result in enumerate(results) if result is not None]
    assert len(winners) == 1
    main = repo.branch("main")
    with main.object("_lakeflow/checkpoints/users.json").reader() as reader:
        assert reader.read() == f"run {winners[0]}".encode()
    assert main.head.id == results[winners[0]]
