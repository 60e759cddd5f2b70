"""The report computed from run records (pure), and the notebook tables (_repr_html_)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from lakeflow.core.records import FailureRecord, RowCounts, RunRecord, SlaBreach
from lakeflow.core.report import build_report, parse_since
from lakeflow.core.validate.report import RuleResult, ValidationReport
from tests.sample_records import T0, failed, published

NOW = T0 + timedelta(days=2)


def test_report_numbers_from_a_mixed_history() -> None:
    """Counts, rates, durations, rows, breaches and failed rules follow the definitions."""
    slow = SlaBreach("max_duration_s", 10, 12, "slow")
    records: list[RunRecord | FailureRecord] = [
        published("r1", sla=(slow,)),  # 12 s
        published(
            "r2", started_at=T0 + timedelta(hours=2), finished_at=T0 + timedelta(hours=2, seconds=2)
        ),
        failed("r3"),  # 3 s
        published("old", started_at=T0 - timedelta(days=30), finished_at=T0 - timedelta(days=30)),
        published("other", pipeline="orders"),
    ]
    report = build_report(records, pipeline="users", since=T0 - timedelta(days=1), now=NOW)
    assert [r.run_id for r in report.runs] == ["r1", "r3", "r2"]  # oldest first
    assert (report.total, report.succeeded, report.failed) == (3, 2, 1)
    assert report.success_rate == 2 / 3
    assert report.average_duration_s == (12 + 3 + 2) / 3
    assert report.p95_duration_s == 12
    assert report.rows() == {"extracted": 200, "valid": 180, "quarantined": 10, "loaded": 180}
    assert report.quarantine_rate == 10 / 190
    assert report.sla_by_check == (("max_duration_s", 1),)
    assert report.failed_rules == (("adult", 2, 10),)
    text = report.text()
    assert "- Total runs: 3" in text and "- Success rate: 66.67%" in text
    assert "adult" in text and "r3" in text


@given(st.lists(st.floats(0, 10**5, allow_nan=False), min_size=1, max_size=60))
def test_p95_is_a_duration_that_covers_95_percent(durations: list[float]) -> None:
    """Nearest rank: p95 is one of the durations and at least 95% of runs are at or below it."""
    records = [
        published(f"r{i}", finished_at=T0 + timedelta(seconds=d)) for i, d in enumerate(durations)
    ]
    report = build_report(records, pipeline="users", since=T0, now=NOW)
    p95 = report.p95_duration_s
    assert p95 is not None
    got = [r.duration_s for r in report.runs]
    assert p95 in got
    assert sum(1 for d in got if d <= p95) >= 0.95 * len(got)


def test_an_empty_window_has_no_rates() -> None:
    """No runs: rates and durations are n/a, not zero."""
    report = build_report([], pipeline="users", since=T0, now=NOW)
    assert report.success_rate is None and report.p95_duration_s is None
    assert "Success rate: n/a" in report.text()


def test_since_parses_durations() -> None:
    """30m, 24h, 7d and 2w are windows; anything else is not."""
    assert parse_since("30m") == timedelta(minutes=30)
    assert parse_since("2w") == timedelta(weeks=2)
    assert parse_since("0d") is None and parse_since("yesterday") is None


def test_notebooks_show_tables() -> None:
    """Records, validation reports and reports render as HTML tables, escaped."""
    record = failed(error=failed().error.__class__("E", "<b>boom</b>", False))
    shown = record._repr_html_()
    assert "<table" in shown and "extract" in shown and "&lt;b&gt;boom&lt;/b&gt;" in shown
    ok = published(rows=RowCounts(3, 3, 2, 1, 0), sla=(SlaBreach("max_errors", 0, 1, "1 error"),))
    assert "SLA breaches" in ok._repr_html_() and "1 error" in ok._repr_html_()
    validation = ValidationReport(
        status="warning",
        rows=3,
        invalid_rows=1,
        warning_rows=0,
        max_invalid_fraction=0.5,
        enforce=True,
        rules=(RuleResult("adult", "rule", "row", "error", "failed", 1, ("15",), "age < 18"),),
    )
    assert "<td" in validation._repr_html_() and "adult" in validation._repr_html_()
    report = build_report([ok], pipeline="users", since=T0, now=NOW)
    assert "Runs (newest first)" in report._repr_html_()
