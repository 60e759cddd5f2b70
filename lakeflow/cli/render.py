"""How records, events and scores read on a terminal.

Pure (text in, text out), except :class:`StepDisplay`, which prints.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Console as RichConsole
from rich.status import Status

from lakeflow.cli.common import Console
from lakeflow.core.records import FailureRecord, RunRecord
from lakeflow.run import RunEvent

__all__ = ["StepDisplay", "monitoring_lines", "scores", "summary", "table_lines"]


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:7.2f}s"


class StepDisplay:
    """Effect. Shows a run's steps: a line per finished, failed or retried step, and on a
    terminal a live status line (spinner, step, rows so far) on stderr while a step runs.

    Use as a context manager; its instance is the run's ``on_event`` callback.
    """

    def __init__(self, console: Console, *, live: bool) -> None:
        self.console = console
        self._status: Status | None = None
        if live:
            terminal = RichConsole(stderr=True, highlight=False)
            self._status = terminal.status("", spinner="dots")

    def __enter__(self) -> StepDisplay:
        return self

    def __exit__(self, *_: object) -> None:
        if self._status is not None:
            self._status.stop()

    def __call__(self, event: RunEvent) -> None:
        if event.status in ("start", "progress"):
            if self._status is not None:
                rows = f" — {event.rows:,} rows so far" if event.rows is not None else ""
                self._status.update(self.console.scrub(f"{event.step} ...{rows}"))
                self._status.start()
            return
        if self._status is not None:
            self._status.stop()
        marker = {"ok": "ok", "failed": "FAILED", "retry": "retry"}[event.status]
        self.console.out(f"  {event.step:<9} {marker:<6} {_seconds(event.seconds)}  {event.detail}")


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
        if record.status == "committed":
            lines.append(
                f"  audit it, then `lakeflow publish CONFIG {record.run_id}` (or `lakeflow "
                f"discard CONFIG {record.run_id}`)"
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
    lines.extend(monitoring_lines(record))
    return lines


def monitoring_lines(record: RunRecord | FailureRecord) -> list[str]:
    """Pure. The SLA breaches of a run and what became of its alerts and metrics."""
    lines = [f"  SLA breach ({b.check}): {b.message}" for b in record.sla or ()]
    for delivery in record.deliveries:
        if delivery.ok:
            lines.append(f"  {delivery.channel}: sent")
        else:
            tries = f"{delivery.attempts} attempt(s)" if delivery.attempts else "no attempt done"
            lines.append(f"  {delivery.channel}: NOT sent ({tries}): {delivery.error}")
    return lines


def table_lines(table: Mapping[str, object] | None) -> list[str]:
    """Pure. The published dataset a run left (``lakeflow show``): format, version, schema."""
    if not table:
        return []
    version = f" version {table['version']}" if table.get("version") is not None else ""
    lines = [f"  published {table.get('format', '?')} dataset {table.get('path', '')}{version}"]
    if table.get("change"):
        lines.append(f"    schema change: {table['change']}")
    schema = table.get("schema")
    if isinstance(schema, Mapping):
        lines.append("    schema:")
        lines.extend(f"      {name:<24} {dtype}" for name, dtype in schema.items())
    return lines
