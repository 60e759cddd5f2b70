"""Backfill, reset, initial watermarks, quarantine views, optimize and published-scope checks,
on both lakes."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest
from returns.result import Success

from lakeflow.adapters.frame_source import FrameSource
from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.core.errors import LakeflowError
from lakeflow.core.incremental import IncrementalSpec
from lakeflow.core.table import TableOptions
from lakeflow.core.validate import QUARANTINE_REASONS, Checks, DatasetRef
from lakeflow.run import (
    Pipeline,
    backfill,
    optimize_table,
    quarantined,
    reset_watermark,
    run,
    runs,
)
from lakeflow.run.quarantine import reasons
from tests.tables.helpers import (
    TABLE,
    LakeFactory,
    events,
    head,
    lake_paths,
    merge_pipeline,
    ok,
    table_rows,
)


def _checkpoint_value(lake: object, pipeline: str = "users") -> object:
    import json

    from lakeflow.ports import Lake

    assert isinstance(lake, Lake)
    raw = unwrap_io(lake.get_bytes(f"_lakeflow/checkpoints/{pipeline}.json", ref="main")).unwrap()
    mark = json.loads(raw)["watermark"]
    return None if mark is None else mark["value"]["value"]


# -- backfill ---------------------------------------------------------------------------------


def test_backfill_republishes_a_window_once_and_keeps_the_checkpoint(
    lake_factory: LakeFactory,
) -> None:
    """After a source fix, a backfill of ts 2..3 updates those rows once; the watermark stays."""
    lake = lake_factory()
    log = [(1, 1, 1, False), (2, 2, 2, False), (3, 3, 3, False), (4, 4, 4, False)]
    ok(run(merge_pipeline(events(log)), lake))
    assert _checkpoint_value(lake) == 4
    fixed = events(log).with_columns(v=pl.col("v") * 10)
    record = ok(backfill(merge_pipeline(fixed), lake, "2", "3"))
    assert record.rows.valid == 2
    assert record.source["backfill"] == {"column": "ts", "from": 2, "to": 3}
    assert dict(zip(*table_rows(lake).select("id", "v"), strict=True)) == {1: 1, 2: 20, 3: 30, 4: 4}
    assert _checkpoint_value(lake) == 4, "the watermark never moves"
    again = ok(backfill(merge_pipeline(fixed), lake, "2", "3"))
    assert again.table is not None
    assert table_rows(lake).height == 4, "a second backfill duplicates nothing"
    ok(run(merge_pipeline(fixed), lake))
    assert table_rows(lake).height == 4


def test_backfill_refuses_an_append_dataset() -> None:
    """Re-extracting into an append dataset would publish rows twice: refused up front."""
    pipeline = Pipeline(
        "users", FrameSource(events([]), incremental=IncrementalSpec("ts", ("seq",)))
    )
    with pytest.raises(LakeflowError, match="publish them twice"):
        backfill(pipeline, object(), "1", "2")  # type: ignore[arg-type]


def test_backfill_refuses_bounds_that_are_not_values_of_the_column(
    lake_factory: LakeFactory,
) -> None:
    """A bound that does not convert to the column's type, or an empty window, is refused."""
    lake = lake_factory()
    with pytest.raises(LakeflowError, match="not a number"):
        backfill(merge_pipeline(events([(1, 1, 1, False)])), lake, "soon", "3")
    with pytest.raises(LakeflowError, match="empty"):
        backfill(merge_pipeline(events([(1, 1, 1, False)])), lake, "5", "3")


# -- reset and initial --------------------------------------------------------------------------


def test_reset_sets_the_watermark_in_a_commit_of_its_own_and_revert_undoes_it(
    lake_factory: LakeFactory,
) -> None:
    """reset --to 2 makes the next run read from 2; reverting its merge restores the watermark."""
    lake = lake_factory()
    log = [(1, 1, 1, False), (2, 2, 2, False), (3, 3, 3, False)]
    ok(run(merge_pipeline(events(log)), lake))
    before = head(lake)
    record = ok(reset_watermark(merge_pipeline(events(log)), lake, "2"))
    assert record.merge_commit == head(lake) != before
    assert _checkpoint_value(lake) == 2
    assert "revert" in record.note
    assert next(r.run_id for r in runs(lake, "users")) == record.run_id, "in the history"
    reverted = unwrap_io(lake.revert("main", record.merge_commit or "", parent_number=1))
    assert isinstance(reverted, Success), reverted
    assert _checkpoint_value(lake) == 3
    ok(reset_watermark(merge_pipeline(events(log)), lake, "2"))
    again = ok(run(merge_pipeline(events(log)), lake))
    assert again.rows.extracted == 2, "rows at or after 2 are read again"
    assert table_rows(lake).height == 3, "and merged again, not duplicated"


def test_reset_without_a_value_starts_over(lake_factory: LakeFactory) -> None:
    """reset with no --to clears the watermark: the next run reads every row again."""
    lake = lake_factory()
    log = [(1, 1, 1, False), (2, 2, 2, False)]
    ok(run(merge_pipeline(events(log)), lake))
    ok(reset_watermark(merge_pipeline(events(log)), lake))
    assert _checkpoint_value(lake) is None
    assert ok(run(merge_pipeline(events(log)), lake)).rows.extracted == 2
    assert table_rows(lake).height == 2


def test_an_initial_watermark_starts_the_first_run_there(lake_factory: LakeFactory) -> None:
    """incremental.initial: the first run reads rows at or after it only."""
    lake = lake_factory()
    log = events([(1, 1, 1, False), (2, 2, 2, False), (3, 3, 3, False)])
    pipeline = merge_pipeline(log)
    started = replace(
        pipeline, source=FrameSource(log, incremental=IncrementalSpec("ts", ("seq",), 2))
    )
    record = ok(run(started, lake))
    assert record.rows.extracted == 2
    assert table_rows(lake)["id"].to_list() == [2, 3]


# -- quarantine -----------------------------------------------------------------------------------


def test_quarantine_returns_a_runs_rows_with_their_reasons(lake_factory: LakeFactory) -> None:
    """The newest run that quarantined rows, as a LazyFrame, grouped by rule with counts."""
    lake = lake_factory()
    log = [(1, 1, -1, False), (2, 2, 2, False), (3, 3, -5, False)]
    record = ok(run(merge_pipeline(events(log)), lake))
    rows = quarantined(lake, "users")
    assert isinstance(rows, pl.LazyFrame)
    collected = rows.collect().sort("id")
    assert collected["id"].to_list() == [1, 3]
    assert collected[QUARANTINE_REASONS].to_list() == [["non_negative"], ["non_negative"]]
    assert reasons(rows).collect().rows() == [("non_negative", 2)]
    assert quarantined(lake, "users", record.run_id).collect().height == 2


# -- optimize -------------------------------------------------------------------------------


def test_optimize_compacts_and_vacuums_without_changing_rows(lake_factory: LakeFactory) -> None:
    """Many small runs become one file; replaced files leave main's head but not its history."""
    lake = lake_factory()
    log: list[tuple[int, int, int, bool]] = []
    for seq in range(1, 6):
        log.append((seq, seq % 3, seq, False))
        ok(run(merge_pipeline(events(log)), lake))
    rows = table_rows(lake)
    before = head(lake)
    files_before = [p for p in lake_paths(lake, TABLE + "/") if p.endswith(".parquet")]
    record = ok(optimize_table(merge_pipeline(events(log)), lake, retention_hours=0))
    assert record.table is not None and record.table["live_files"] == 1
    assert table_rows(lake).equals(rows)
    files_after = [p for p in lake_paths(lake, TABLE + "/") if p.endswith(".parquet")]
    assert len(files_after) == 1 and len(files_before) > 1
    old = lake_paths(lake, TABLE + "/", ref=before)
    assert set(files_before) <= set(old), "older commits still hold the vacuumed files"
    assert table_rows(lake, ref=before).equals(rows)


def test_optimize_refuses_a_parquet_dataset() -> None:
    """optimize works on Delta tables; a parquet dataset is refused up front."""
    with pytest.raises(LakeflowError, match="parquet dataset"):
        optimize_table(Pipeline("users", FrameSource(events([]))), object())  # type: ignore[arg-type]


# -- checks against what is published ---------------------------------------------------------


def _append(rows: pl.DataFrame, checks: Checks) -> Pipeline:
    return Pipeline("users", FrameSource(rows), checks=checks, load_path=TABLE, keep_raw=False)


def test_unique_keys_already_published_are_quarantined_in_append_mode(
    lake_factory: LakeFactory,
) -> None:
    """An append run whose key is already on main quarantines it as unique:<key>:published."""
    lake = lake_factory()
    checks = Checks(unique=["id"], max_invalid_fraction=1.0)
    ok(run(_append(pl.DataFrame({"id": [1, 2], "v": [1, 2]}), checks), lake))
    record = ok(run(_append(pl.DataFrame({"id": [2, 3], "v": [9, 3]}), checks), lake))
    assert record.rows.valid == 1 and record.rows.quarantined == 1
    rows = quarantined(lake, "users").collect()
    assert rows["id"].to_list() == [2]
    assert rows[QUARANTINE_REASONS].to_list() == [["unique:id:published"]]
    assert sorted(table_rows(lake)["id"].to_list()) == [1, 2, 3]
    scoped = Checks(unique=["id"], unique_scopes={"id": "run"}, max_invalid_fraction=1.0)
    again = ok(run(_append(pl.DataFrame({"id": [3], "v": [4]}), scoped), lake))
    assert again.rows.valid == 1, "scope: run checks the run's rows only"


def test_a_published_key_is_an_update_in_merge_mode_and_other_keys_are_checked(
    lake_factory: LakeFactory,
) -> None:
    """In merge mode unique:[id] never flags an update; unique:[email] flags an email another
    published (and not replaced) id holds."""
    lake = lake_factory()
    checks = Checks(unique=["id", "email"], max_invalid_fraction=1.0)

    def pipeline(rows: pl.DataFrame) -> Pipeline:
        return Pipeline(
            "users",
            FrameSource(rows),
            checks=checks,
            load_path=TABLE,
            mode="merge",
            table=TableOptions(keys=("id",)),
            keep_raw=False,
        )

    ok(run(pipeline(pl.DataFrame({"id": [1, 2], "email": ["a@x", "b@x"]})), lake))
    record = ok(run(pipeline(pl.DataFrame({"id": [1, 3], "email": ["a@x", "b@x"]})), lake))
    assert record.rows.valid == 1 and record.rows.quarantined == 1
    reasons_seen = quarantined(lake, "users").collect()[QUARANTINE_REASONS].to_list()
    assert reasons_seen == [["unique:email:published"]]
    swap = pl.DataFrame({"id": [1, 2], "email": ["b@x", "a@x"]})
    assert ok(run(pipeline(swap), lake)).rows.valid == 2, "both rows are replaced at once"


def test_references_to_a_delta_table_read_its_live_rows_at_the_base(
    lake_factory: LakeFactory,
) -> None:
    """A dataset reference to a merged table sees its current rows, not replaced files."""
    lake = lake_factory()
    ok(run(merge_pipeline(events([(1, 1, 1, False), (2, 2, 2, False)])), lake))
    ok(run(merge_pipeline(events([(1, 1, 1, False), (2, 2, 2, False), (3, 2, 0, True)])), lake))
    checks = Checks(references={"user": DatasetRef(TABLE, "id")}, max_invalid_fraction=1.0)
    orders = pl.DataFrame({"order": [10, 11], "user": [1, 2]})
    referencing = Pipeline(
        "orders", FrameSource(orders), checks=checks, load_path="validated_data/orders"
    )
    record = ok(run(referencing, lake))
    assert record.rows.valid == 1, "user 2 was deleted from the table"
