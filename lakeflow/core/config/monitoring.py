"""``monitoring:`` service levels and alert channels.

Pure. Parsed and kept with the config; secrets (the SMTP password, the webhook URL) are held as
:class:`~lakeflow.core.secrets.Secret`.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, Strict, model_validator

from lakeflow.core.config.base import ConfigModel, Expect
from lakeflow.core.config.errors import problems
from lakeflow.core.config.values import (
    Bool,
    Fraction,
    NonEmpty,
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
    "SlaConfig",
    "SmtpConfig",
    "WebhookAlertConfig",
]


def _email_ok(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(at and local and domain) and not any(c.isspace() for c in address)


Email = Annotated[str, Strict(), satisfies(_email_ok), Expect("an email address")]


class SlaConfig(ConfigModel):
    """Service levels: the longest acceptable run and the lowest acceptable success rate."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {"examples": [{"max_duration_s": 1800, "min_success_rate": 0.95}]}
    }

    max_duration_s: PositiveFloat | None = None
    """The longest acceptable run, in seconds."""
    min_success_rate: Fraction | None = None
    """The lowest acceptable fraction of successful runs."""

    @model_validator(mode="after")
    def _says_something(self) -> Self:
        if self.max_duration_s is None and self.min_success_rate is None:
            raise problems(((), "expected max_duration_s and/or min_success_rate"))
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
    """The sender address (YAML key ``from``)."""
    smtp: SmtpConfig | None = None
    """The SMTP server (``localhost:25`` when unset)."""


class WebhookAlertConfig(ConfigModel):
    """Webhook alerts: the URL is a secret (webhook URLs usually embed a token)."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [{"url": "https://hooks.example.com/services/${HOOK_TOKEN}"}]
        }
    }

    url: Annotated[Secret, SecretValue("url", "ALERT_WEBHOOK")]
    """An http(s) URL, shown as its host only."""


class AlertsConfig(ConfigModel):
    """Where alerts go."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [{"webhook": {"url": "https://hooks.example.com/services/${HOOK_TOKEN}"}}]
        }
    }

    email: EmailAlertConfig | None = None
    """Send alerts by email."""
    webhook: WebhookAlertConfig | None = None
    """Post alerts to a webhook."""


class MonitoringConfig(ConfigModel):
    """Service levels and alert channels (parsed and kept; alerting comes later)."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [
                {
                    "sla": {"max_duration_s": 1800},
                    "alerts": {"email": {"to": ["data-team@example.com"]}},
                }
            ]
        }
    }

    sla: SlaConfig | None = None
    """Service levels."""
    alerts: AlertsConfig | None = None
    """Alert channels."""
