"""Run records stay readable across schema versions, and know what each status means."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from lakeflow.core.records import (
    RECORD_SCHEMA_VERSION,
    RowCounts,
    RunRecord,
    record_from_json,
)

RECORD = RunRecord(
    run_id="20240101T000000000Z-abcd1234",
    pipeline="users",
    status="committed",
    started_at=datetime(2024, 1, 1, tzinfo=UTC),
    finished_at=datetime(2024, 1, 1, 0, 0, 3, tzinfo=UTC),
    target="main",
    base_commit="b" * 64,
    commit="c" * 64,
    merge_commit=None,
    run_branch="lakeflow-run-users-20240101T000000000Z-abcd1234",
    source={"kind": "sql"},
    watermark=None,
    rows=RowCounts(3, 3, 3, 0, 0),
    steps={"commit": 0.1},
    attempts={"commit": 1},
    validation=None,
    quality=None,
    outputs={},
    config_sha256=None,
    lakeflow_version="1.0",
)


def test_a_version_1_record_reads_unchanged() -> None:
    """Records written before version 2 (no 'discarded' status yet) still parse."""
    data = json.loads(RECORD.dumps())
    data["schema_version"] = 1
    read = record_from_json(data)
    assert isinstance(read, RunRecord)
    assert (read.run_id, read.status, read.run_branch) == (
        RECORD.run_id,
        "committed",
        RECORD.run_branch,
    )
    assert read.schema_version == RECORD_SCHEMA_VERSION == 2


@pytest.mark.parametrize("version", [0, 3, None, True, "2"])
def test_records_of_unknown_versions_are_refused(version: object) -> None:
    """A record of a version this lakeflow does not know is refused, never misread."""
    data = json.loads(RECORD.dumps())
    data["schema_version"] = version
    with pytest.raises(ValueError, match="schema_version"):
        record_from_json(data)


def test_discarded_and_failed_runs_are_not_ok() -> None:
    """Only runs that committed or published their outputs are ok; discarded ones are not."""
    assert RECORD.ok and replace(RECORD, status="published").ok
    discarded = record_from_json(json.loads(replace(RECORD, status="discarded").dumps()))
    assert discarded.status == "discarded" and not discarded.ok
