"""Alert channels against real local servers: SMTP (aiosmtpd) and webhooks (http.server)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from returns.io import IOFailure, IOSuccess
from returns.unsafe import unsafe_perform_io

from lakeflow.adapters.smtp_alerter import SmtpAlerter
from lakeflow.adapters.webhook_alerter import WebhookAlerter
from lakeflow.core.alerts import DeliveryError, Message, alert_for
from lakeflow.core.secrets import Secret
from tests.endpoints import (
    HttpRecorder,
    SilentServer,
    SmtpRecorder,
    closed_port,
    self_signed_certificate,
)
from tests.sample_records import failed

PASSWORD = "Planted-SMTP-pw-8841"


def failure_alert() -> Message:
    message = alert_for(failed(), config="/etc/lakeflow/users.yaml")
    assert message is not None
    return message


def error_of(result: object) -> DeliveryError:
    assert isinstance(result, IOFailure)
    error: DeliveryError = unsafe_perform_io(result.failure())
    return error


@pytest.fixture(scope="module")
def tls_smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SmtpRecorder, Path]]:
    """An SMTP server that requires STARTTLS and a login, and the certificate it presents."""
    folder = tmp_path_factory.mktemp("tls")
    with self_signed_certificate(folder) as (cert, key):
        server = SmtpRecorder(tls=(cert, key), logins={"etl": PASSWORD})
        server.start()
        yield server, cert
        server.stop()


def test_email_alert_names_run_step_error_rows_and_the_command(smtp_server: SmtpRecorder) -> None:
    """A failure alert arrives by SMTP naming pipeline, run, step, error, rows, `lakeflow show`."""
    alerter = SmtpAlerter(
        ["oncall@example.com"], sender="etl@example.com", port=smtp_server.port, host="127.0.0.1"
    )
    assert alerter.send(failure_alert()) == IOSuccess(None)
    (email,) = smtp_server.to("oncall@example.com")
    assert email["From"] == "etl@example.com"
    assert "users" in email["Subject"] and "FAILED at extract" in email["Subject"]
    body = email.get_payload(decode=True).decode()  # type: ignore[union-attr]
    run_id = failed().run_id
    for fact in (
        f"run id:      {run_id}",
        "status:      failed",
        "failed step: extract",
        "ExtractError: connection refused by db.internal:5432",
        "0 extracted, 0 transformed, 0 valid, 0 quarantined, 0 loaded",
        f"lakeflow show /etc/lakeflow/users.yaml {run_id}",
    ):
        assert fact in body


def test_email_over_starttls_with_login(
    tls_smtp: tuple[SmtpRecorder, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """STARTTLS verifies the server's certificate, then the login from the environment works."""
    server, cert = tls_smtp
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test certificate only
    alerter = SmtpAlerter(
        ["tls@example.com"],
        host="127.0.0.1",
        port=server.port,
        username="etl",
        password=Secret(PASSWORD),
        starttls=True,
    )
    assert alerter.send(failure_alert()) == IOSuccess(None)
    assert len(server.to("tls@example.com")) == 1
    assert server.logged_in == ["etl"]


def test_a_refused_login_is_final_and_never_shows_the_password(
    tls_smtp: tuple[SmtpRecorder, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong password is not retryable, and the error does not contain the password."""
    server, cert = tls_smtp
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    wrong = PASSWORD + "-wrong"
    alerter = SmtpAlerter(
        ["tls@example.com"],
        host="127.0.0.1",
        port=server.port,
        username="etl",
        password=Secret(wrong),
        starttls=True,
    )
    error = error_of(alerter.send(failure_alert()))
    assert not error.retryable
    assert "refused the login" in error.message and wrong not in error.message


def test_an_untrusted_certificate_is_refused(tls_smtp: tuple[SmtpRecorder, Path]) -> None:
    """STARTTLS against a certificate nobody trusts fails for good (no silent plaintext)."""
    server, _ = tls_smtp
    alerter = SmtpAlerter(
        ["tls@example.com"],
        host="127.0.0.1",
        port=server.port,
        username="etl",
        password=Secret(PASSWORD),
        starttls=True,
    )
    error = error_of(alerter.send(failure_alert()))
    assert not error.retryable and "TLS" in error.message


def test_dead_and_hung_smtp_servers_are_retryable_failures(silent_server: SilentServer) -> None:
    """A refused connection and a server that never greets fail as retryable values."""
    dead = SmtpAlerter(["x@example.com"], host="127.0.0.1", port=closed_port(), timeout_s=1)
    hung = SmtpAlerter(["x@example.com"], host="127.0.0.1", port=silent_server.port, timeout_s=0.3)
    refused, silent = error_of(dead.send(failure_alert())), error_of(hung.send(failure_alert()))
    assert refused.retryable and "unreachable" in refused.message
    assert silent.retryable and "did not answer within 0.3s" in silent.message


def test_slack_webhook_body(http_recorder: HttpRecorder) -> None:
    """The Slack body has `text` and `blocks` naming the run, its status and the command."""
    hook = WebhookAlerter(Secret(f"{http_recorder.url}/slack/T0/B0/tok3n"), body="slack")
    assert hook.send(failure_alert()) == IOSuccess(None)
    (request,) = http_recorder.at("/slack/")
    assert request.method == "POST" and request.headers["Content-Type"] == "application/json"
    body = request.json()
    assert failed().run_id in body["text"] and "FAILED at extract" in body["text"]
    shown = json.dumps(body["blocks"])
    assert "*Failed step* extract" in shown and "lakeflow show" in shown
    assert "connection refused by db.internal:5432" in shown


def test_generic_webhook_body(http_recorder: HttpRecorder) -> None:
    """The generic body carries the alert's facts as fields."""
    hook = WebhookAlerter(Secret(f"{http_recorder.url}/generic/hook"), body="generic")
    assert hook.send(failure_alert()) == IOSuccess(None)
    (request,) = http_recorder.at("/generic/")
    body = request.json()
    assert body["kind"] == "failure" and body["severity"] == "critical"
    assert (body["pipeline"], body["run_id"], body["status"]) == (
        "users",
        failed().run_id,
        "failed",
    )
    assert body["failed_step"] == "extract" and body["rows"]["extracted"] == 0
    assert body["inspect"] == f"lakeflow show /etc/lakeflow/users.yaml {failed().run_id}"


@pytest.mark.parametrize(("status", "retryable"), [(503, True), (429, True), (400, False)])
def test_webhook_answers_decide_retrying(
    http_recorder: HttpRecorder, status: int, retryable: bool
) -> None:
    """429 and 5xx may succeed later; other refusals will not; the URL's token is never shown."""
    hook = WebhookAlerter(Secret(f"{http_recorder.url}/status/{status}/s3cr3t-token"))
    error = error_of(hook.send(failure_alert()))
    assert error.retryable is retryable and str(status) in error.message
    assert "s3cr3t-token" not in error.message


def test_hung_and_dead_webhooks_are_retryable(
    http_recorder: HttpRecorder, silent_server: SilentServer
) -> None:
    """A webhook that never answers times out; a closed port is unreachable; both retryable."""
    slow = WebhookAlerter(Secret(f"{http_recorder.url}/slow/x"), timeout_s=0.3)
    silent = WebhookAlerter(Secret(f"http://127.0.0.1:{silent_server.port}/x"), timeout_s=0.3)
    dead = WebhookAlerter(Secret(f"http://127.0.0.1:{closed_port()}/x"), timeout_s=1)
    for hook in (slow, silent, dead):
        error = error_of(hook.send(failure_alert()))
        assert error.retryable, error.message
