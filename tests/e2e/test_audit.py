"""Write-audit-publish by hand, on both lakes: publish, discard and prune kept run branches.

Every test runs on the embedded lake and on LakeFSLake over the lakeFS server double.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from returns.result import Failure, Result, Success

from lakeflow.adapters.db_sink import DatabaseSink
from lakeflow.adapters.frame_source import FrameSource
from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.adapters.lakefs import LakeFSLake
from lakeflow.core.errors import LakeflowError
from lakeflow.core.incremental import IncrementalSpec
from lakeflow.core.records import FailureRecord, RunRecord
from lakeflow.core.secrets import Secret
from lakeflow.core.validate import Checks
from lakeflow.ports import Lake
from lakeflow.run import (
    Pipeline,
    RetryPolicy,
    discard_run,
    prune_runs,
    publish_run,
    run,
    show_run,
)
from lakeflow.run.layout import run_branch_name
from lakeflow.testing.lakefs import LakeFSDouble
from tests.e2e.lakes import head, new_lake, published

INCREMENTAL = IncrementalSpec("ts", ("id",))
DATASET = "validated_data/users"
FAST = RetryPolicy(max_retries=2, initial_backoff_s=0.001, max_backoff_s=0.01)
_numbers = itertools.count(1)


@pytest.fixture(params=["local", "lakefs"])
def lake(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Lake]:
    """A created repository on the embedded lake, and on LakeFSLake over the double."""
    if request.param == "local":
        yield new_lake(tmp_path / "lake")
        return
    double: LakeFSDouble = request.getfixturevalue("lakefs_server")
    name = f"e2e-audit-{next(_numbers):04d}"
    lakefs = LakeFSLake(
        double.endpoint,
        name,
        access_key_id=Secret(double.access_key_id),
        secret_access_key=Secret(double.secret_access_key),
        storage_namespace=f"local://lakeflow-audit/{name}",
    )
    unwrap_io(lakefs.create_repository()).unwrap()
    yield lakefs
    lakefs.close()


def users(ids: range, ts: int = 1) -> pl.DataFrame:
    """Rows with an id, an age (every fifth one under 18) and a timestamp."""
    return pl.DataFrame(
        {"id": list(ids), "age": [15 if i % 5 == 0 else 30 for i in ids], "ts": [ts] * len(ids)}
    )


def pipeline(frame: pl.DataFrame, *, sink: DatabaseSink | None = None) -> Pipeline:
    """The incremental users pipeline: adults pass, at most half the rows may be invalid."""
    checks = Checks.from_config(
        {
            "schema": {"properties": {"age": {"type": "integer", "minimum": 18}}},
            "max_invalid_fraction": 0.5,
        }
    ).unwrap()
    return Pipeline(
        "users",
        FrameSource(frame, incremental=INCREMENTAL),
        checks=checks,
        sinks=(sink,) if sink is not None else (),
        retry=FAST,
    )


def ok(outcome: Result[RunRecord, FailureRecord]) -> RunRecord:
    assert isinstance(outcome, Success), outcome.failure().dumps()
    record: RunRecord = outcome.unwrap()
    return record


def failed(outcome: Result[RunRecord, FailureRecord]) -> FailureRecord:
    assert isinstance(outcome, Failure), outcome.unwrap().dumps()
    record: FailureRecord = outcome.failure()
    return record


def ids(lake: Lake, ref: str = "main") -> list[int]:
    rows = published(lake, DATASET, ref)
    return [] if rows.is_empty() else sorted(rows["id"].to_list())


def branches(lake: Lake) -> set[str]:
    return {b.name for b in unwrap_io(lake.list_branches()).unwrap()}


ADULTS = [i for i in range(1, 11) if i % 5]


def test_publish_merges_the_audited_commit_and_records_it_published(
    lake: Lake, tmp_path: Path
) -> None:
    """A --no-merge run publishes only when asked: then its rows, checkpoint and record reach
    the target in one merge, its branch goes, its sink loads and the history says published."""
    db = tmp_path / "warehouse.db"
    sink = DatabaseSink(f"sqlite://{db}", "users", mode="upsert", keys=("id",))
    base = head(lake)
    committed = ok(run(pipeline(users(range(1, 11)), sink=sink), lake, merge=False))
    assert committed.status == "committed" and head(lake) == base and not db.exists()
    assert committed.run_branch is not None and ids(lake, committed.run_branch) == ADULTS

    record = ok(publish_run(pipeline(users(range(1, 11)), sink=sink), lake, committed.run_id))
    assert record.status == "published" and record.run_branch is None
    assert head(lake) == record.merge_commit
    (merge,) = unwrap_io(lake.log_commits("main", limit=1)).unwrap()
    assert merge.parents == (base, committed.commit)
    assert merge.metadata["lakeflow.status"] == "published"
    assert ids(lake) == ADULTS
    assert committed.run_branch not in branches(lake)
    with sqlite3.connect(db) as conn:
        assert sorted(r[0] for r in conn.execute("SELECT id FROM users")) == ADULTS
    assert record.rows.loaded == len(ADULTS)
    assert (record.started_at, record.finished_at) == (committed.started_at, committed.finished_at)
    shown = show_run(lake, committed.run_id, "users")
    assert shown.status == "published" and shown.merge_commit == record.merge_commit
    # The next run carries on from the published checkpoint.
    grown = pl.concat([users(range(1, 11)), users(range(11, 15), ts=2)])
    assert ok(run(pipeline(grown), lake)).rows.extracted == 4


def test_publish_is_refused_when_another_run_published_from_the_same_base(lake: Lake) -> None:
    """Two runs read the same rows; one was kept for audit, the other published: publishing the
    kept one conflicts on the checkpoint, nothing is published twice, the history says failed."""
    frame = users(range(1, 11))
    kept = ok(run(pipeline(frame), lake, merge=False))
    other = ok(run(pipeline(frame), lake))
    assert other.status == "published"
    refused = failed(publish_run(pipeline(frame), lake, kept.run_id))
    assert refused.status == "failed" and refused.failed_step == "merge"
    assert refused.error.code == "conflict"
    assert "another run published to 'main'" in refused.error.message
    assert "_lakeflow/checkpoints/users.json" in refused.error.message
    assert head(lake) == other.merge_commit and ids(lake) == ADULTS
    assert show_run(lake, kept.run_id, "users").status == "failed"
    assert kept.run_branch in branches(lake)
    with pytest.raises(LakeflowError, match="failed at merge"):
        publish_run(pipeline(frame), lake, kept.run_id)


def test_a_run_publishes_once_only(lake: Lake) -> None:
    """Publishing a published run, a failed run or an unknown run is refused, saying why."""
    committed = ok(run(pipeline(users(range(1, 11))), lake, merge=False))
    ok(publish_run(pipeline(users(range(1, 11))), lake, committed.run_id))
    with pytest.raises(LakeflowError, match="published already"):
        publish_run(pipeline(users(range(1, 11))), lake, committed.run_id)
    with pytest.raises(LakeflowError, match="no run 'nope'"):
        publish_run(pipeline(users(range(1, 11))), lake, "nope")
    assert ids(lake) == ADULTS


def test_publish_merges_the_audited_commit_not_later_writes_to_its_branch(lake: Lake) -> None:
    """A commit someone adds to a kept branch after the audit is not published with it."""
    committed = ok(run(pipeline(users(range(1, 11))), lake, merge=False))
    branch = committed.run_branch
    assert branch is not None
    unwrap_io(lake.put_bytes("sneaked/in.txt", b"x", branch=branch)).unwrap()
    unwrap_io(lake.commit(branch, "after the audit")).unwrap()
    ok(publish_run(pipeline(users(range(1, 11))), lake, committed.run_id))
    assert unwrap_io(lake.list_objects("sneaked/", ref="main")).unwrap() == ()
    assert ids(lake) == ADULTS


def test_discard_deletes_the_kept_branch_and_records_the_run_discarded(lake: Lake) -> None:
    """A discarded run leaves the target alone, loses its branch, keeps its record; it can be
    neither published nor discarded twice, and a published run cannot be discarded."""
    base = head(lake)
    committed = ok(run(pipeline(users(range(1, 11))), lake, merge=False))
    discarded = discard_run("users", lake, committed.run_id).unwrap()
    assert discarded.status == "discarded" and not discarded.ok
    assert committed.run_branch not in branches(lake) and head(lake) == base
    assert show_run(lake, committed.run_id, "users").status == "discarded"
    assert discard_run("users", lake, committed.run_id).unwrap() == discarded
    with pytest.raises(LakeflowError, match="it was discarded"):
        publish_run(pipeline(users(range(1, 11))), lake, committed.run_id)
    # The rows it held are published by the next run, once.
    published_run = ok(run(pipeline(users(range(1, 11))), lake))
    assert ids(lake) == ADULTS
    with pytest.raises(LakeflowError, match="is published"):
        discard_run("users", lake, published_run.run_id)


def test_prune_deletes_old_failed_and_abandoned_run_branches_only(lake: Lake) -> None:
    """Prune deletes branches of failed runs and of runs that died unrecorded, once old
    enough; committed runs (unless asked), younger runs and other pipelines' are kept; every
    record stays in the history."""
    strict = Checks.from_config(
        {
            "schema": {"properties": {"age": {"type": "integer", "minimum": 18}}},
            "max_invalid_fraction": 0.0,
        }
    ).unwrap()
    bad = failed(run(Pipeline("users", users(range(1, 11)), checks=strict, retry=FAST), lake))
    committed = ok(run(pipeline(users(range(1, 11))), lake, merge=False))
    abandoned = run_branch_name("users", "20200101T000000000Z-0badc0de")
    other_pipeline = run_branch_name("users-eu", "20200101T000000000Z-0badc0de")
    for name in (abandoned, other_pipeline):
        unwrap_io(lake.create_branch(name, "main")).unwrap()

    young = prune_runs("users", lake, timedelta(days=7)).unwrap()
    assert {p.branch for p in young.pruned} == {abandoned}  # from 2020: old at once
    assert {k.branch: k.status for k in young.kept} == {
        bad.run_branch: "failed",
        committed.run_branch: "committed",
    }

    later = bad.finished_at + timedelta(days=8)
    dry = prune_runs("users", lake, timedelta(days=7), at=later, dry_run=True).unwrap()
    assert [p.branch for p in dry.pruned] == [bad.run_branch] and bad.run_branch in branches(lake)
    done = prune_runs("users", lake, timedelta(days=7), at=later).unwrap()
    assert [p.branch for p in done.pruned] == [bad.run_branch]
    assert [k.branch for k in done.kept] == [committed.run_branch]
    assert "--include-committed" in done.kept[0].reason
    everything = prune_runs(
        "users", lake, timedelta(days=7), at=later, include_committed=True
    ).unwrap()
    assert [p.branch for p in everything.pruned] == [committed.run_branch]
    left = branches(lake)
    assert other_pipeline in left
    assert not any(name.startswith("lakeflow-run-users-2") for name in left)
    assert show_run(lake, bad.run_id, "users").status == "failed"
    assert show_run(lake, committed.run_id, "users").status == "committed"
