"""Monitoring of every run: SLA checks, alerts and metrics, after the run's outcome is known.

Effect. :func:`run` calls two functions once the outcome is decided: :func:`check_sla` puts the
service levels the run broke into its record before the record enters the history, and
:func:`deliver` then sends the alert the record deserves (:func:`lakeflow.core.alerts.alert_for`)
on every channel and publishes its metrics. Nothing here can change what the run published or
its status: a breach is a fact in the record; a dead, refusing or slow channel is a failed
:class:`~lakeflow.core.records.Delivery` in the record and a warning in the log. Channels are
tried in parallel, each through the one retry mechanism (:func:`lakeflow.run.retry.retrying`),
and the run waits for them at most ``deadline_s`` in all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from returns.io import IOResult
from returns.result import Failure

from lakeflow.adapters.prometheus_metrics import PushgatewayMetrics, TextfileMetrics
from lakeflow.adapters.smtp_alerter import SmtpAlerter
from lakeflow.adapters.webhook_alerter import WebhookAlerter
from lakeflow.core.alerts import DeliveryError, Message, alert_for
from lakeflow.core.config import MonitoringConfig, SlaConfig
from lakeflow.core.records import Delivery, FailureRecord, RunRecord
from lakeflow.core.secrets import Secret, scrub
from lakeflow.core.sla import PUBLISHED, evaluate_sla, freshness
from lakeflow.ports import Alerter, Lake, MetricsPublisher
from lakeflow.run.events import event_logger
from lakeflow.run.history import read_history, record_in_history
from lakeflow.run.pipeline import RetryPolicy
from lakeflow.run.retry import retrying

__all__ = [
    "Monitoring",
    "check_freshness",
    "check_sla",
    "deliver",
    "last_published",
    "monitoring_from_config",
    "send",
]

_log = event_logger()
Record = RunRecord | FailureRecord


@dataclass(frozen=True)
class Monitoring:
    """How a run is watched: its service levels, alert channels and metrics targets.

    Attributes:
        sla: The service levels every run is checked against (``None``: none).
        alerters: Alert channels (:class:`~lakeflow.ports.Alerter`).
        metrics: Metrics targets (:class:`~lakeflow.ports.MetricsPublisher`).
        on_success: Also alert for runs that published without a breach.
        deadline_s: The longest a run waits for all its deliveries (retries included).
        config_path: The config file shown in the alert's ``lakeflow show`` command.
        secrets: Values no alert or log line may show.
    """

    sla: SlaConfig | None = None
    alerters: Sequence[Alerter] = ()
    metrics: Sequence[MetricsPublisher] = ()
    on_success: bool = False
    deadline_s: float = 30.0
    config_path: str | None = None
    secrets: Sequence[Secret] = ()


def monitoring_from_config(
    config: MonitoringConfig | None,
    *,
    config_path: str | None = None,
    secrets: Sequence[Secret] = (),
) -> Monitoring:
    """Effect-free. The :class:`Monitoring` a ``monitoring:`` block describes."""
    if config is None:
        return Monitoring(config_path=config_path, secrets=tuple(secrets))
    alerters: list[Alerter] = []
    on_success, deadline = False, 30.0
    if config.alerts is not None:
        if config.alerts.email is not None:
            alerters.append(SmtpAlerter.from_config(config.alerts.email))
        if config.alerts.webhook is not None:
            alerters.append(WebhookAlerter.from_config(config.alerts.webhook))
        on_success, deadline = config.alerts.on_success, config.alerts.timeout_seconds
    metrics: list[MetricsPublisher] = []
    prometheus = config.prometheus
    if prometheus is not None:
        if prometheus.pushgateway is not None:
            metrics.append(
                PushgatewayMetrics(prometheus.pushgateway, timeout_s=prometheus.timeout_seconds)
            )
        if prometheus.textfile_dir is not None:
            metrics.append(TextfileMetrics(Path(prometheus.textfile_dir)))
    return Monitoring(
        sla=config.sla,
        alerters=tuple(alerters),
        metrics=tuple(metrics),
        on_success=on_success,
        deadline_s=deadline,
        config_path=config_path,
        secrets=tuple(secrets),
    )


# -- SLA ------------------------------------------------------------------------------------------
def last_published(lake: Lake, pipeline: str, *, before: str | None = None) -> datetime | None:
    """Effect. When the pipeline's last published run (other than ``before``) ended."""
    history = read_history(lake, pipeline)
    if isinstance(history, Failure):
        return None
    ends = [
        r.finished_at
        for r in history.unwrap().records
        if r.status in PUBLISHED and r.run_id != before
    ]
    return max(ends, default=None)


def check_sla(monitoring: Monitoring, lake: Lake, record: Record, *, now: datetime) -> Record:
    """Effect (reads the history for freshness). ``record`` with the SLAs it broke in ``sla``.

    A run without service levels keeps ``sla=None``. Each breach is logged as a warning.
    """
    sla = monitoring.sla
    if sla is None:
        return record
    needs_history = sla.max_staleness_s is not None and record.status not in PUBLISHED
    before = last_published(lake, record.pipeline, before=record.run_id) if needs_history else None
    breaches = evaluate_sla(sla, record, last_published=before, now=now)
    for breach in breaches:
        _log.warning(
            "lakeflow.sla_breach",
            run_id=record.run_id,
            pipeline=record.pipeline,
            step="sla",
            check=breach.check,
            limit=breach.limit,
            actual=breach.actual,
            detail=breach.message,
        )
    return replace(record, sla=breaches)


def check_freshness(monitoring: Monitoring, lake: Lake, pipeline: str, *, now: datetime) -> str:
    """Effect. ``""`` when the pipeline is fresh enough (or no freshness is set), else why not."""
    sla = monitoring.sla
    if sla is None or sla.max_staleness_s is None:
        return ""
    breaches = freshness(sla, last_published(lake, pipeline), now=now)
    return breaches[0].message if breaches else ""


# -- deliveries -----------------------------------------------------------------------------------
_MAX_RETRIES = 2
"""Retries of a channel's transient failures (within the deadline)."""


def _attempts(
    channel: str,
    operation: Callable[[], IOResult[None, DeliveryError]],
    policy: RetryPolicy,
    results: dict[str, Delivery],
    secrets: Sequence[Secret],
) -> None:
    """Effect. Run one channel's deliveries (with retries) and put its outcome in ``results``."""
    result, calls = retrying(policy, operation)
    error = result.failure().message if isinstance(result, Failure) else None
    results[channel] = Delivery(channel, error is None, calls, _scrubbed(error, secrets))


def _scrubbed(text: str | None, secrets: Sequence[Secret]) -> str | None:
    return None if text is None else scrub(text, secrets)


def _deliver_all(
    jobs: Sequence[tuple[str, Callable[[], IOResult[None, DeliveryError]]]],
    deadline_s: float,
    secrets: Sequence[Secret],
) -> tuple[Delivery, ...]:
    """Effect. Every job in its own daemon thread; what did not finish by the deadline failed.

    Daemon threads: a channel that hangs past its own timeout cannot keep the process alive.
    """
    policy = RetryPolicy(
        max_retries=_MAX_RETRIES,
        timeout_seconds=deadline_s,
        initial_backoff_s=min(0.5, deadline_s / 10),
        max_backoff_s=5.0,
    )
    results: dict[str, Delivery] = {}
    threads = []
    for channel, operation in jobs:
        thread = threading.Thread(
            target=_attempts,
            args=(channel, operation, policy, results, secrets),
            name=f"lakeflow-{channel}",
            daemon=True,
        )
        thread.start()
        threads.append(thread)
    ends = time.monotonic() + deadline_s
    for thread in threads:
        thread.join(max(0.0, ends - time.monotonic()))
    return tuple(
        results.get(channel)
        or Delivery(channel, False, 0, f"no answer within the {deadline_s:g}s alert budget")
        for channel, _ in jobs
    )


def deliver(monitoring: Monitoring, lake: Lake, record: Record) -> Record:
    """Effect. Send ``record``'s alert on every channel and publish its metrics.

    Returns the record with one :class:`Delivery` per channel and metrics target; when there
    were any, the history entry is written again with them (a failed delivery stays on record).
    Never raises for a channel's failure and never waits longer than ``deadline_s``.
    """
    message: Message | None = alert_for(
        record,
        on_success=monitoring.on_success,
        config=monitoring.config_path,
        secrets=monitoring.secrets,
    )
    jobs: list[tuple[str, Callable[[], IOResult[None, DeliveryError]]]] = []
    if message is not None:
        sent = message
        jobs.extend((a.channel, lambda a=a: a.send(sent)) for a in monitoring.alerters)  # type: ignore[misc]
    jobs.extend((m.channel, lambda m=m: m.publish(record)) for m in monitoring.metrics)  # type: ignore[misc]
    if not jobs:
        return record
    deliveries = _deliver_all(jobs, monitoring.deadline_s, monitoring.secrets)
    alert_channels = {a.channel for a in monitoring.alerters}
    for delivery in deliveries:
        log = _log.info if delivery.ok else _log.warning
        log(
            "lakeflow.delivery",
            run_id=record.run_id,
            pipeline=record.pipeline,
            step="alert" if delivery.channel in alert_channels else "metrics",
            channel=delivery.channel,
            ok=delivery.ok,
            attempts=delivery.attempts,
            detail=delivery.error or "",
        )
    delivered = replace(record, deliveries=deliveries)
    problem = record_in_history(lake, delivered)
    if problem is not None:
        note = f"{delivered.note} deliveries not recorded in the run history: {problem}"
        delivered = replace(delivered, note=scrub(note.strip(), monitoring.secrets))
    return delivered


def send(
    monitoring: Monitoring, message: Message, *, channels: frozenset[str] | None = None
) -> tuple[Delivery, ...]:
    """Effect. ``message`` (a report) on the alert channels named in ``channels`` (all when
    ``None``), with the same retries and time budget as a run's alerts."""
    jobs: list[tuple[str, Callable[[], IOResult[None, DeliveryError]]]] = [
        (a.channel, lambda a=a: a.send(message))  # type: ignore[misc]
        for a in monitoring.alerters
        if channels is None or a.channel in channels
    ]
    return _deliver_all(jobs, monitoring.deadline_s, monitoring.secrets) if jobs else ()
