"""Run records as tests need them: a published run and a failed one, with chosen fields."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from lakeflow.core.records import FailureRecord, RecordError, RowCounts, RunRecord

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def published(run_id: str = "20260301T020000000Z-aaaa0001", **changes: Any) -> RunRecord:
    """A published run of ``users`` that took 12 s: 100 read, 90 valid, 5 quarantined."""
    record = RunRecord(
        run_id=run_id,
        pipeline="users",
        status="published",
        started_at=T0,
        finished_at=T0 + timedelta(seconds=12),
        target="main",
        base_commit="b" * 64,
        commit="c" * 64,
        merge_commit="m" * 64,
        run_branch=None,
        source={"kind": "sql"},
        watermark=None,
        rows=RowCounts(extracted=100, transformed=95, valid=90, quarantined=5, loaded=90),
        steps={"resolve": 0.5, "extract": 6.0, "write": 2.0, "merge": 1.0},
        attempts={"extract": 2, "merge": 1},
        validation={
            "status": "warning",
            "rules": [
                {"name": "adult", "outcome": "failed", "failed_rows": 5},
                {"name": "unique_id", "outcome": "passed", "failed_rows": 0},
            ],
        },
        quality={"overall_score": 0.93, "completeness_score": 0.99, "accuracy_score": 0.9},
        outputs={},
        config_sha256=None,
        lakeflow_version="0.1.0",
    )
    return replace(record, **changes)


def failed(run_id: str = "20260301T030000000Z-ffff0001", **changes: Any) -> FailureRecord:
    """A run of ``users`` that failed at extract after 3 s with a connection error."""
    record = FailureRecord(
        run_id=run_id,
        pipeline="users",
        started_at=T0 + timedelta(hours=1),
        finished_at=T0 + timedelta(hours=1, seconds=3),
        target="main",
        base_commit="b" * 64,
        commit="d" * 64,
        run_branch=f"lakeflow-run-users-{run_id}",
        source={"kind": "sql"},
        watermark=None,
        rows=RowCounts(),
        steps={"resolve": 0.5, "extract": 2.5},
        attempts={"extract": 4},
        failed_step="extract",
        error=RecordError("ExtractError", "connection refused by db.internal:5432", True),
        lakeflow_version="0.1.0",
    )
    return replace(record, **changes)
