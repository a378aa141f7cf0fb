"""Public alert API: the event handlers receive and the handlers the plugin ships.

Handlers are registered with :func:`add_alert_handler`; see docs/api.md.
"""

from opentelemetry.instrumentation.flujo._internal.alerts import (
    AlertEvent,
    AlertHandler,
    LogsApiHandler,
    SmtpHandler,
    WebhookHandler,
)
from opentelemetry.instrumentation.flujo._internal.api import (
    add_alert_handler,
    remove_alert_handler,
)

__all__ = [
    "AlertEvent",
    "AlertHandler",
    "LogsApiHandler",
    "SmtpHandler",
    "WebhookHandler",
    "add_alert_handler",
    "remove_alert_handler",
]
