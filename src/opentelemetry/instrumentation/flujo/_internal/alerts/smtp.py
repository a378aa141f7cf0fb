"""Alert events as e-mails (the monitoring guide's AlertHandler), critical only by default."""

from __future__ import annotations

import json
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage

from opentelemetry.instrumentation.flujo._internal.alerts.event import AlertEvent

_DEFAULT_PORT = {"starttls": 587, "ssl": 465, "none": 25}


class SmtpError(RuntimeError):
    """A mail that could not be sent; its message names no credential."""


class SmtpHandler:
    """Mails each event (subject ``CRITICAL: <metric> on <executor>``, the JSON payload in
    the body); raises ``SmtpError`` (counted as dropped) when sending fails. Credentials
    are kept private: not in the repr, not in what is raised or logged.

    Args:
        host: the SMTP server.
        sender: the From address.
        recipients: the To addresses.
        port: the server's port; 0 for the security mode's default (587, 465, 25).
        security: ``starttls``, ``ssl`` (implicit TLS) or ``none`` (ValueError
            otherwise); certificates are verified.
        username: login user; no login when empty.
        password: login password.
        timeout_s: timeout of the SMTP conversation.
    """

    name = "smtp"

    def __init__(self, host: str, sender: str, recipients: Sequence[str], port: int = 0,
                 security: str = "starttls", username: str = "", password: str = "",
                 timeout_s: float = 10.0) -> None:
        if security not in _DEFAULT_PORT:
            raise ValueError(f"security must be one of {sorted(_DEFAULT_PORT)}")
        self.host = host
        self.port = port or _DEFAULT_PORT[security]
        self.sender = sender
        self.recipients = tuple(recipients)
        self.security = security
        self.timeout_s = timeout_s
        self.__credentials = (username, password)

    def __repr__(self) -> str:
        return f"SmtpHandler({self.host!r}, port={self.port}, security={self.security!r})"

    def message(self, event: AlertEvent) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = f"{event.new_state.upper()}: {event.metric} on {event.executor}"
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg.set_content(f"Performance alert: {event.message}\n\n"
                        f"{json.dumps(event.to_dict(), indent=2)}\n")
        return msg

    def __call__(self, event: AlertEvent) -> None:
        context = ssl.create_default_context()
        username, password = self.__credentials
        try:
            if self.security == "ssl":
                server: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout_s, context=context)
            else:
                server = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
            with server:
                if self.security == "starttls":
                    server.starttls(context=context)
                if username:
                    server.login(username, password)
                server.send_message(self.message(event))
        except (smtplib.SMTPException, OSError) as exc:
            # Re-raised without the chain: a login error's traceback holds the password
            # in its frame locals, which some log formatters print.
            raise SmtpError(f"mail via {self.host}:{self.port} failed: "
                            f"{type(exc).__name__}") from None
