"""Merge by key into a Delta table: the published table always equals a model of the changes.

On both lakes (the embedded LocalLake and LakeFSLake over the lakeFS double): any sequence of
runs with inserts, updates, deletes, several versions of a key in one run and invalid newest
versions leaves main's table equal to a dict keyed by id.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from returns.result import Failure

from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.run import run
from tests.tables.helpers import (
    TABLE,
    LakeFactory,
    RacingLake,
    events,
    failed,
    head,
    lake_paths,
    merge_pipeline,
    ok,
    table_rows,
)

Change = tuple[int, int, bool]  # id, value (negative: invalid), deleted
_changes = st.lists(
    st.tuples(st.integers(1, 8), st.integers(-1, 5), st.booleans()), min_size=0, max_size=7
)


def _apply(model: dict[int, int], batch: list[tuple[int, int, int, bool]]) -> None:
    """The model of one run: per id, the newest change wins; an invalid newest change is
    quarantined (the id keeps its published value); a deletion removes the id."""
    newest: dict[int, tuple[int, int, int, bool]] = {}
    for row in batch:
        newest[row[1]] = row  # rows come in sequence order
    for _, key, value, deleted in newest.values():
        if value < 0:
            continue
        if deleted:
            model.pop(key, None)
        else:
            model[key] = value


# The fixture is a factory: each example makes its own repository with it.
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(runs=st.lists(_changes, min_size=1, max_size=4))
def test_any_sequence_of_runs_leaves_the_table_equal_to_the_model(
    lake_factory: LakeFactory, runs: list[list[Change]]
) -> None:
    """Inserts, updates, deletes, repeated keys and invalid versions: main's table is the model."""
    lake = lake_factory()
    log: list[tuple[int, int, int, bool]] = []
    model: dict[int, int] = {}
    for batch in runs:
        start = len(log) + 1
        new = [(start + i, key, value, deleted) for i, (key, value, deleted) in enumerate(batch)]
        log.extend(new)
        _apply(model, new)
        record = ok(run(merge_pipeline(events(log)), lake))
        note(f"run {record.run_id}: {record.rows}, table {record.table}")
        if not model and not lake_paths(lake, TABLE + "/"):
            continue
        published = table_rows(lake)
        assert published.columns == ["seq", "ts", "id", "v"], "the delete flag is not published"
        assert dict(zip(published["id"], published["v"], strict=True)) == model
        assert published["id"].is_unique().all()


def test_a_merge_rewrites_only_the_files_holding_its_keys(lake_factory: LakeFactory) -> None:
    """Updating keys of one earlier run's file leaves the other runs' files live and unread."""
    lake = lake_factory()
    log = [(i, i, 1, False) for i in range(1, 31)]
    for upto in (10, 20, 30):
        ok(run(merge_pipeline(events(log[:upto])), lake))
    log.append((31, 12, 7, False))
    record = ok(run(merge_pipeline(events(log)), lake))
    assert record.table is not None
    metrics = record.table["metrics"]
    assert isinstance(metrics, dict)
    assert metrics["num_target_files_removed"] == 1
    assert metrics["num_target_files_skipped_during_scan"] == 2
    assert metrics["num_target_rows_updated"] == 1
    assert table_rows(lake).filter(pl.col("id") == 12)["v"].to_list() == [7]


def test_a_rerun_with_no_new_rows_leaves_the_table_alone(lake_factory: LakeFactory) -> None:
    """A second run over the same source publishes no new table version."""
    lake = lake_factory()
    source = events([(1, 1, 1, False), (2, 2, 2, False)])
    first = ok(run(merge_pipeline(source), lake))
    second = ok(run(merge_pipeline(source), lake))
    assert first.table is not None and first.table["version"] == 0
    assert second.table is None and second.rows.valid == 0
    assert table_rows(lake)["v"].to_list() == [1, 2]


def test_two_runs_from_one_base_exactly_one_publishes(lake_factory: LakeFactory) -> None:
    """Both write the table's next log entry: the second merge conflicts, main holds the first."""
    lake = lake_factory()
    ok(run(merge_pipeline(events([(1, 1, 1, False)])), lake))
    base = head(lake)
    log = [(1, 1, 1, False), (2, 1, 5, False), (3, 2, 2, False)]
    kept = ok(run(merge_pipeline(events(log[:2])), lake, merge=False))
    assert head(lake) == base
    ok(run(merge_pipeline(events(log)), lake))
    published = head(lake)
    assert kept.run_branch is not None
    merged = unwrap_io(lake.merge(kept.run_branch, "main"))
    assert isinstance(merged, Failure), merged
    assert merged.failure().code == "conflict", merged
    assert head(lake) == published
    assert dict(zip(*table_rows(lake).select("id", "v"), strict=True)) == {1: 5, 2: 2}


@pytest.mark.parametrize("retries", [0, 1])
def test_a_run_that_loses_the_merge_race_fails_or_replans(
    lake_factory: LakeFactory, retries: int
) -> None:
    """Two runs from one base: without retries the loser fails with a conflict and main holds
    the winner's table; with one it re-plans on the new table and both changes are published."""
    lake = lake_factory()
    ok(run(merge_pipeline(events([(1, 1, 1, False)])), lake))
    winner = events([(1, 1, 1, False), (2, 2, 9, False)])
    loser = events([(1, 1, 1, False), (2, 2, 9, False), (3, 1, 4, False)])
    racing = RacingLake(lake, lambda: ok(run(merge_pipeline(winner), lake)))
    outcome = run(merge_pipeline(loser, retry_on_conflict=retries), racing)  # type: ignore[arg-type]
    if retries == 0:
        record = failed(outcome)
        assert record.failed_step == "merge" and record.error.code == "conflict"
        assert dict(zip(*table_rows(lake).select("id", "v"), strict=True)) == {1: 1, 2: 9}
    else:
        assert ok(outcome).attempts.get("merge", 0) >= 2
        assert dict(zip(*table_rows(lake).select("id", "v"), strict=True)) == {1: 4, 2: 9}


def test_a_failed_run_leaves_the_table_at_main_untouched(lake_factory: LakeFactory) -> None:
    """Too many invalid rows: the run fails at validate, main's head and table do not move."""
    lake = lake_factory()
    ok(run(merge_pipeline(events([(1, 1, 1, False)])), lake))
    before, rows = head(lake), table_rows(lake)
    strict = merge_pipeline(events([(1, 1, 1, False), (2, 1, -3, False), (3, 4, 4, False)]))
    checks = strict.checks
    assert checks is not None
    record = failed(run(replace(strict, checks=replace(checks, max_invalid_fraction=0.0)), lake))
    assert record.failed_step == "validate"
    assert head(lake) == before
    assert table_rows(lake).equals(rows)
