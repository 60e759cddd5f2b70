"""run() on lakeFS: the write-audit-publish transaction over LakeFSLake and the server double.

Everything is real: the lakeFS SDK, HTTP, the double's three-way merges and compare-and-swap.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import TypeVar

import polars as pl
import pytest
from returns.io import IOResult
from returns.result import Failure, Result, Success

from lakeflow.adapters.frame_source import FrameSource
from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.adapters.lakefs import LakeFSLake
from lakeflow.core.errors import ExtractError, LakeError
from lakeflow.core.incremental import IncrementalSpec
from lakeflow.core.records import FailureRecord, RunRecord
from lakeflow.core.secrets import Secret
from lakeflow.core.validate import Checks
from lakeflow.ports import ExtractContext, Lake
from lakeflow.run import HISTORY_BRANCH, Pipeline, RetryPolicy, run, runs
from lakeflow.testing.lakefs import LakeFSDouble

FAST = RetryPolicy(max_retries=3, timeout_seconds=30, initial_backoff_s=0.001, max_backoff_s=0.01)
INCREMENTAL = IncrementalSpec("ts", ("id",))
DATASET = "validated_data/users"
_numbers = itertools.count(1)
T = TypeVar("T")


@pytest.fixture
def lake(lakefs_server: LakeFSDouble) -> Iterator[LakeFSLake]:
    """A LakeFSLake on a new repository of the session's double, with ``main``."""
    name = f"e2e-run-{next(_numbers):04d}"
    lake = LakeFSLake(
        lakefs_server.endpoint,
        name,
        access_key_id=Secret(lakefs_server.access_key_id),
        secret_access_key=Secret(lakefs_server.secret_access_key),
        storage_namespace=f"local://lakeflow-e2e/{name}",
    )
    unwrap_io(lake.create_repository()).unwrap()
    yield lake
    lake.close()


def port(lake: LakeFSLake) -> Lake:
    """The lake as the shell's port."""
    return lake


def value(result: IOResult[T, LakeError]) -> T:
    """The success value of a lake operation (the test fails with the error otherwise)."""
    outcome = unwrap_io(result)
    assert isinstance(outcome, Success), outcome
    found: T = outcome.unwrap()
    return found


def users(ids: range, ts: int = 1) -> pl.DataFrame:
    """Rows with an id, an age (every fifth one under 18) and a timestamp."""
    return pl.DataFrame(
        {"id": list(ids), "age": [15 if i % 5 == 0 else 30 for i in ids], "ts": [ts] * len(ids)}
    )


def ok(outcome: Result[RunRecord, FailureRecord]) -> RunRecord:
    assert isinstance(outcome, Success), outcome.failure().dumps()
    record: RunRecord = outcome.unwrap()
    return record


def failed(outcome: Result[RunRecord, FailureRecord]) -> FailureRecord:
    assert isinstance(outcome, Failure), outcome.unwrap().dumps()
    record: FailureRecord = outcome.failure()
    return record


def published(lake: LakeFSLake, ref: str = "main") -> list[int]:
    """The ids published under the dataset folder at ``ref``, sorted."""
    ids: list[int] = value(lake.scan_frame(DATASET, ref=ref)).collect()["id"].sort().to_list()
    return ids


def test_a_first_run_publishes_in_one_merge_and_deletes_its_branch(lake: LakeFSLake) -> None:
    """Rows, checkpoint and record land on main together, in a merge of the run's commit."""
    base = value(lake.resolve("main"))
    record = ok(run(Pipeline("users", users(range(1, 11)), retry=FAST), port(lake)))
    assert record.status == "published" and record.base_commit == base
    assert value(lake.resolve("main")) == record.merge_commit
    (merge,) = value(lake.log_commits("main", limit=1))
    assert merge.parents == (base, record.commit)
    assert published(lake) == list(range(1, 11))
    names = {b.name for b in value(lake.list_branches())}
    assert record.run_branch is None and names == {"main", HISTORY_BRANCH}
    assert [r.run_id for r in runs(port(lake), "users")] == [record.run_id]


def test_an_incremental_rerun_publishes_only_new_rows(lake: LakeFSLake) -> None:
    """The committed checkpoint makes a second run publish only rows after the watermark."""
    first = users(range(1, 6), ts=1)
    ok(run(Pipeline("users", FrameSource(first, incremental=INCREMENTAL), retry=FAST), port(lake)))
    grown = pl.concat([first, users(range(6, 9), ts=2)])
    record = ok(
        run(Pipeline("users", FrameSource(grown, incremental=INCREMENTAL), retry=FAST), port(lake))
    )
    assert record.rows.extracted == 3
    again = ok(
        run(Pipeline("users", FrameSource(grown, incremental=INCREMENTAL), retry=FAST), port(lake))
    )
    assert again.rows.extracted == 0
    assert published(lake) == list(range(1, 9))


class RivalSource:
    """A source that, the first time it is read, lets a rival run publish from the same base."""

    def __init__(self, frame: pl.DataFrame, rival: Pipeline, lake: Lake) -> None:
        self.inner = FrameSource(frame, incremental=INCREMENTAL)
        self.rival = rival
        self.lake = lake
        self.rival_records: list[RunRecord] = []

    @property
    def incremental(self) -> IncrementalSpec | None:
        return INCREMENTAL

    def describe(self) -> Mapping[str, object]:
        return {"kind": "rival"}

    def extract(self, context: ExtractContext) -> IOResult[pl.LazyFrame, ExtractError]:
        if not self.rival_records:
            self.rival_records.append(ok(run(self.rival, self.lake)))
        return self.inner.extract(context)


def test_two_runs_from_one_base_exactly_one_publishes(lake: LakeFSLake) -> None:
    """The run that loses the race to main fails on a conflict; no row is published twice."""
    rows = users(range(1, 6))
    rival = Pipeline("users", FrameSource(rows, incremental=INCREMENTAL), retry=FAST)
    source = RivalSource(rows, rival, port(lake))
    base = value(lake.resolve("main"))
    loser = failed(run(Pipeline("users", source, retry=FAST), port(lake)))
    (winner,) = source.rival_records
    assert winner.base_commit == loser.base_commit == base
    assert loser.failed_step == "merge" and loser.error.code == "conflict"
    assert "_lakeflow/checkpoints/users.json" in loser.error.message
    assert value(lake.resolve("main")) == winner.merge_commit
    assert published(lake) == [1, 2, 3, 4, 5]
    assert loser.run_branch is not None and loser.commit is not None
    kept = value(lake.get_bytes(f"_lakeflow/runs/users/{loser.run_id}.json", ref=loser.run_branch))
    assert b'"failed"' in kept


def test_a_failed_validation_keeps_its_record_on_the_run_branch(lake: LakeFSLake) -> None:
    """Too many invalid rows: the failure record and quarantine are committed, main untouched."""
    checks = Checks.from_config(
        {
            "schema": {"properties": {"age": {"type": "integer", "minimum": 18}}},
            "max_invalid_fraction": 0.0,
        }
    ).unwrap()
    base = value(lake.resolve("main"))
    record = failed(run(Pipeline("users", users(range(1, 11)), checks=checks), port(lake)))
    assert record.failed_step == "validate" and value(lake.resolve("main")) == base
    assert record.run_branch is not None
    (head,) = value(lake.log_commits(record.run_branch, limit=1))
    assert head.metadata["lakeflow.status"] == "failed"
    quarantine = value(lake.scan_frame(record.outputs["quarantine"], ref=record.run_branch))
    assert quarantine.collect().height == 2


def test_rejected_credentials_fail_the_run_without_leaking_the_secret(
    lakefs_server: LakeFSDouble,
) -> None:
    """A run on a lake that refuses the keys fails at resolve; the secret is in no record."""
    secret = "planted-run-secret-4242"
    lake = LakeFSLake(
        lakefs_server.endpoint,
        "e2e-no-entry",
        access_key_id=Secret(lakefs_server.access_key_id),
        secret_access_key=Secret(secret),
    )
    record = failed(run(Pipeline("users", users(range(1, 3)), retry=FAST), port(lake)))
    assert record.failed_step == "resolve" and record.error.code == "auth"
    assert secret not in record.dumps()
