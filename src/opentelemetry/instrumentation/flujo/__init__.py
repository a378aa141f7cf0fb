"""OpenTelemetry metrics, thresholds and alerts for flujo's ExecutorCore.

Usage::

    from opentelemetry.instrumentation.flujo import FlujoInstrumentor, instrument_executor

    FlujoInstrumentor().instrument()          # every flujo ExecutorCore created afterwards
    instrument_executor(my_executor, "api")   # any object with get_optimization_stats()
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)

from opentelemetry.instrumentation.flujo._internal.alerts import AlertEvent
from opentelemetry.instrumentation.flujo._internal.api import (
    add_alert_handler,
    clear_thresholds,
    flujo_views,
    instrument_executor,
    remove_alert_handler,
    set_thresholds,
    uninstrument_executor,
)
from opentelemetry.instrumentation.flujo._internal.flujo_hooks.patch import patch_flujo
from opentelemetry.instrumentation.flujo._internal.runtime import get_runtime, open_runtime
from opentelemetry.instrumentation.flujo.package import _instruments
from opentelemetry.instrumentation.flujo.version import __version__

_logger = logging.getLogger(__name__)

__all__ = [
    "AlertEvent",
    "FlujoInstrumentor",
    "__version__",
    "add_alert_handler",
    "clear_thresholds",
    "flujo_views",
    "instrument_executor",
    "remove_alert_handler",
    "set_thresholds",
    "uninstrument_executor",
]


class FlujoInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Observes flujo's ExecutorCore, and serves ``instrument_executor`` for any executor.

    ``instrument(**kwargs)`` binds the process's runtime to a MeterProvider and, when
    flujo 0.6 is installed, measures every ExecutorCore (created before or after).
    ``uninstrument()`` ends the runtime: flujo's classes are put back, the instruments
    report nothing, the alert threads end, overrides and handlers added from code are
    dropped, and the public functions refuse work (one warning) until ``instrument()``
    starts a fresh runtime, from the environment read again. Neither raises into the
    application.

    Args:
        meter_provider: (``instrument`` keyword) the provider to report to; the
            global one when absent.
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def instrument(self, **kwargs: Any) -> Any:
        # BaseInstrumentor refuses to run when flujo is missing; this instrumentor
        # still has work then (instrument_executor), so the flujo check is ours.
        kwargs["skip_dep_check"] = True
        return super().instrument(**kwargs)

    def _instrument(self, **kwargs: Any) -> None:
        try:
            runtime = open_runtime()
            if not runtime.config.enabled:
                _logger.debug("OTEL_PYTHON_FLUJO_ENABLED=false: not instrumenting")
                return
            runtime.bind(kwargs.get("meter_provider"))
            conflict = self._check_dependency_conflicts()
            if conflict is None:
                patch_flujo(runtime)
            elif getattr(conflict, "found", None) is not None:
                _logger.warning(
                    "%s; flujo's ExecutorCore is not patched, instrument_executor() still works",
                    conflict)
        except Exception:
            _logger.warning("flujo instrumentation failed; the application is unaffected",
                            exc_info=True)

    def _uninstrument(self, **kwargs: Any) -> None:
        try:
            get_runtime().close()
        except Exception:
            _logger.warning("flujo uninstrumentation failed", exc_info=True)
