"""Webhook alerts: one JSON ``POST`` per alert (the :class:`~lakeflow.ports.Alerter` port for
``monitoring.alerts.webhook``).

Effect. The body is Slack-compatible (``text`` and ``blocks``: Slack incoming webhooks,
Mattermost, Rocket.Chat) or generic (the alert's facts as one JSON object, for an on-call
system or your own service). One :meth:`WebhookAlerter.send` is one request bounded by
``timeout_s``. ``429`` and ``5xx`` answers, timeouts and unreachable hosts are ``retryable``
:class:`~lakeflow.core.alerts.DeliveryError` values; other answers are not. The URL is a
secret (it usually embeds a token): messages name its host only.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Literal

from returns.io import IOFailure, IOResult, IOSuccess

from lakeflow.core.alerts import DeliveryError, Message
from lakeflow.core.config import WebhookAlertConfig
from lakeflow.core.config.values import redact_url
from lakeflow.core.secrets import Secret, scrub

__all__ = ["WebhookAlerter"]

CHANNEL = "webhook"
_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class WebhookAlerter:
    """Posts alerts as JSON to one URL."""

    def __init__(
        self,
        url: Secret,
        *,
        body: Literal["slack", "generic"] = "slack",
        timeout_s: float = 10.0,
    ) -> None:
        self.url = url
        self.body = body
        self.timeout_s = timeout_s

    @classmethod
    def from_config(cls, config: WebhookAlertConfig) -> WebhookAlerter:
        """Pure. The alerter a config names."""
        return cls(config.url, body=config.format, timeout_s=config.timeout_seconds)

    @property
    def channel(self) -> str:
        return CHANNEL

    def __repr__(self) -> str:
        return f"WebhookAlerter({redact_url(self.url.reveal())!r}, body={self.body!r})"

    def send(self, message: Message) -> IOResult[None, DeliveryError]:
        """Effect. ``POST`` ``message`` as JSON (its Slack or generic shape) once."""
        payload = message.slack if self.body == "slack" else message.data
        request = urllib.request.Request(  # noqa: S310 - an http(s) URL, checked by the config
            self.url.reveal(),
            data=json.dumps(payload).encode("utf-8"),
            headers={"Content-Type": "application/json", "User-Agent": "lakeflow"},
            method="POST",
        )
        where = f"webhook {redact_url(self.url.reveal())}"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
                response.read(64 * 1024)
        except urllib.error.HTTPError as exc:
            retryable = exc.code in _RETRYABLE_STATUS
            return self._failed(f"{where} answered {exc.code} {exc.reason}", retryable)
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                return self._failed(f"{where} did not answer within {self.timeout_s:g}s", True)
            text = reason.strerror if isinstance(reason, OSError) and reason.strerror else reason
            return self._failed(f"{where} unreachable: {text}", True)
        except TimeoutError:
            return self._failed(f"{where} did not answer within {self.timeout_s:g}s", True)
        except OSError as exc:
            return self._failed(f"{where} failed: {exc.strerror or exc}", True)
        return IOSuccess(None)

    def _failed(self, text: str, retryable: bool) -> IOResult[None, DeliveryError]:
        return IOFailure(DeliveryError(CHANNEL, scrub(text, [self.url]), retryable))
