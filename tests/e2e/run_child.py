"""A child process that runs the users pipeline once, for crash and concurrency tests.

    python -m tests.e2e.run_child LAKE_ROOT REPOSITORY SOURCE_PARQUET [--kill-at N | --count]
        [--merge]

``--count`` prints how many profiled events (Python calls into the lake adapter and the shell,
and the C calls they make: renames, fsyncs, SQLite statements...) one run makes; ``--kill-at N``
sends SIGKILL to itself at the N-th such event, so a test can crash a real run at any point
deterministically. Otherwise it runs normally (with retries on merge conflicts) and prints the
outcome as JSON. ``--merge`` publishes into a Delta table merged by ``id`` instead of appending.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import polars as pl

from lakeflow.adapters.frame_source import FrameSource
from lakeflow.adapters.local import LocalLake
from lakeflow.core.incremental import IncrementalSpec
from lakeflow.core.table import TableOptions
from lakeflow.core.validate import Checks
from lakeflow.run import Pipeline, RetryPolicy, run

WATCHED = (
    "/lakeflow/run/",
    "/lakeflow/adapters/local",
    "/lakeflow/adapters/delta_table",
    "/lakeflow/adapters/table_scan",
)
"""Source folders whose calls count as crash points: the shell and the embedded lake."""


def users_pipeline(source: Path, *, retry_on_conflict: int = 0, merge: bool = False) -> Pipeline:
    """The pipeline every crash and concurrency test runs: incremental by (ts, id); with
    ``merge`` it merges by ``id`` into a Delta table."""
    checks = Checks.from_config(
        {
            "schema": {"properties": {"age": {"type": "integer", "minimum": 18}}},
            "max_invalid_fraction": 0.5,
        }
    ).unwrap()
    policy = RetryPolicy(
        retry_on_conflict=retry_on_conflict, initial_backoff_s=0.01, max_backoff_s=0.1
    )
    frame = pl.scan_parquet(source)
    return Pipeline(
        "users",
        FrameSource(frame, incremental=IncrementalSpec("ts", ("id",))),
        checks=checks,
        retry=policy,
        mode="merge" if merge else "append",
        table=TableOptions(keys=("id",)) if merge else TableOptions(),
    )


def watched(frame: FrameType | None, folders: tuple[str, ...] = WATCHED) -> bool:
    """True for a frame executing code of the shell or of the lake (``folders``)."""
    return frame is not None and any(part in frame.f_code.co_filename for part in folders)


def kill_at(
    events_to_kill: int, folders: tuple[str, ...] = WATCHED
) -> tuple[list[int], Callable[[FrameType, str, object], None]]:
    """A profile hook that counts watched events and SIGKILLs this process at the given one.

    Returns a one-item list holding the count so far, and the hook for ``sys.setprofile``.
    ``folders`` are the source folders whose calls count (default: the shell and LocalLake).
    """
    events = [0]

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event in ("call", "c_call") and watched(frame, folders):
            events[0] += 1
            if events[0] == events_to_kill:
                os.kill(os.getpid(), signal.SIGKILL)

    return events, profile


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path)
    parser.add_argument("repository")
    parser.add_argument("source", type=Path)
    parser.add_argument("--kill-at", type=int, default=0)
    parser.add_argument("--count", action="store_true")
    parser.add_argument("--retry-on-conflict", type=int, default=0)
    parser.add_argument("--merge", action="store_true")
    args = parser.parse_args()

    lake = LocalLake(args.root, args.repository)
    pipeline = users_pipeline(
        args.source, retry_on_conflict=args.retry_on_conflict, merge=args.merge
    )
    events, profile = kill_at(args.kill_at)
    if args.count or args.kill_at:
        sys.setprofile(profile)
    outcome = run(pipeline, lake)
    sys.setprofile(None)
    if args.count:
        print(events[0])
        return
    record = outcome.value_or(None) or outcome.failure()
    print(json.dumps({"status": record.status, "run_id": record.run_id}))


if __name__ == "__main__":
    main()
