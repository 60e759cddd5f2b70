"""Run metrics for Prometheus (prometheus-client): a Pushgateway and a node-exporter textfile.

Effect. :func:`run_metrics` turns a run's record into a registry of gauges (pure apart from
building prometheus-client objects); :class:`PushgatewayMetrics` pushes it with the batch-job
convention (grouping key ``job=<pipeline>``, ``POST``: only the metrics a run sends are
replaced, so ``lakeflow_last_success_timestamp_seconds`` survives a failed run);
:class:`TextfileMetrics` atomically replaces ``lakeflow_<pipeline>.prom`` in a textfile-collector
folder, carrying the last success over from the file it replaces.

Metrics (every one labelled ``pipeline``):

================================================  ==============================================
``lakeflow_run_duration_seconds``                 the run, start to end
``lakeflow_step_duration_seconds{step}``          each step the run took
``lakeflow_run_rows{stage}``                      extracted, transformed, valid, quarantined,
                                                  loaded
``lakeflow_run_status{status}``                   1 for the run's status, 0 for the others
``lakeflow_run_success``                          1 when the run published (or committed)
``lakeflow_quality_score{score}``                 overall, completeness, accuracy, consistency,
                                                  timeliness (when measured)
``lakeflow_last_run_timestamp_seconds``           when the run ended
``lakeflow_last_success_timestamp_seconds``       when the last successful run ended
``lakeflow_run_retries``                          attempts beyond the first, all steps
``lakeflow_sla_breaches``                         SLA breaches of the run
``lakeflow_sla_breach{check}``                    1 per broken ``monitoring.sla`` key, else 0
``lakeflow_run_info{run_id,status,version}``      1 (names the run the others describe)
================================================  ==============================================
"""

from __future__ import annotations

import urllib.error
from pathlib import Path
from typing import get_args

from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway, write_to_textfile
from prometheus_client.parser import text_string_to_metric_families
from returns.io import IOFailure, IOResult, IOSuccess

from lakeflow.core.alerts import DeliveryError
from lakeflow.core.config import SlaConfig
from lakeflow.core.config.values import redact_url
from lakeflow.core.records import FailureRecord, RunRecord, RunStatus
from lakeflow.core.secrets import Secret, scrub

__all__ = ["PushgatewayMetrics", "TextfileMetrics", "run_metrics"]

LAST_SUCCESS = "lakeflow_last_success_timestamp_seconds"
_STAGES = ("extracted", "transformed", "valid", "quarantined", "loaded")
_SCORES = ("overall", "completeness", "accuracy", "consistency", "timeliness")


def _gauge(registry: CollectorRegistry, name: str, doc: str, *labels: str) -> Gauge:
    return Gauge(name, doc, ("pipeline", *labels), registry=registry)


def run_metrics(
    record: RunRecord | FailureRecord, *, last_success: float | None = None
) -> CollectorRegistry:
    """Pure (builds values). The run's metrics as a fresh registry.

    Args:
        record: The run.
        last_success: The last success's timestamp to report when this run did not succeed
            (the textfile carries it over; the Pushgateway keeps it by itself).
    """
    registry = CollectorRegistry(auto_describe=True)
    name = record.pipeline
    _gauge(registry, "lakeflow_run_duration_seconds", "Duration of the last run.").labels(name).set(
        record.duration_s
    )
    steps = _gauge(
        registry, "lakeflow_step_duration_seconds", "Duration of each step of the last run.", "step"
    )
    for step, seconds in record.steps.items():
        steps.labels(name, step).set(seconds)
    rows = _gauge(
        registry, "lakeflow_run_rows", "Rows through each stage of the last run.", "stage"
    )
    for stage in _STAGES:
        rows.labels(name, stage).set(getattr(record.rows, stage))
    status = _gauge(registry, "lakeflow_run_status", "1 for the last run's status.", "status")
    for value in get_args(RunStatus):
        status.labels(name, value).set(1 if record.status == value else 0)
    succeeded = record.status in ("published", "committed")
    _gauge(registry, "lakeflow_run_success", "1 when the last run succeeded.").labels(name).set(
        1 if succeeded else 0
    )
    scores = _gauge(registry, "lakeflow_quality_score", "Data-quality scores (0-1).", "score")
    for score in _SCORES:
        value = (record.quality or {}).get(f"{score}_score")
        if isinstance(value, int | float):
            scores.labels(name, score).set(value)
    _gauge(registry, "lakeflow_last_run_timestamp_seconds", "When the last run ended.").labels(
        name
    ).set(record.finished_at.timestamp())
    success_at = record.finished_at.timestamp() if succeeded else last_success
    if success_at is not None:
        _gauge(registry, LAST_SUCCESS, "When the last successful run ended.").labels(name).set(
            success_at
        )
    retries = sum(max(0, attempts - 1) for attempts in record.attempts.values())
    _gauge(registry, "lakeflow_run_retries", "Retried attempts in the last run.").labels(name).set(
        retries
    )
    breaches = record.sla or ()
    _gauge(registry, "lakeflow_sla_breaches", "SLA breaches of the last run.").labels(name).set(
        len(breaches)
    )
    broken = {b.check for b in breaches}
    per_check = _gauge(registry, "lakeflow_sla_breach", "1 per broken SLA key.", "check")
    for check in SlaConfig.model_fields:
        per_check.labels(name, check).set(1 if check in broken else 0)
    info = _gauge(registry, "lakeflow_run_info", "The last run.", "run_id", "status", "version")
    info.labels(name, record.run_id, record.status, record.lakeflow_version).set(1)
    return registry


class PushgatewayMetrics:
    """Pushes each run's metrics to a Pushgateway under ``job=<pipeline>``."""

    def __init__(self, url: Secret, *, timeout_s: float = 10.0) -> None:
        self.url = url
        self.timeout_s = timeout_s

    @property
    def channel(self) -> str:
        return "pushgateway"

    def __repr__(self) -> str:
        return f"PushgatewayMetrics({redact_url(self.url.reveal())!r})"

    def publish(self, record: RunRecord | FailureRecord) -> IOResult[None, DeliveryError]:
        """Effect. ``POST`` the run's metrics to the group ``job=<pipeline>``."""
        where = f"Pushgateway {redact_url(self.url.reveal())}"
        try:
            pushadd_to_gateway(
                self.url.reveal(),
                job=record.pipeline,
                registry=run_metrics(record),
                timeout=self.timeout_s,
            )
        except urllib.error.HTTPError as exc:
            retryable = exc.code == 429 or exc.code >= 500
            return self._failed(f"{where} answered {exc.code} {exc.reason}", retryable)
        except urllib.error.URLError as exc:
            return self._failed(f"{where} unreachable: {exc.reason}", True)
        except OSError as exc:
            return self._failed(f"{where} failed: {exc.strerror or exc}", True)
        return IOSuccess(None)

    def _failed(self, text: str, retryable: bool) -> IOResult[None, DeliveryError]:
        return IOFailure(DeliveryError(self.channel, scrub(text, [self.url]), retryable))


class TextfileMetrics:
    """Writes each run's metrics to ``<folder>/lakeflow_<pipeline>.prom`` (atomically)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    @property
    def channel(self) -> str:
        return "textfile"

    def __repr__(self) -> str:
        return f"TextfileMetrics({str(self.folder)!r})"

    def path_of(self, pipeline: str) -> Path:
        """Pure. The file a pipeline's metrics go to."""
        return self.folder / f"lakeflow_{pipeline}.prom"

    def _last_success(self, path: Path) -> float | None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None  # no earlier file (or none readable): no success to carry over
        try:
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if sample.name == LAST_SUCCESS:
                        return float(sample.value)
        except ValueError:
            return None  # a damaged file: replaced below
        return None

    def publish(self, record: RunRecord | FailureRecord) -> IOResult[None, DeliveryError]:
        """Effect. Replace the pipeline's ``.prom`` file (rename: readers never see half); the
        folder is created when missing."""
        path = self.path_of(record.pipeline)
        registry = run_metrics(record, last_success=self._last_success(path))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_to_textfile(str(path), registry)
        except OSError as exc:
            message = f"cannot write {path}: {exc.strerror or exc}"
            return IOFailure(DeliveryError(self.channel, message, retryable=False))
        return IOSuccess(None)
