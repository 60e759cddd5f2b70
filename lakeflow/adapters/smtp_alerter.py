"""Email alerts over SMTP (the standard library's ``smtplib``): the :class:`~lakeflow.ports.Alerter`
port for ``monitoring.alerts.email``.

Effect. One :meth:`SmtpAlerter.send` is one SMTP session bounded by ``timeout_s`` per network
operation: connect (plain, or TLS from the start with ``ssl``), ``STARTTLS`` when asked (the
server's certificate is verified against the system's trust store), ``LOGIN`` when a username
is given (the password comes from the environment only), one message to every recipient.
Failures are :class:`~lakeflow.core.alerts.DeliveryError` values: transient ones (the server
unreachable or slow, a ``4xx`` reply) are ``retryable``; refused logins, refused recipients,
certificate problems and ``5xx`` replies are not. No message ever holds the password.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from returns.io import IOFailure, IOResult, IOSuccess

from lakeflow.core.alerts import DeliveryError, Message
from lakeflow.core.config import EmailAlertConfig
from lakeflow.core.secrets import Secret, scrub

__all__ = ["SmtpAlerter"]

CHANNEL = "email"


class SmtpAlerter:
    """Sends alerts by email through one SMTP server."""

    def __init__(
        self,
        to: Sequence[str],
        *,
        sender: str | None = None,
        host: str = "localhost",
        port: int = 25,
        username: str | None = None,
        password: Secret | None = None,
        starttls: bool = False,
        use_ssl: bool = False,
        timeout_s: float = 10.0,
    ) -> None:
        self.to = tuple(to)
        self.sender = sender or f"lakeflow@{socket.getfqdn()}"
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.starttls = starttls
        self.use_ssl = use_ssl
        self.timeout_s = timeout_s

    @classmethod
    def from_config(cls, config: EmailAlertConfig) -> SmtpAlerter:
        """Effect (reads the host name for the default sender). The alerter a config names."""
        smtp = config.smtp
        if smtp is None:
            return cls(config.to, sender=config.sender)
        return cls(
            config.to,
            sender=config.sender,
            host=smtp.host,
            port=smtp.port,
            username=smtp.username,
            password=smtp.password,
            starttls=smtp.starttls,
            use_ssl=smtp.ssl,
            timeout_s=smtp.timeout_seconds,
        )

    @property
    def channel(self) -> str:
        return CHANNEL

    def __repr__(self) -> str:
        return f"SmtpAlerter(to={list(self.to)!r}, host={self.host!r}, port={self.port})"

    def _email(self, message: Message) -> EmailMessage:
        email = EmailMessage()
        email["Subject"] = message.subject
        email["From"] = self.sender
        email["To"] = ", ".join(self.to)
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        email.set_content(message.text)
        if message.html is not None:
            email.add_alternative(message.html, subtype="html")
        for name, mime, content in message.attachments:
            main, _, sub = mime.partition("/")
            email.add_attachment(content, maintype=main, subtype=sub, filename=name)
        return email

    def _session(self, email: EmailMessage) -> None:
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self.use_ssl:
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        with client:
            if self.starttls:
                client.starttls(context=context)
            if self.username is not None and self.password is not None:
                client.login(self.username, self.password.reveal())
            client.send_message(email, to_addrs=list(self.to))

    def send(self, message: Message) -> IOResult[None, DeliveryError]:
        """Effect. Send ``message`` to every recipient in one SMTP session."""
        where = f"SMTP {self.host}:{self.port}"
        try:
            self._session(self._email(message))
        except smtplib.SMTPAuthenticationError as exc:
            return self._failed(f"{where} refused the login ({exc.smtp_code})", retryable=False)
        except smtplib.SMTPRecipientsRefused as exc:
            refused = ", ".join(sorted(exc.recipients))
            return self._failed(f"{where} refused the recipients {refused}", retryable=False)
        except smtplib.SMTPNotSupportedError as exc:
            return self._failed(f"{where}: {exc} (STARTTLS or login)", retryable=False)
        except smtplib.SMTPResponseException as exc:
            raw = exc.smtp_error
            reply = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
            transient = 400 <= exc.smtp_code < 500
            return self._failed(f"{where} replied {exc.smtp_code} {reply}", retryable=transient)
        except smtplib.SMTPServerDisconnected as exc:
            if "timed out" in str(exc):  # smtplib reports a read timeout as a disconnection
                return self._failed(f"{where} did not answer within {self.timeout_s:g}s", True)
            return self._failed(f"{where} disconnected: {exc}", retryable=True)
        except smtplib.SMTPException as exc:
            return self._failed(f"{where}: {exc}", retryable=False)
        except ssl.SSLError as exc:
            return self._failed(f"{where}: TLS failed: {exc.reason or exc}", retryable=False)
        except TimeoutError:
            return self._failed(f"{where} did not answer within {self.timeout_s:g}s", True)
        except OSError as exc:
            return self._failed(f"{where} unreachable: {exc.strerror or exc}", retryable=True)
        return IOSuccess(None)

    def _failed(self, text: str, retryable: bool) -> IOResult[None, DeliveryError]:
        secrets = [self.password] if self.password is not None else []
        return IOFailure(DeliveryError(CHANNEL, scrub(text, secrets), retryable))
