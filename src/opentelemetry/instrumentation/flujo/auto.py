"""Import-time activation: ``import opentelemetry.instrumentation.flujo.auto``.

Sets a MeterProvider from the standard environment when the application has none
(an existing one is used as it is), then instruments flujo. Never raises.
"""

from __future__ import annotations

import logging

_logger = logging.getLogger(__name__)


def activate() -> None:
    try:
        from opentelemetry.instrumentation.flujo import FlujoInstrumentor
        from opentelemetry.instrumentation.flujo._internal.otel.sdk_setup import (
            ensure_meter_provider,
        )
        from opentelemetry.instrumentation.flujo._internal.runtime import open_runtime

        config = open_runtime().config
        if not config.enabled:
            return
        ensure_meter_provider(config)
        instrumentor = FlujoInstrumentor()
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument()
    except Exception:
        _logger.warning("flujo auto-instrumentation failed; the application is unaffected",
                        exc_info=True)


activate()
