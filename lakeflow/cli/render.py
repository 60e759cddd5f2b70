"""How records, events and scores read on a terminal.

Pure (text in, text out), except :func:`event_printer`, which prints.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from lakeflow.cli.common import Console
from lakeflow.core.records import FailureRecord, RunRecord
from lakeflow.run import RunEvent

__all__ = ["event_printer", "scores", "summary"]


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:7.2f}s"


def event_printer(console: Console) -> Callable[[RunEvent], None]:
    """A callback printing one line per finished, failed or retried step."""

    def show(event: RunEvent) -> None:
        if event.status == "start":
            return
        marker = {"ok": "ok", "failed": "FAILED", "retry": "retry"}[event.status]
        console.out(f"  {event.step:<9} {marker:<6} {_seconds(event.seconds)}  {event.detail}")

    return show


def scores(quality: Mapping[str, object] | None) -> str:
    """Pure. ``overall 0.93 (completeness 0.99, ...)`` from a record's quality metrics."""
    if not quality:
        return ""
    names = ("completeness", "accuracy", "consistency", "timeliness")
    parts = []
    for name in names:
        value = quality.get(f"{name}_score")
        if isinstance(value, int | float):
            parts.append(f"{name} {value:.2f}")
    overall = quality.get("overall_score")
    head = f"overall {overall:.2f}" if isinstance(overall, int | float) else "overall n/a"
    return f"{head} ({', '.join(parts)})"


def _watermark_text(value: object) -> str:
    if isinstance(value, Mapping):
        return str(value.get("value"))
    return "none" if value is None else str(value)


def summary(record: RunRecord | FailureRecord) -> list[str]:
    """Pure. The lines that sum a run up after it ends (or in ``lakeflow show``)."""
    rows = record.rows
    counts = (
        f"{rows.valid} valid, {rows.quarantined} quarantined of {rows.transformed} rows "
        f"({rows.extracted} extracted" + (f", {rows.loaded} loaded" if record.sinks else "") + ")"
    )
    lines: list[str] = []
    if isinstance(record, FailureRecord):
        lines.append(
            f"{record.status.upper()} at {record.failed_step}: run {record.run_id} "
            f"of {record.pipeline} in {record.duration_s:.2f}s"
        )
        lines.append(f"  error: {record.error.kind}: {record.error.message}")
        if record.run_branch:
            lines.append(f"  run branch kept: {record.run_branch} (commit {record.commit})")
        if record.merge_commit:
            lines.append(f"  published at {record.merge_commit}; reload with `lakeflow load`")
    else:
        lines.append(
            f"{record.status} run {record.run_id} of {record.pipeline} to {record.target} "
            f"in {record.duration_s:.2f}s"
        )
        where = record.merge_commit or record.commit
        lines.append(
            f"  commit {where}" + (f" on {record.run_branch}" if record.run_branch else "")
        )
    lines.append(f"  rows: {counts}")
    if record.watermark is not None:
        start = _watermark_text(record.watermark.start)
        if isinstance(record, FailureRecord) and record.merge_commit is None:
            lines.append(f"  watermark {record.watermark.column}: {start} (not advanced)")
        else:
            end = _watermark_text(record.watermark.end)
            lines.append(f"  watermark {record.watermark.column}: {start} -> {end}")
    if record.quality:
        lines.append(f"  quality: {scores(record.quality)}")
    if record.note:
        lines.append(f"  note: {record.note}")
    return lines
