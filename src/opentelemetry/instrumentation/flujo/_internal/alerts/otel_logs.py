"""Alert events as OpenTelemetry log records (events), when a LoggerProvider is set."""

from __future__ import annotations

import logging
from inspect import signature
from typing import Any

from opentelemetry._logs import (
    Logger,
    LoggerProvider,
    NoOpLoggerProvider,
    SeverityNumber,
    get_logger_provider,
)

from opentelemetry.instrumentation.flujo._internal.alerts.event import AlertEvent
from opentelemetry.instrumentation.flujo._internal.catalog import (
    ALERT_EVENT_NAME,
    EXECUTOR_NAME,
    SCOPE,
    THRESHOLD_LIMIT,
    THRESHOLD_METRIC,
    THRESHOLD_PREVIOUS_STATE,
    THRESHOLD_STATE,
    THRESHOLD_UNIT,
    THRESHOLD_VALUE,
)
from opentelemetry.instrumentation.flujo.version import __version__

try:  # the API's stand-in until a provider is set (1.30 .. 1.45 keep it here)
    from opentelemetry._logs._internal import ProxyLoggerProvider
except ImportError:  # pragma: no cover
    ProxyLoggerProvider = NoOpLoggerProvider  # type: ignore[misc,assignment]

# As in Python logging (AlertEvent.log_level, by the state entered), with its level names.
_SEVERITY = {logging.INFO: SeverityNumber.INFO, logging.WARNING: SeverityNumber.WARN,
             logging.ERROR: SeverityNumber.ERROR}


def attributes(event: AlertEvent) -> dict[str, str | float]:
    out: dict[str, str | float] = {
        EXECUTOR_NAME: event.executor,
        THRESHOLD_METRIC: event.metric,
        THRESHOLD_STATE: event.new_state,
        THRESHOLD_PREVIOUS_STATE: event.old_state,
        THRESHOLD_UNIT: event.unit,
    }
    if event.value is not None:
        out[THRESHOLD_VALUE] = event.value
    if event.limit is not None:
        out[THRESHOLD_LIMIT] = event.limit
    return out


class LogsApiHandler:
    """Emits each event as a log record (event ``flujo.threshold.transition``) through
    ``logger_provider``, or the global one once it is set; nothing while none is.

    Args:
        logger_provider: the LoggerProvider to emit through; the global one when None.
    """

    name = "otel_logs"

    def __init__(self, logger_provider: LoggerProvider | None = None) -> None:
        self._provider = logger_provider

    def __call__(self, event: AlertEvent) -> None:
        provider = self._provider or get_logger_provider()
        if isinstance(provider, (NoOpLoggerProvider, ProxyLoggerProvider)):
            return  # no LoggerProvider configured: nothing would be recorded
        emit(provider.get_logger(SCOPE, __version__),
             timestamp=event.time_unix_nano,
             severity_number=_SEVERITY[event.log_level],
             severity_text=logging.getLevelName(event.log_level),
             body=event.message,
             attributes=attributes(event))


# The logs API takes the record's fields and an event name from 1.38 on; before, only a
# LogRecord, which an SDK logger needs to be the SDK's (it carries the resource), and an
# event's name is its "event.name" attribute (the Events API's convention then).
_EMIT_TAKES_FIELDS = "event_name" in signature(Logger.emit).parameters


def emit(logger: Logger, **fields: Any) -> None:
    """Emit one event named ALERT_EVENT_NAME through ``logger``, on every supported API version."""
    if _EMIT_TAKES_FIELDS:
        logger.emit(**fields, event_name=ALERT_EVENT_NAME)
        return
    # before 1.38 only; later SDKs no longer export it (mypy checks against the newest)
    from opentelemetry.sdk._logs import LogRecord  # type: ignore[attr-defined]

    fields["attributes"] = {**fields["attributes"], "event.name": ALERT_EVENT_NAME}
    logger.emit(LogRecord(**fields, resource=getattr(logger, "resource", None)))
