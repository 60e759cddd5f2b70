"""The lakeFS suites: what a run costs in HTTP requests, and upload/commit/merge on the double.

Effect (registers two suites; every contender starts its own lakeFS server double).

Every contender's untimed ``setup`` starts a :class:`~lakeflow.testing.lakefs.LakeFSDouble` in
its own (child) process, on ``127.0.0.1``, and opens a
:class:`~lakeflow.adapters.lakefs.LakeFSLake` on a new repository there. The double's
memory and CPU therefore count towards the child's peak RSS and CPU time: the numbers are upper
bounds for the adapter alone. The timed part talks to the double over real HTTP.

``lakefs_requests`` (sizes are rows; default 1k and 1M) — how many HTTP requests one
``lakeflow.run()`` of the users pipeline sends to lakeFS, which must not grow with the rows:

* ``run`` (baseline): no checks, ``keep_raw=False``: one data output (the valid rows);
* ``run_raw``: ``keep_raw=True``: a second data output (the raw rows);
* ``run_checks``: the users example's checks: a third (the quarantined rows).

Each reports ``requests`` (all of them) and ``uploads`` (object POSTs) as facts, and
``rows_out``. The run calls the adapter through the narrow Lake port.

``lakefs_ops`` (sizes are numbers of objects; default 1 and 100) — like ``lake_ops`` for
LocalLake, N files of random bytes totalling ~10 MB or ~1 GB:

* ``upload-10MB``, ``upload-1GB``: ``put_file`` of the N files (streamed; the 1 GB case's peak
  RSS must stay under 300 MB, and near the 10 MB case's);
* ``commit-10MB`` (baseline), ``commit-1GB``: commit the N objects staged by ``setup``;
* ``merge-10MB``, ``merge-1GB``: merge the committed branch into ``main``.

Targets: commit and merge of 1 GB take at most 1.5x their 10 MB twins (they move ids, not
bytes); the 1 GB upload's peak RSS is at most 1.25x the 10 MB upload's (it streams).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from benchmarks.harness import Contender, JSONValue, Suite, Target, Workload, register
from benchmarks.lake import USERS_CHECKS, prepare_objects, prepare_users
from benchmarks.transform import users_transform

if TYPE_CHECKING:
    from lakeflow.adapters.lakefs import LakeFSLake
    from lakeflow.testing.lakefs import LakeFSDouble

__all__ = [
    "LAKEFS_OPS",
    "LAKEFS_REQUESTS",
    "commit_staged",
    "merge_committed",
    "run_counted",
    "run_counted_checks",
    "run_counted_raw",
    "stage",
    "stage_and_commit",
    "start_lake",
    "upload_files",
]

REPOSITORY: Final = "bench"
BRANCH: Final = "bench-run"
PIPELINE: Final = "users"
OBJECT_PREFIX: Final = "data/"
FACTS: Final = "facts.json"
VOLUMES: Final = ("10MB", "1GB")


@dataclass(slots=True)
class _Ready:
    """What ``setup`` hands to the timed function in the same child process."""

    double: LakeFSDouble
    lake: LakeFSLake
    objects: int = 0
    total: int = 0


_READY: dict[str, _Ready] = {}


def _ok(result: Any, what: str) -> Any:
    """Effect boundary. The value inside an ``IOResult``; raise (the run fails) otherwise."""
    from returns.result import Failure

    from lakeflow.adapters.lake_helpers import unwrap_io

    outcome = unwrap_io(result)
    if isinstance(outcome, Failure):
        raise RuntimeError(f"{what} failed: {outcome.failure().message}")
    return outcome.unwrap()


def start_lake(work: Workload) -> None:
    """Effect (untimed setup). A lakeFS double in this process and a lake with a repository."""
    from lakeflow.adapters.lakefs import LakeFSLake
    from lakeflow.core.secrets import Secret
    from lakeflow.testing.lakefs import LakeFSDouble

    double = LakeFSDouble(work.out_dir / "lakefs")
    lake = LakeFSLake(
        double.endpoint,
        REPOSITORY,
        access_key_id=Secret(double.access_key_id),
        secret_access_key=Secret(double.secret_access_key),
        storage_namespace=f"local://{REPOSITORY}",
    )
    _ok(lake.create_repository(), "create_repository")
    double.clear_requests()
    _READY[str(work.out_dir)] = _Ready(double, lake)


def _take(work: Workload) -> _Ready:
    ready = _READY.pop(str(work.out_dir), None)
    if ready is None:
        raise RuntimeError(f"{work.contender}: its setup did not run in this process")
    return ready


def _write_facts(work: Workload, ready: _Ready, **extra: JSONValue) -> None:
    """Effect. The requests the double answered during the timed part, by kind, as facts."""
    requests = ready.double.requests
    kinds = Counter(f"{r.method} {r.path.rsplit('/', 1)[-1]}" for r in requests)
    facts: dict[str, JSONValue] = {
        "requests": len(requests),
        "uploads": sum(1 for r in requests if r.method == "POST" and r.path.endswith("/objects")),
        "by_kind": dict(sorted(kinds.items())),
        **extra,
    }
    (work.out_dir / FACTS).write_text(json.dumps(facts))


def read_facts(out_dir: Path) -> dict[str, JSONValue]:
    """Effect (reads a file). The facts a contender wrote."""
    facts: dict[str, JSONValue] = json.loads((out_dir / FACTS).read_text())
    facts.pop("by_kind", None)  # in the JSON via the per-run file only; too wide for a table
    return facts


# -- lakefs_requests ----------------------------------------------------------------------------


def _run(work: Workload, *, keep_raw: bool, checks: Any) -> None:
    """Effect. One ``run()`` of the users pipeline on the lake ``start_lake`` opened."""
    from returns.result import Failure

    from lakeflow.adapters.file_source import FileSource
    from lakeflow.core.validate import Checks
    from lakeflow.run import Pipeline, run

    ready = _take(work)
    pipeline = Pipeline(
        name=PIPELINE,
        source=FileSource(str(work.input_path("users")), format="parquet"),
        transform=users_transform(),
        checks=None if checks is None else Checks.from_config(dict(checks)).unwrap(),
        keep_raw=keep_raw,
    )
    outcome = run(pipeline, ready.lake, "main")
    if isinstance(outcome, Failure):
        failed = outcome.failure()
        raise RuntimeError(f"run failed at {failed.failed_step}: {failed.error.message}")
    record = outcome.unwrap()
    _write_facts(work, ready, rows_out=record.rows.valid)


def run_counted(work: Workload) -> None:
    """Effect. ``run()`` with no checks and ``keep_raw=False``: one data output."""
    _run(work, keep_raw=False, checks=None)


def run_counted_raw(work: Workload) -> None:
    """Effect. ``run()`` with ``keep_raw=True``: the raw rows are a second data output."""
    _run(work, keep_raw=True, checks=None)


def run_counted_checks(work: Workload) -> None:
    """Effect. ``run()`` with the users checks: the quarantine is a further output."""
    _run(work, keep_raw=False, checks=USERS_CHECKS)


_RUN_IMPORTS: Final = (
    "polars",
    "returns.result",
    "lakeflow.run",
    "lakeflow.adapters.file_source",
    "lakeflow.adapters.lakefs",
    "lakeflow.testing.lakefs",
    "lakeflow.core.transform",
    "lakeflow.core.validate",
)

LAKEFS_REQUESTS = register(
    Suite(
        name="lakefs_requests",
        description="HTTP requests one run() sends to lakeFS (the double), by rows and outputs",
        prepare=prepare_users,
        contenders=(
            Contender(
                "run",
                run_counted,
                "run() on LakeFSLake: no checks, keep_raw=False (one data output)",
                imports=_RUN_IMPORTS,
                setup=start_lake,
            ),
            Contender(
                "run_raw",
                run_counted_raw,
                "run() on LakeFSLake with keep_raw=True (two data outputs)",
                imports=_RUN_IMPORTS,
                setup=start_lake,
            ),
            Contender(
                "run_checks",
                run_counted_checks,
                "run() on LakeFSLake with the users checks (valid rows + quarantine)",
                imports=_RUN_IMPORTS,
                setup=start_lake,
            ),
        ),
        baseline="run",
        default_sizes=(1_000, 1_000_000),
        output_facts=read_facts,
        packages=("polars", "lakefs", "lakefs-sdk", "urllib3"),
    )
)


# -- lakefs_ops ---------------------------------------------------------------------------------


def _volume(work: Workload) -> str:
    label = work.contender.rsplit("-", 1)[-1]
    if label not in VOLUMES:
        raise ValueError(f"contender {work.contender!r} names no prepared volume")
    return label


def _files(work: Workload) -> list[Path]:
    return sorted(work.input_path(_volume(work)).iterdir())


def upload_files(work: Workload) -> None:
    """Effect (timed). ``put_file`` every prepared file onto ``bench-run``, streamed."""
    ready = _take(work)
    total = 0
    for file in _files(work):
        info = _ok(
            ready.lake.put_file(f"{OBJECT_PREFIX}{file.name}", file, branch="main"), "put_file"
        )
        total += info.size
    _write_facts(work, ready, objects=len(_files(work)), bytes=total)


def stage(work: Workload) -> None:
    """Effect (untimed setup). :func:`start_lake`, then upload the files to ``bench-run``."""
    start_lake(work)
    ready = _READY[str(work.out_dir)]
    _ok(ready.lake.create_branch(BRANCH, "main"), "create_branch")
    for file in _files(work):
        info = _ok(
            ready.lake.put_file(f"{OBJECT_PREFIX}{file.name}", file, branch=BRANCH), "put_file"
        )
        ready.objects += 1
        ready.total += info.size
    ready.double.clear_requests()


def stage_and_commit(work: Workload) -> None:
    """Effect (untimed setup). :func:`stage`, then commit ``bench-run``."""
    stage(work)
    ready = _READY[str(work.out_dir)]
    _ok(ready.lake.commit(BRANCH, "bench: staged objects", {"bench": "staged"}), "commit")
    ready.double.clear_requests()


def commit_staged(work: Workload) -> None:
    """Effect (timed). Commit the objects staged on ``bench-run``."""
    ready = _take(work)
    _ok(ready.lake.commit(BRANCH, "bench: commit", {"bench": "commit"}), "commit")
    _write_facts(work, ready, objects=ready.objects, bytes=ready.total)


def merge_committed(work: Workload) -> None:
    """Effect (timed). Merge the committed ``bench-run`` into ``main`` (never fast-forward)."""
    ready = _take(work)
    _ok(ready.lake.merge(BRANCH, "main", message="bench: publish"), "merge")
    _write_facts(work, ready, objects=ready.objects, bytes=ready.total)


_OPS_IMPORTS: Final = ("lakeflow.adapters.lakefs", "lakeflow.testing.lakefs", "returns.result")


def _ops(op: str, volume: str) -> Contender:
    functions = {
        "upload": (upload_files, start_lake, "put_file of the prepared files (streamed)"),
        "commit": (commit_staged, stage, "commit of the objects staged on bench-run"),
        "merge": (merge_committed, stage_and_commit, "merge of bench-run into main"),
    }
    run, setup, what = functions[op]
    return Contender(
        f"{op}-{volume}",
        run,
        f"{what}; {volume} in total, on the double",
        imports=_OPS_IMPORTS,
        setup=setup,
    )


LAKEFS_OPS = register(
    Suite(
        name="lakefs_ops",
        description="LakeFSLake upload, commit and merge of N objects (~10 MB vs ~1 GB)",
        prepare=prepare_objects,
        contenders=tuple(
            _ops(op, volume) for op in ("upload", "commit", "merge") for volume in VOLUMES
        ),
        baseline="commit-10MB",
        targets=(
            Target(
                "commit-1GB",
                "time",
                1.5,
                reference="commit-10MB",
                label="commit of 1 GB <= 1.5x commit of 10 MB (does not grow with bytes)",
            ),
            Target(
                "merge-1GB",
                "time",
                1.5,
                reference="merge-10MB",
                label="merge of 1 GB <= 1.5x merge of 10 MB (does not grow with bytes)",
            ),
            Target(
                "upload-1GB",
                "rss",
                1.25,
                reference="upload-10MB",
                label="upload of 1 GB peak RSS <= 1.25x upload of 10 MB (streams)",
            ),
        ),
        default_sizes=(1, 100),
        output_facts=read_facts,
        packages=("lakefs", "lakefs-sdk", "urllib3"),
        size_unit="objects",
    )
)
