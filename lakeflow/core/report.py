"""The pipeline report: what the run history says about a window of time.

Pure (the caller passes ``now`` and the records read from the history). :func:`build_report`
computes runs, success rate, average and p95 duration, rows, quarantine rate, SLA breaches,
the most frequent failed rules (and the quarantine reasons, in rows) and a per-run table.
:class:`Report` shows itself as text (the CLI and the tutorial's daily email), JSON, an HTML
table in a notebook (``_repr_html_``) and an email :class:`~lakeflow.core.alerts.Message`.

Definitions. A run *succeeded* when it published (or committed with ``--no-merge``);
``failed`` and ``published_not_loaded`` runs did not. *p95 duration* is the nearest-rank 95th
percentile of the runs' durations. The *quarantine rate* is quarantined rows over validated
(transformed) rows of all runs. A failed rule counts once per run it failed in; its rows are
the rows it sent to quarantine.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from lakeflow.core.alerts import Message
from lakeflow.core.html import fields_table, table, titled
from lakeflow.core.records import FailureRecord, RunRecord

__all__ = ["Report", "RunRow", "build_report", "parse_since"]

SUCCEEDED = frozenset({"published", "committed"})
_SINCE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str) -> timedelta | None:
    """Pure. ``30m``, ``24h``, ``7d`` or ``2w`` as a duration; ``None`` if it is none of those.

    >>> parse_since("24h"), parse_since("7d") == timedelta(days=7), parse_since("soon")
    (datetime.timedelta(days=1), True, None)
    """
    match = _SINCE.fullmatch(text)
    if match is None:
        return None
    amount = float(match[1])
    return timedelta(**{_UNITS[match[2].lower()]: amount}) if amount > 0 else None


@dataclass(frozen=True, slots=True)
class RunRow:
    """One run in the report's table."""

    run_id: str
    status: str
    started_at: datetime
    duration_s: float
    extracted: int
    valid: int
    quarantined: int
    loaded: int
    quality: float | None
    sla_breaches: int
    failed_step: str | None

    def to_json(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "duration_s": round(self.duration_s, 3),
            "extracted": self.extracted,
            "valid": self.valid,
            "quarantined": self.quarantined,
            "loaded": self.loaded,
            "quality": self.quality,
            "sla_breaches": self.sla_breaches,
            "failed_step": self.failed_step,
        }


@dataclass(frozen=True, slots=True)
class Report:
    """What the history says about ``pipeline`` from ``since`` to ``until`` (runs oldest first).

    ``failed_rules`` are ``(rule, runs it failed in, rows it quarantined)``, most frequent
    first; ``sla_by_check`` ``(SLA key, breaches)``; ``unreadable`` counts history records that
    could not be read.
    """

    pipeline: str
    since: datetime
    until: datetime
    runs: tuple[RunRow, ...]
    failed_rules: tuple[tuple[str, int, int], ...]
    sla_by_check: tuple[tuple[str, int], ...]
    unreadable: int = 0

    @property
    def total(self) -> int:
        return len(self.runs)

    @property
    def succeeded(self) -> int:
        return sum(1 for r in self.runs if r.status in SUCCEEDED)

    @property
    def failed(self) -> int:
        return self.total - self.succeeded

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.total if self.runs else None

    @property
    def average_duration_s(self) -> float | None:
        return sum(r.duration_s for r in self.runs) / self.total if self.runs else None

    @property
    def p95_duration_s(self) -> float | None:
        durations = sorted(r.duration_s for r in self.runs)
        if not durations:
            return None
        return durations[max(0, math.ceil(0.95 * len(durations)) - 1)]

    def rows(self) -> dict[str, int]:
        """Pure. Rows summed over the runs, per stage."""
        return {
            "extracted": sum(r.extracted for r in self.runs),
            "valid": sum(r.valid for r in self.runs),
            "quarantined": sum(r.quarantined for r in self.runs),
            "loaded": sum(r.loaded for r in self.runs),
        }

    @property
    def transformed(self) -> int:
        return sum(r.valid + r.quarantined for r in self.runs)

    @property
    def quarantine_rate(self) -> float | None:
        transformed = self.transformed
        return self.rows()["quarantined"] / transformed if transformed else None

    @property
    def sla_breaches(self) -> int:
        return sum(count for _, count in self.sla_by_check)

    def summary(self) -> dict[str, object]:
        """Pure. The headline numbers, JSON-able."""
        return {
            "pipeline": self.pipeline,
            "since": self.since.isoformat(timespec="seconds"),
            "until": self.until.isoformat(timespec="seconds"),
            "runs": self.total,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "success_rate": self.success_rate,
            "average_duration_s": self.average_duration_s,
            "p95_duration_s": self.p95_duration_s,
            "rows": self.rows(),
            "quarantine_rate": self.quarantine_rate,
            "sla_breaches": self.sla_breaches,
            "unreadable_records": self.unreadable,
        }

    def to_json(self) -> dict[str, object]:
        """Pure. Everything in the report, JSON-able."""
        return {
            **self.summary(),
            "sla_by_check": [{"check": c, "breaches": n} for c, n in self.sla_by_check],
            "failed_rules": [
                {"rule": rule, "runs": runs, "rows": rows} for rule, runs, rows in self.failed_rules
            ],
            "per_run": [r.to_json() for r in self.runs],
        }

    def text(self) -> str:
        """Pure. The report as the tutorial's daily summary, then the per-run table."""

        def pct(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.2%}"

        def secs(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.1f}s"

        rows = self.rows()
        lines = [
            f"Pipeline report: {self.pipeline}, {self.since:%Y-%m-%d %H:%M} to "
            f"{self.until:%Y-%m-%d %H:%M} UTC",
            "",
            f"- Total runs: {self.total}",
            f"- Successful runs: {self.succeeded}",
            f"- Failed runs: {self.failed}",
            f"- Success rate: {pct(self.success_rate)}",
            f"- Average duration: {secs(self.average_duration_s)} "
            f"(p95 {secs(self.p95_duration_s)})",
            f"- Rows: {rows['extracted']:,} extracted, {rows['valid']:,} valid, "
            f"{rows['quarantined']:,} quarantined, {rows['loaded']:,} loaded",
            f"- Quarantine rate: {pct(self.quarantine_rate)}",
            f"- SLA breaches: {self.sla_breaches}"
            + (
                " (" + ", ".join(f"{c} {n}" for c, n in self.sla_by_check) + ")"
                if self.sla_by_check
                else ""
            ),
        ]
        if self.unreadable:
            lines.append(f"- Unreadable history records: {self.unreadable}")
        if self.failed_rules:
            lines += ["", "Most frequent failed rules:"]
            lines += [
                f"  {rule:<30} {runs} run(s), {quarantined:,} row(s)"
                for rule, runs, quarantined in self.failed_rules[:10]
            ]
        if self.runs:
            lines += [
                "",
                f"{'run_id':<30} {'status':<21} {'secs':>8} {'valid':>9} "
                f"{'quar.':>7} {'quality':>7} {'sla':>3}",
            ]
            for r in reversed(self.runs):
                quality = "-" if r.quality is None else f"{r.quality:.2f}"
                lines.append(
                    f"{r.run_id:<30} {r.status:<21} {r.duration_s:8.2f} {r.valid:>9} "
                    f"{r.quarantined:>7} {quality:>7} {r.sla_breaches:>3}"
                )
        return "\n".join(lines)

    def html_tables(self) -> str:
        """Pure. The summary, the failed rules and the per-run table as plain HTML."""
        summary = {k: v for k, v in self.summary().items() if k != "rows"}
        summary.update({f"rows {k}": v for k, v in self.rows().items()})
        parts = [titled(f"lakeflow report: {self.pipeline}", fields_table(summary))]
        if self.failed_rules:
            parts.append(
                titled(
                    "Most frequent failed rules",
                    table(["rule", "runs", "rows quarantined"], self.failed_rules),
                )
            )
        parts.append(
            titled(
                "Runs (newest first)",
                table(
                    [
                        "run_id",
                        "status",
                        "started",
                        "seconds",
                        "extracted",
                        "valid",
                        "quarantined",
                        "loaded",
                        "quality",
                        "SLA breaches",
                        "failed step",
                    ],
                    [
                        [
                            r.run_id,
                            r.status,
                            r.started_at.isoformat(timespec="seconds"),
                            round(r.duration_s, 2),
                            r.extracted,
                            r.valid,
                            r.quarantined,
                            r.loaded,
                            r.quality,
                            r.sla_breaches,
                            r.failed_step,
                        ]
                        for r in reversed(self.runs)
                    ],
                ),
            )
        )
        return "".join(parts)

    def _repr_html_(self) -> str:
        return self.html_tables()

    def message(self, *, window: str) -> Message:
        """Pure. The report as an email (text and HTML) or a webhook post."""
        subject = f"Daily report: {self.pipeline} (last {window})"
        data = {"kind": "report", **self.to_json()}
        slack = {"text": f"{subject}\n```{self.text()}```"}
        return Message(subject, self.text(), data, slack, html=self.html_tables())


def _row(record: RunRecord | FailureRecord) -> RunRow:
    quality = (record.quality or {}).get("overall_score")
    return RunRow(
        run_id=record.run_id,
        status=record.status,
        started_at=record.started_at,
        duration_s=record.duration_s,
        extracted=record.rows.extracted,
        valid=record.rows.valid,
        quarantined=record.rows.quarantined,
        loaded=record.rows.loaded,
        quality=float(quality) if isinstance(quality, int | float) else None,
        sla_breaches=len(record.sla or ()),
        failed_step=record.failed_step if isinstance(record, FailureRecord) else None,
    )


def _failed_rules(records: Iterable[RunRecord | FailureRecord]) -> tuple[tuple[str, int, int], ...]:
    runs: Counter[str] = Counter()
    rows: Counter[str] = Counter()
    for record in records:
        rules = (record.validation or {}).get("rules")
        if not isinstance(rules, Sequence):
            continue
        for rule in rules:
            if isinstance(rule, Mapping) and rule.get("outcome") == "failed":
                name = str(rule.get("name"))
                runs[name] += 1
                failed = rule.get("failed_rows")
                if rule.get("level", "row") == "row" and isinstance(failed, int):
                    rows[name] += failed
    ranked = sorted(runs, key=lambda name: (-runs[name], -rows[name], name))
    return tuple((name, runs[name], rows[name]) for name in ranked)


def build_report(
    records: Iterable[RunRecord | FailureRecord],
    *,
    pipeline: str,
    since: datetime,
    now: datetime,
    unreadable: int = 0,
) -> Report:
    """Pure. The report on ``pipeline``'s runs that started at or after ``since``."""
    chosen = sorted(
        (r for r in records if r.pipeline == pipeline and since <= r.started_at <= now),
        key=lambda r: (r.started_at, r.run_id),
    )
    checks: Counter[str] = Counter(b.check for r in chosen for b in r.sla or ())
    return Report(
        pipeline=pipeline,
        since=since,
        until=now,
        runs=tuple(_row(r) for r in chosen),
        failed_rules=_failed_rules(chosen),
        sla_by_check=tuple(sorted(checks.items(), key=lambda kv: (-kv[1], kv[0]))),
        unreadable=unreadable,
    )
