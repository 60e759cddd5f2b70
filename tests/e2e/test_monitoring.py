"""run() with monitoring: SLA breaches in the record, alerts and metrics delivered to real local
servers, and dead, refusing or hung channels that never fail or block a run."""

from __future__ import annotations

import threading
from pathlib import Path

import polars as pl
from returns.result import Failure, Success

from lakeflow.adapters.prometheus_metrics import PushgatewayMetrics
from lakeflow.adapters.smtp_alerter import SmtpAlerter
from lakeflow.adapters.webhook_alerter import WebhookAlerter
from lakeflow.core.config import SlaConfig
from lakeflow.core.errors import ExtractError
from lakeflow.core.records import FailureRecord, RunRecord
from lakeflow.core.secrets import Secret
from lakeflow.run import Pipeline, RetryPolicy, run, show_run
from lakeflow.run.monitor import Monitoring
from tests.e2e.lakes import FailingSource, new_lake, published
from tests.endpoints import HttpRecorder, SilentServer, SmtpRecorder, closed_port

FAST = RetryPolicy(max_retries=0, timeout_seconds=5)


def frame(rows: int = 10) -> pl.DataFrame:
    return pl.DataFrame({"id": list(range(1, rows + 1)), "age": [30] * rows})


def test_an_sla_breach_is_recorded_alerted_and_changes_nothing_published(
    tmp_path: Path, http_recorder: HttpRecorder
) -> None:
    """max_duration_s: 0.001 (the issue's case): the run publishes, and says it broke the SLA."""
    lake = new_lake(tmp_path)
    hook = WebhookAlerter(Secret(f"{http_recorder.url}/sla-run/hook"), body="generic")
    monitoring = Monitoring(sla=SlaConfig(max_duration_s=0.001), alerters=(hook,))
    outcome = run(Pipeline("users", frame()), lake, monitoring=monitoring)
    assert isinstance(outcome, Success)
    record: RunRecord = outcome.unwrap()
    assert record.status == "published" and published(lake, "validated_data/users").height == 10
    assert record.sla is not None and [b.check for b in record.sla] == ["max_duration_s"]
    (request,) = http_recorder.at("/sla-run/")
    assert request.json()["kind"] == "sla" and request.json()["run_id"] == record.run_id
    assert [(d.channel, d.ok) for d in record.deliveries] == [("webhook", True)]
    kept = show_run(lake, record.run_id)
    assert kept.sla == record.sla and kept.deliveries == record.deliveries


def test_dead_refusing_and_hung_channels_never_fail_or_block_a_run(
    tmp_path: Path, http_recorder: HttpRecorder, silent_server: SilentServer
) -> None:
    """Every channel failing still ends the run within the budget; each failure is on record."""
    lake = new_lake(tmp_path)
    monitoring = Monitoring(
        alerters=(
            SmtpAlerter(["x@example.com"], host="127.0.0.1", port=silent_server.port, timeout_s=60),
            WebhookAlerter(Secret(f"{http_recorder.url}/status/400/dead-run")),
        ),
        metrics=(PushgatewayMetrics(Secret(f"http://127.0.0.1:{closed_port()}"), timeout_s=1),),
        deadline_s=1.0,
    )
    pipeline = Pipeline(
        "users", FailingSource(ExtractError("db", "down", retryable=False)), retry=FAST
    )
    outcome = run(pipeline, lake, monitoring=monitoring)
    assert isinstance(outcome, Failure)
    record: FailureRecord = outcome.failure()
    assert record.failed_step == "extract"  # the run's own outcome, untouched
    by_channel = {d.channel: d for d in record.deliveries}
    assert set(by_channel) == {"email", "webhook", "pushgateway"}
    assert not any(d.ok for d in record.deliveries)
    assert "no answer within the 1s alert budget" in str(by_channel["email"].error)
    assert by_channel["webhook"].attempts == 1, "a 400 is not retried"
    assert "400" in str(by_channel["webhook"].error)
    assert show_run(lake, record.run_id).deliveries == record.deliveries
    assert not [t for t in threading.enumerate() if t.name == "lakeflow-webhook"]


def test_a_flaky_webhook_is_retried_through_the_one_retry_mechanism(
    tmp_path: Path, http_recorder: HttpRecorder
) -> None:
    """A 503 then a 200: the alert is delivered on the second attempt."""
    lake = new_lake(tmp_path)
    hook = WebhookAlerter(Secret(f"{http_recorder.url}/flaky/1/run"))
    monitoring = Monitoring(alerters=(hook,), on_success=True)
    record = run(Pipeline("users", frame()), lake, monitoring=monitoring).unwrap()
    assert [(d.channel, d.ok, d.attempts) for d in record.deliveries] == [("webhook", True, 2)]
    assert len(http_recorder.at("/flaky/1/run")) == 2


def test_failure_alert_by_email(tmp_path: Path, smtp_server: SmtpRecorder) -> None:
    """A failed run mails its failure (step and error) to the configured recipients."""
    lake = new_lake(tmp_path)
    mail = SmtpAlerter(["failures@example.com"], host="127.0.0.1", port=smtp_server.port)
    pipeline = Pipeline(
        "users", FailingSource(ExtractError("db", "down", retryable=False)), retry=FAST
    )
    record = run(pipeline, lake, monitoring=Monitoring(alerters=(mail,))).failure()
    (email,) = smtp_server.to("failures@example.com")
    assert record.run_id in email["Subject"]
    assert "failed step: extract" in email.get_payload()


def test_freshness_is_checked_by_a_run_that_did_not_publish(tmp_path: Path) -> None:
    """A failed run long after the last publish breaks max_staleness_s; a published run never."""
    lake = new_lake(tmp_path)
    monitoring = Monitoring(sla=SlaConfig(max_staleness_s=1e-6))
    first = run(Pipeline("users", frame()), lake, monitoring=monitoring).unwrap()
    assert first.sla == ()
    pipeline = Pipeline(
        "users", FailingSource(ExtractError("db", "down", retryable=False)), retry=FAST
    )
    second = run(pipeline, lake, monitoring=monitoring).failure()
    assert second.sla is not None and [b.check for b in second.sla] == ["max_staleness_s"]
    assert str(first.finished_at.isoformat()) in second.sla[0].message
