"""``monitoring:`` service levels and alert channels.

Pure. Acted on by :mod:`lakeflow.run.monitor` at the end of every run (and by ``lakeflow
health`` for freshness); secrets (the SMTP password, the webhook and Pushgateway URLs) are held
as :class:`~lakeflow.core.secrets.Secret`.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, Strict, model_validator

from lakeflow.core.config.base import ConfigModel, Expect
from lakeflow.core.config.errors import problems
from lakeflow.core.config.values import (
    Bool,
    Fraction,
    NonEmpty,
    NonNegativeInt,
    Port,
    PositiveFloat,
    SecretValue,
    Text,
    satisfies,
)
from lakeflow.core.secrets import Secret

__all__ = [
    "AlertsConfig",
    "EmailAlertConfig",
    "MonitoringConfig",
    "PrometheusConfig",
    "SlaConfig",
    "SmtpConfig",
    "WebhookAlertConfig",
]


def _email_ok(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(at and local and domain) and not any(c.isspace() for c in address)


Email = Annotated[str, Strict(), satisfies(_email_ok), Expect("an email address")]


class SlaConfig(ConfigModel):
    """Service levels every run is checked against; a breach is recorded and alerted, never
    changes what was published."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [
                {
                    "max_duration_s": 1800,
                    "min_success_rate": 0.5,
                    "max_quarantined_fraction": 0.05,
                    "max_errors": 0,
                    "max_staleness_s": 93600,
                }
            ]
        }
    }

    max_duration_s: PositiveFloat | None = None
    """The longest acceptable run, in seconds (start to end, retries included)."""
    min_success_rate: Fraction | None = None
    """The lowest acceptable ``valid / extracted`` rows of a run: rows published out of rows
    read (rows cleaned, filtered or quarantined away count against it). Not checked for a run
    that read nothing."""
    max_quarantined_rows: NonNegativeInt | None = None
    """The most rows a run may quarantine."""
    max_quarantined_fraction: Fraction | None = None
    """The largest acceptable ``quarantined / transformed`` rows of a run (the share of
    validated rows that failed an error rule)."""
    max_errors: NonNegativeInt | None = None
    """The most errors a run may have: each error-severity check that failed, plus the run's
    own failure when it failed (``0``: any error is a breach)."""
    max_staleness_s: PositiveFloat | None = None
    """Freshness: the longest acceptable time since the pipeline last published, in seconds;
    checked at the end of every run that did not publish and by ``lakeflow health``."""

    @model_validator(mode="after")
    def _says_something(self) -> Self:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            keys = ", ".join(type(self).model_fields)
            raise problems(((), f"expected at least one of {keys}"))
        return self


class SmtpConfig(ConfigModel):
    """The SMTP server alerts are sent through."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [
                {
                    "host": "smtp.example.com",
                    "port": 587,
                    "username": "etl",
                    "password": "${SMTP_PASSWORD}",
                    "starttls": True,
                }
            ]
        }
    }

    host: Text
    """The server's host name."""
    port: Port = 25
    """The server's port."""
    username: Text | None = None
    """The login, when the server needs one."""
    password: Annotated[Secret, SecretValue("env", "SMTP_PASSWORD")] | None = None
    """The password (from the environment only)."""
    starttls: Bool = False
    """Upgrade the connection with STARTTLS."""
    ssl: Bool = False
    """Connect over TLS from the start (not with ``starttls``)."""
    timeout_seconds: PositiveFloat = 10.0
    """How long to wait for the server."""

    @model_validator(mode="after")
    def _one_tls_mode(self) -> Self:
        if self.starttls and self.ssl:
            raise problems((("ssl",), "use either starttls or ssl, not both"))
        if (self.username is None) != (self.password is None):
            missing = "password" if self.password is None else "username"
            raise problems(((missing,), "username and password go together (SMTP login)"))
        return self


class EmailAlertConfig(ConfigModel):
    """Email alerts: recipients, sender and SMTP server."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [{"to": ["data-team@example.com"], "from": "etl@example.com"}]
        }
    }

    to: Annotated[tuple[Email, ...], NonEmpty(), Expect("a non-empty list of email addresses")]
    """The recipients."""
    sender: Email | None = Field(default=None, alias="from")
    """The sender address (YAML key ``from``; default ``lakeflow@`` this machine's name)."""
    smtp: SmtpConfig | None = None
    """The SMTP server (``localhost:25`` when unset)."""


class WebhookAlertConfig(ConfigModel):
    """Webhook alerts: the URL is a secret (webhook URLs usually embed a token)."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [
                {"url": "https://hooks.example.com/services/${HOOK_TOKEN}", "format": "slack"}
            ]
        }
    }

    url: Annotated[Secret, SecretValue("url", "ALERT_WEBHOOK")]
    """An http(s) URL, shown as its host only."""
    format: Annotated[Literal["slack", "generic"], Expect("one of slack, generic")] = "slack"
    """``slack``: a Slack-compatible body (``text`` and ``blocks``; Mattermost and Teams
    workflows accept it too); ``generic``: the alert's fields as one JSON object."""
    timeout_seconds: PositiveFloat = 10.0
    """How long one request may take."""


class AlertsConfig(ConfigModel):
    """Where alerts go, and when: on failure, on an SLA breach, on ``published_not_loaded``,
    and on success only with ``on_success``."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [{"webhook": {"url": "https://hooks.example.com/services/${HOOK_TOKEN}"}}]
        }
    }

    email: EmailAlertConfig | None = None
    """Send alerts by email."""
    webhook: WebhookAlertConfig | None = None
    """Post alerts to a webhook."""
    on_success: Bool = False
    """Also alert when a run published without an SLA breach."""
    timeout_seconds: PositiveFloat = 30.0
    """The longest a run waits for all its alerts (channels are tried in parallel, retries
    included); a channel still busy then is recorded as failed and the run ends."""

    @model_validator(mode="after")
    def _has_a_channel(self) -> Self:
        if self.email is None and self.webhook is None:
            raise problems(((), "expected email and/or webhook"))
        return self


class PrometheusConfig(ConfigModel):
    """Run metrics for Prometheus: pushed to a Pushgateway and/or written for node-exporter."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [
                {"pushgateway": "http://pushgateway.monitoring:9091"},
                {"textfile_dir": "/var/lib/node_exporter/textfile_collector"},
            ]
        }
    }

    pushgateway: Annotated[Secret, SecretValue("url", "PUSHGATEWAY_URL")] | None = None
    """A Pushgateway's http(s) URL: each run's metrics are pushed under the grouping key
    ``job=<pipeline>`` (the batch-job convention)."""
    textfile_dir: Text | None = None
    """A node-exporter textfile-collector folder: each run atomically replaces
    ``lakeflow_<pipeline>.prom`` there (relative to the config file's folder)."""
    timeout_seconds: PositiveFloat = 10.0
    """How long a push may take."""

    @model_validator(mode="after")
    def _has_a_target(self) -> Self:
        if self.pushgateway is None and self.textfile_dir is None:
            raise problems(((), "expected pushgateway and/or textfile_dir"))
        return self


class MonitoringConfig(ConfigModel):
    """Service levels, alert channels and metrics of every run."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [
                {
                    "sla": {"max_duration_s": 1800},
                    "alerts": {"email": {"to": ["data-team@example.com"]}},
                    "prometheus": {"pushgateway": "http://pushgateway.monitoring:9091"},
                }
            ]
        }
    }

    sla: SlaConfig | None = None
    """Service levels."""
    alerts: AlertsConfig | None = None
    """Alert channels."""
    prometheus: PrometheusConfig | None = None
    """Run metrics."""
