"""run(): the write-audit-publish transaction on a real LocalLake."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import cast

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from returns.result import Failure, Result, Success

from lakeflow.adapters.frame_source import FrameSource
from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.core.errors import ExtractError, LakeError, StageFailed
from lakeflow.core.incremental import IncrementalSpec
from lakeflow.core.records import FailureRecord, RunRecord, record_from_json
from lakeflow.core.secrets import Secret
from lakeflow.core.stage import stage
from lakeflow.core.transform import clean
from lakeflow.core.validate import Checks
from lakeflow.lakes import LakeHandle
from lakeflow.ports import Lake
from lakeflow.run import HISTORY_BRANCH, Pipeline, RetryPolicy, RunEvent, run, runs, show_run
from lakeflow.testing.sources import counting_source
from tests.e2e.lakes import (
    FailingSource,
    FaultyLake,
    FlakySource,
    head,
    new_lake,
    paths,
    published,
)

FAST = RetryPolicy(max_retries=3, timeout_seconds=30, initial_backoff_s=0.001, max_backoff_s=0.01)
INCREMENTAL = IncrementalSpec("ts", ("id",))


def users(ids: range, ts: int = 1) -> pl.DataFrame:
    """Rows with an id, an age (every fifth one under 18) and a timestamp."""
    return pl.DataFrame(
        {"id": list(ids), "age": [15 if i % 5 == 0 else 30 for i in ids], "ts": [ts] * len(ids)}
    )


def adult_checks(max_invalid: float = 0.5) -> Checks:
    return Checks.from_config(
        {
            "schema": {"properties": {"age": {"type": "integer", "minimum": 18}}},
            "max_invalid_fraction": max_invalid,
        }
    ).unwrap()


def ok(outcome: Result[RunRecord, FailureRecord]) -> RunRecord:
    assert isinstance(outcome, Success), outcome.failure().dumps()
    record: RunRecord = outcome.unwrap()
    return record


def failed(outcome: Result[RunRecord, FailureRecord]) -> FailureRecord:
    assert isinstance(outcome, Failure), outcome.unwrap().dumps()
    record: FailureRecord = outcome.failure()
    return record


def test_a_run_publishes_its_outputs_in_one_merge_and_deletes_its_branch(tmp_path: Path) -> None:
    """Valid rows, raw rows, quarantine, report, record and checkpoint land on main together."""
    lake = new_lake(tmp_path)
    base = head(lake)
    pipeline = Pipeline("users", users(range(1, 11)), checks=adult_checks())
    record = ok(run(pipeline, lake))

    assert record.status == "published"
    assert record.base_commit == base
    assert (record.rows.extracted, record.rows.valid, record.rows.quarantined) == (10, 8, 2)
    merge = LakeHandle(lake).log("main")[0]
    assert merge.id == record.merge_commit == head(lake)
    assert merge.parents == (base, record.commit)
    assert sorted(paths(lake)) == sorted(record.outputs.values())
    assert published(lake, "validated_data/users")["age"].min() == 30
    quarantine = LakeHandle(lake).scan(record.outputs["quarantine"]).collect()
    assert quarantine["id"].sort().to_list() == [5, 10]
    assert quarantine["_lakeflow_failed_rules"].to_list() == [["schema:age:minimum"]] * 2
    assert LakeHandle(lake).scan(record.outputs["raw"]).collect().height == 10
    assert all(b.name != record.run_branch for b in LakeHandle(lake).branches())
    assert record.run_branch is None
    committed = record_from_json(
        json.loads(unwrap_io(lake.get_bytes(record.outputs["record"], ref="main")).unwrap())
    )
    assert committed.run_id == record.run_id
    assert committed.status == "committed"


def test_the_run_record_is_versioned_json_with_every_required_field(tmp_path: Path) -> None:
    """The record round-trips through JSON and carries the fields operators rely on."""
    lake = new_lake(tmp_path)
    pipeline = Pipeline(
        "users",
        FrameSource(users(range(1, 6)), incremental=INCREMENTAL),
        checks=adult_checks(),
        config_sha256="abc123",
    )
    record = ok(run(pipeline, lake))
    data = json.loads(record.dumps())
    for key in (
        "schema_version", "run_id", "pipeline", "status", "started_at", "finished_at",
        "duration_s", "target", "base_commit", "commit", "merge_commit", "run_branch", "source",
        "watermark", "rows", "steps", "validation", "quality", "outputs", "config_sha256",
        "lakeflow_version", "attempts",
    ):  # fmt: skip
        assert key in data, key
    assert data["schema_version"] == 2
    assert set(data["rows"]) == {"extracted", "transformed", "valid", "quarantined", "loaded"}
    assert data["watermark"]["column"] == "ts"
    assert data["watermark"]["from"] is None
    assert data["watermark"]["to"] == {"type": "int", "value": 1}
    assert data["config_sha256"] == "abc123"
    assert set(data["steps"]) >= {"resolve", "extract", "transform", "validate", "write", "merge"}
    assert record_from_json(data) == record


def test_a_rerun_without_new_input_publishes_no_rows_and_says_so(tmp_path: Path) -> None:
    """The checkpoint makes a second run of the same input publish nothing new."""
    lake = new_lake(tmp_path)
    source = FrameSource(users(range(1, 6)), incremental=INCREMENTAL)
    pipeline = Pipeline("users", source)
    ok(run(pipeline, lake))
    again = ok(run(pipeline, lake))
    assert again.rows.extracted == 0
    assert again.rows.valid == 0
    assert "no new input" in again.note
    assert published(lake, "validated_data/users").height == 5


def test_rows_tied_with_the_watermark_arriving_later_are_published_once(tmp_path: Path) -> None:
    """A late row with the same timestamp as the watermark is neither lost nor duplicated."""
    lake = new_lake(tmp_path)
    first = users(range(1, 4), ts=7)
    ok(run(Pipeline("users", FrameSource(first, incremental=INCREMENTAL)), lake))
    late = pl.concat([first, users(range(4, 6), ts=7), users(range(6, 7), ts=8)])
    record = ok(run(Pipeline("users", FrameSource(late, incremental=INCREMENTAL)), lake))
    assert record.rows.extracted == 3
    ids = published(lake, "validated_data/users")["id"].sort().to_list()
    assert ids == [1, 2, 3, 4, 5, 6]


def test_overwrite_mode_replaces_the_dataset_folder(tmp_path: Path) -> None:
    """mode=overwrite publishes only the latest run's rows."""
    lake = new_lake(tmp_path)
    ok(run(Pipeline("users", users(range(1, 6)), mode="overwrite"), lake))
    ok(run(Pipeline("users", users(range(10, 13)), mode="overwrite"), lake))
    assert published(lake, "validated_data/users")["id"].sort().to_list() == [10, 11, 12]


def _assert_kept_failure(lake: Lake, record: FailureRecord, base: str) -> None:
    assert head(lake) == base, "the target must be untouched"
    assert record.run_branch is not None
    assert record.commit is not None
    kept = unwrap_io(lake.get_bytes(record.outputs["record"], ref=record.run_branch)).unwrap()
    on_branch = record_from_json(json.loads(kept))
    assert isinstance(on_branch, FailureRecord)
    assert on_branch.failed_step == record.failed_step
    assert unwrap_io(lake.resolve(record.run_branch)).unwrap() == record.commit
    assert runs(lake, record.pipeline)[0].run_id == record.run_id


def test_an_extract_failure_keeps_a_failure_record_and_leaves_the_target(tmp_path: Path) -> None:
    """A permanent extract error is recorded on the kept run branch; nothing is published."""
    lake = new_lake(tmp_path)
    base = head(lake)
    source = FailingSource(ExtractError("db", "relation users does not exist"))
    record = failed(run(Pipeline("users", source, retry=FAST), lake))
    assert record.failed_step == "extract"
    assert record.error.kind == "extract"
    assert not record.error.retryable
    assert source.calls == 1, "permanent errors are never retried"
    _assert_kept_failure(lake, record, base)


def test_transient_extract_errors_are_retried_and_counted(tmp_path: Path) -> None:
    """Two connection resets then success: the run publishes and records three attempts."""
    lake = new_lake(tmp_path)
    source = FlakySource(users(range(1, 4)), failures=2)
    record = ok(run(Pipeline("users", source, retry=FAST), lake))
    assert record.attempts["extract"] == 3
    assert source.calls == 3


def test_retries_stop_at_max_retries(tmp_path: Path) -> None:
    """A source that never recovers is tried max_retries + 1 times, then the run fails."""
    lake = new_lake(tmp_path)
    source = FlakySource(users(range(1, 4)), failures=100)
    record = failed(run(Pipeline("users", source, retry=FAST), lake))
    assert record.attempts["extract"] == FAST.max_retries + 1
    assert record.error.retryable


def test_a_transform_failure_at_execution_is_a_failure_record(tmp_path: Path) -> None:
    """A strict conversion that meets bad values fails the run at the transform step."""
    lake = new_lake(tmp_path)
    base = head(lake)
    frame = pl.DataFrame({"id": [1, 2], "age": ["31", "thirty"]})
    pipeline = Pipeline("users", frame, transform=clean(type_conversions={"age": "int"}))
    record = failed(run(pipeline, lake))
    assert record.failed_step == "transform"
    assert record.error.kind == "conversion_failed"
    assert "thirty" in record.error.message
    _assert_kept_failure(lake, record, base)


def test_a_validation_failure_keeps_the_quarantine_on_the_run_branch(tmp_path: Path) -> None:
    """Too many invalid rows: the quarantined rows are committed on the kept branch."""
    lake = new_lake(tmp_path)
    base = head(lake)
    pipeline = Pipeline("users", users(range(1, 11)), checks=adult_checks(max_invalid=0.1))
    record = failed(run(pipeline, lake))
    assert record.failed_step == "validate"
    assert record.error.kind == "validation_failed"
    assert record.rows.quarantined == 2
    assert record.run_branch is not None
    kept = LakeHandle(lake).scan(record.outputs["quarantine"], ref=record.run_branch).collect()
    assert kept["id"].sort().to_list() == [5, 10]
    _assert_kept_failure(lake, record, base)


@pytest.mark.parametrize(
    ("operation", "step"),
    [("put_file", "write"), ("put_bytes", "write"), ("commit", "commit"), ("merge", "merge")],
)
def test_lake_failures_at_each_step_leave_the_target_untouched(
    tmp_path: Path, operation: str, step: str
) -> None:
    """A permanent lake error while writing, committing or merging fails that step cleanly."""
    local = new_lake(tmp_path)
    base = head(local)
    lake = FaultyLake(local)
    lake.fail[operation] = (1, LakeError(operation, "403 Forbidden", "auth"))
    record = failed(run(Pipeline("users", users(range(1, 6)), retry=FAST), cast(Lake, lake)))
    assert record.failed_step == step
    assert record.error.code == "auth"
    if step in ("commit", "merge"):
        assert record.attempts[step] == 1, "auth errors are not retried"
    _assert_kept_failure(local, record, base)


def test_a_user_stage_bug_raises_instead_of_becoming_a_record(tmp_path: Path) -> None:
    """Programmer errors still raise."""

    @stage
    def broken(frame: pl.LazyFrame) -> pl.LazyFrame:
        raise ZeroDivisionError("bug in user code")

    lake = new_lake(tmp_path)
    with pytest.raises(ZeroDivisionError):
        run(Pipeline("users", users(range(1, 3)), transform=broken), lake)


def test_two_runs_from_one_base_conflict_and_exactly_one_publishes(tmp_path: Path) -> None:
    """A run that loses the merge race fails with a conflict; nothing is published twice."""
    local = new_lake(tmp_path)
    lake = FaultyLake(local)
    source = FrameSource(users(range(1, 6)), incremental=INCREMENTAL)
    pipeline = Pipeline("users", source, retry=FAST)
    rival: list[RunRecord] = []
    lake.before["merge"] = lambda: rival.append(ok(run(pipeline, local))) if not rival else None
    loser = failed(run(pipeline, cast(Lake, lake)))
    assert loser.failed_step == "merge"
    assert loser.error.code == "conflict"
    assert head(local) == rival[0].merge_commit
    assert published(local, "validated_data/users")["id"].sort().to_list() == [1, 2, 3, 4, 5]


def test_retry_on_conflict_replans_from_the_new_base(tmp_path: Path) -> None:
    """With retry_on_conflict the loser re-reads the checkpoint and publishes only new rows."""
    local = new_lake(tmp_path)
    lake = FaultyLake(local)
    rows = users(range(1, 6))
    policy = RetryPolicy(retry_on_conflict=1, initial_backoff_s=0.001, max_backoff_s=0.01)
    pipeline = Pipeline("users", FrameSource(rows, incremental=INCREMENTAL), retry=policy)
    rival: list[RunRecord] = []
    lake.before["merge"] = lambda: rival.append(ok(run(pipeline, local))) if not rival else None
    record = ok(run(pipeline, cast(Lake, lake)))
    assert record.attempts["merge"] == 2
    assert record.rows.extracted == 0
    assert published(local, "validated_data/users")["id"].sort().to_list() == [1, 2, 3, 4, 5]


def test_run_history_lists_every_run_newest_first(tmp_path: Path) -> None:
    """Published and failed runs are both in the history, without scanning branches."""
    lake = new_lake(tmp_path)
    good = ok(run(Pipeline("users", users(range(1, 3))), lake))
    bad = failed(
        run(Pipeline("users", FailingSource(ExtractError("db", "down")), retry=FAST), lake)
    )
    other = ok(run(Pipeline("orders", users(range(1, 3))), lake))
    assert [r.run_id for r in runs(lake, "users")] == [bad.run_id, good.run_id]
    assert {r.run_id for r in runs(lake)} == {good.run_id, bad.run_id, other.run_id}
    assert show_run(lake, bad.run_id).status == "failed"
    assert HISTORY_BRANCH in {b.name for b in LakeHandle(lake).branches()}


def test_secrets_never_reach_records_or_events(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A secret inside an error message is scrubbed from the record, history, events and logs."""
    caplog.set_level(logging.DEBUG, logger="lakeflow")
    lake = new_lake(tmp_path)
    secret = "s3cr3t-Pa55"
    source = FailingSource(ExtractError("db", f"auth failed for postgresql://etl:{secret}@db/x"))
    events: list[RunEvent] = []
    pipeline = Pipeline("users", source, retry=FAST, secrets=(Secret(secret),))
    record = failed(run(pipeline, lake, on_event=events.append))
    assert secret not in record.dumps()
    assert all(secret not in e.detail for e in events)
    history = unwrap_io(
        lake.get_bytes(f"_lakeflow/runs/users/{record.run_id}.json", ref=HISTORY_BRANCH)
    )
    assert secret.encode() not in history.unwrap()
    assert record.run_branch is not None
    kept = unwrap_io(lake.get_bytes(record.outputs["record"], ref=record.run_branch)).unwrap()
    assert b"auth failed" in kept
    assert secret.encode() not in kept
    assert "auth failed" in caplog.text, "the failure is logged"
    assert secret not in caplog.text


def test_no_merge_commits_on_the_kept_run_branch_only(tmp_path: Path) -> None:
    """merge=False leaves main untouched and the committed outputs on the run branch."""
    lake = new_lake(tmp_path)
    base = head(lake)
    record = ok(run(Pipeline("users", users(range(1, 4))), lake, merge=False))
    assert record.status == "committed"
    assert head(lake) == base
    assert record.run_branch is not None
    assert published(lake, "validated_data/users", ref=record.run_branch).height == 3


def test_execution_reads_the_source_once(tmp_path: Path) -> None:
    """Raw copy, valid rows, quarantine, counts and watermark come from one source read."""
    data = users(range(1, 101))
    frame, reads = counting_source(data)
    lake = new_lake(tmp_path)
    pipeline = Pipeline(
        "users", FrameSource(frame, incremental=INCREMENTAL), checks=adult_checks(), keep_raw=True
    )
    record = ok(run(pipeline, lake))
    assert record.rows.extracted == 100
    assert reads == [1]


def test_user_stages_compose_into_the_run(tmp_path: Path) -> None:
    """A pipeline's transform is an ordinary composed stage."""
    lake = new_lake(tmp_path)

    @stage
    def double(frame: pl.LazyFrame) -> pl.LazyFrame:
        return frame.with_columns(pl.col("age") * 2)

    ok(run(Pipeline("users", users(range(1, 4)), transform=double >> double), lake))
    ages = published(lake, "validated_data/users").sort("id")["age"]
    assert_frame_equal(ages.to_frame(), pl.DataFrame({"age": [120, 120, 120]}))


def test_a_failing_stage_value_is_recorded_with_its_message(tmp_path: Path) -> None:
    """A stage returning Failure stops the run at transform with that error."""
    lake = new_lake(tmp_path)
    refuse = stage(lambda f: Failure(StageFailed("refuse", "not today")), name="refuse")
    record = failed(run(Pipeline("users", users(range(1, 3)), transform=refuse), lake))
    assert record.failed_step == "transform"
    assert record.error.message == "stage 'refuse' failed: not today"


def test_a_local_parquet_path_is_a_source(tmp_path: Path) -> None:
    """Pipeline(source="file.parquet") reads the file (a CSV path works the same way)."""
    lake = new_lake(tmp_path / "lake")
    users(range(1, 4)).write_parquet(tmp_path / "users.parquet")
    users(range(4, 6)).write_csv(tmp_path / "more.csv")
    ok(run(Pipeline("users", str(tmp_path / "users.parquet")), lake))
    ok(run(Pipeline("more", tmp_path / "more.csv", load_path="validated_data/users"), lake))
    assert published(lake, "validated_data/users")["id"].sort().to_list() == [1, 2, 3, 4, 5]


def test_references_to_a_lake_dataset_are_read_at_the_base_commit(tmp_path: Path) -> None:
    """`references: {dataset: ...}` checks rows against a dataset published in the lake."""
    lake = new_lake(tmp_path)
    countries = pl.DataFrame({"code": ["US", "DE"]})
    ok(run(Pipeline("countries", countries, load_path="reference/countries"), lake))
    frame = pl.DataFrame({"id": [1, 2, 3], "country": ["US", "XX", "DE"]})
    checks = Checks.from_config(
        {
            "references": {"country": {"dataset": "reference/countries", "key": "code"}},
            "max_invalid_fraction": 0.5,
        }
    ).unwrap()
    record = ok(run(Pipeline("users", frame, checks=checks), lake))
    assert record.rows.quarantined == 1
    quarantined = LakeHandle(lake).scan(record.outputs["quarantine"]).collect()
    assert quarantined["country"].to_list() == ["XX"]
    assert quarantined["_lakeflow_failed_rules"].to_list() == [["references:country"]]


def test_a_missing_reference_dataset_fails_the_validate_step(tmp_path: Path) -> None:
    """A reference dataset that is not in the lake is a clear failure, not an empty set."""
    lake = new_lake(tmp_path)
    checks = Checks.from_config(
        {"references": {"country": {"dataset": "reference/nowhere", "key": "code"}}}
    ).unwrap()
    frame = pl.DataFrame({"id": [1], "country": ["US"]})
    record = failed(run(Pipeline("users", frame, checks=checks), lake))
    assert record.failed_step == "validate"
    assert "reference/nowhere" in record.error.message
