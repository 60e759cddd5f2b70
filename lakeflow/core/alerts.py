"""Alerts: which runs deserve one, and what it says, as values every channel can send.

Pure. :func:`alert_for` decides from a run's record whether it alerts (a failure, an SLA breach,
``published_not_loaded``; a success only when asked) and builds the :class:`Message`: a
subject, a plain-text body, a Slack-compatible body and a generic JSON body, all naming the
pipeline, run id, status, failed step, the (scrubbed) error, the row counts, the breaches and
the command that shows the run. Channels (:mod:`lakeflow.adapters.smtp_alerter`,
:mod:`lakeflow.adapters.webhook_alerter`) only carry a :class:`Message`; a channel's failure
is a :class:`DeliveryError` value.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from lakeflow.core.records import FailureRecord, RunRecord
from lakeflow.core.secrets import Secret, scrub

__all__ = [
    "AlertKind",
    "DeliveryError",
    "Message",
    "alert_for",
    "inspect_command",
]

AlertKind: TypeAlias = Literal["failure", "published_not_loaded", "sla", "success"]
_SEVERITY: Mapping[AlertKind, str] = {
    "failure": "critical",
    "published_not_loaded": "error",
    "sla": "warning",
    "success": "info",
}
_EMOJI: Mapping[AlertKind, str] = {
    "failure": ":red_circle:",
    "published_not_loaded": ":large_orange_circle:",
    "sla": ":warning:",
    "success": ":white_check_mark:",
}


@dataclass(frozen=True, slots=True)
class DeliveryError:
    """A message could not be delivered on ``channel`` (``message`` holds no secret)."""

    channel: str
    message: str
    retryable: bool
    kind: str = "delivery"


@dataclass(frozen=True, slots=True)
class Message:
    """What a channel sends: a subject and the same content in the shapes channels take.

    Attributes:
        subject: One line (an email's subject).
        text: The plain-text body.
        data: The generic JSON body (the facts as fields).
        slack: A Slack-compatible JSON body (``text`` plus ``blocks``).
        html: An HTML alternative for email, when there is one.
    """

    subject: str
    text: str
    data: Mapping[str, object]
    slack: Mapping[str, object]
    html: str | None = None
    attachments: Sequence[tuple[str, str, bytes]] = field(default_factory=tuple)
    """``(file name, MIME type, content)`` attached to an email."""


def inspect_command(config: str | None, run_id: str) -> str:
    """Pure. The command that shows a run (``lakeflow show CONFIG RUN_ID``), shell-quoted."""
    return f"lakeflow show {shlex.quote(config) if config else 'CONFIG'} {shlex.quote(run_id)}"


def _kind(record: RunRecord | FailureRecord, *, on_success: bool) -> AlertKind | None:
    if record.status == "failed":
        return "failure"
    if record.status == "published_not_loaded":
        return "published_not_loaded"
    if record.sla:
        return "sla"
    return "success" if on_success else None


def _headline(kind: AlertKind, record: RunRecord | FailureRecord) -> str:
    match kind:
        case "failure":
            step = record.failed_step if isinstance(record, FailureRecord) else "?"
            return f"{record.pipeline} run FAILED at {step}"
        case "published_not_loaded":
            return f"{record.pipeline} run published but NOT LOADED into the database"
        case "sla":
            count = len(record.sla or ())
            return f"{record.pipeline} run broke {count} SLA(s)"
        case "success":
            return f"{record.pipeline} run {record.status}"


def alert_for(
    record: RunRecord | FailureRecord,
    *,
    on_success: bool = False,
    config: str | None = None,
    secrets: Sequence[Secret] = (),
) -> Message | None:
    """Pure. The alert ``record`` deserves, or ``None``.

    A failed run, a ``published_not_loaded`` run and a run that broke an SLA always alert; a
    successful run only with ``on_success``. ``config`` is the config path shown in the
    command that inspects the run; ``secrets`` are removed from every text (the record's
    messages are already scrubbed; this is a second guard).
    """
    kind = _kind(record, on_success=on_success)
    if kind is None:
        return None
    rows = record.rows
    failed_step = record.failed_step if isinstance(record, FailureRecord) else None
    error = (
        scrub(f"{record.error.kind}: {record.error.message}", secrets)
        if isinstance(record, FailureRecord)
        else None
    )
    breaches = [b.message for b in record.sla or ()]
    command = inspect_command(config, record.run_id)
    counts = {
        "extracted": rows.extracted,
        "transformed": rows.transformed,
        "valid": rows.valid,
        "quarantined": rows.quarantined,
        "loaded": rows.loaded,
    }
    headline = _headline(kind, record)
    severity = _SEVERITY[kind]
    lines = [
        headline,
        "",
        f"pipeline:    {record.pipeline}",
        f"run id:      {record.run_id}",
        f"status:      {record.status}",
        f"target:      {record.target}",
        f"started:     {record.started_at.isoformat()} ({record.duration_s:.1f}s)",
    ]
    if failed_step is not None:
        lines.append(f"failed step: {failed_step}")
    if error is not None:
        lines.append(f"error:       {error}")
    lines.append(
        f"rows:        {rows.extracted} extracted, {rows.transformed} transformed, "
        f"{rows.valid} valid, {rows.quarantined} quarantined, {rows.loaded} loaded"
    )
    lines.extend(f"SLA breach:  {text}" for text in breaches)
    if record.note:
        lines.append(f"note:        {scrub(record.note, secrets)}")
    lines += ["", f"inspect:     {command}"]
    text = "\n".join(lines)
    data: dict[str, object] = {
        "kind": kind,
        "severity": severity,
        "summary": headline,
        "pipeline": record.pipeline,
        "run_id": record.run_id,
        "status": record.status,
        "target": record.target,
        "started_at": record.started_at.isoformat(),
        "finished_at": record.finished_at.isoformat(),
        "duration_s": round(record.duration_s, 3),
        "failed_step": failed_step,
        "error": error,
        "rows": counts,
        "sla": [b.to_json() for b in record.sla or ()],
        "inspect": command,
    }
    fields = [
        f"*Run* `{record.run_id}`",
        f"*Status* {record.status}",
        f"*Failed step* {failed_step or '-'}",
        f"*Rows* {rows.valid} valid / {rows.extracted} extracted, {rows.quarantined} quarantined",
    ]
    blocks: list[dict[str, object]] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    details = ([f"*Error* {error}"] if error else []) + [f"*SLA* {b}" for b in breaches]
    if details:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(details)}})
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Inspect: `{command}`"}]}
    )
    slack: dict[str, object] = {
        "text": f"{_EMOJI[kind]} {headline}: run {record.run_id}"
        + (f" — {error}" if error else ""),
        "blocks": blocks,
    }
    subject = f"[lakeflow {severity.upper()}] {headline} ({record.run_id})"
    return Message(subject, text, data, slack)
