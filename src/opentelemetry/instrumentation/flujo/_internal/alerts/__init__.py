"""Alert events and their delivery: logging, the OpenTelemetry Logs API, callables,
a webhook and SMTP. See :mod:`.dispatch` for the threading model."""

from __future__ import annotations

import logging

from opentelemetry.instrumentation.flujo._internal.alerts.dispatch import (
    AlertHandler,
    Dispatcher,
)
from opentelemetry.instrumentation.flujo._internal.alerts.event import AlertEvent
from opentelemetry.instrumentation.flujo._internal.alerts.otel_logs import LogsApiHandler
from opentelemetry.instrumentation.flujo._internal.alerts.smtp import SmtpHandler
from opentelemetry.instrumentation.flujo._internal.alerts.webhook import WebhookHandler
from opentelemetry.instrumentation.flujo._internal.config import AlertConfig

_logger = logging.getLogger(__name__)

__all__ = [
    "AlertEvent",
    "AlertHandler",
    "Dispatcher",
    "LogsApiHandler",
    "SmtpHandler",
    "WebhookHandler",
    "dispatcher",
]


def dispatcher(config: AlertConfig) -> Dispatcher:
    """A dispatcher with the handlers ``config`` asks for: Logs API always, webhook, SMTP."""
    out = Dispatcher(config.queue_size)
    out.add(LogsApiHandler())
    if config.webhook_url:
        out.add(WebhookHandler(config.webhook_url, dict(config.webhook_headers),
                               config.webhook_timeout_s, config.webhook_retries),
                min_level=config.webhook_min_level)
    if config.smtp_host or config.smtp_to:
        if config.smtp_host and config.smtp_from and config.smtp_to:
            out.add(SmtpHandler(config.smtp_host, config.smtp_from, config.smtp_to,
                                config.smtp_port, config.smtp_security, config.smtp_username,
                                config.smtp_password, config.smtp_timeout_s),
                    min_level=config.smtp_min_level)
        else:
            _logger.warning("e-mail alerts need OTEL_PYTHON_FLUJO_ALERT_SMTP_HOST, _FROM and "
                            "_TO; e-mail alerts are off")
    return out
