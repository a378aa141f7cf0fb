"""The public functions: each acts on the default runtime (``runtime.get_runtime()``),
or on the runtime that serves the MeterProvider it is given, and never raises
(except where a call is a programming error, said so below)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk.metrics.view import View

from opentelemetry.instrumentation.flujo._internal.alerts import AlertHandler
from opentelemetry.instrumentation.flujo._internal.otel import views
from opentelemetry.instrumentation.flujo._internal.otel.binding import binding_of
from opentelemetry.instrumentation.flujo._internal.runtime import Runtime, get_runtime
from opentelemetry.instrumentation.flujo._internal.thresholds.overrides import (
    API_SOURCE,
    parse_inline,
    parse_mapping,
)

_logger = logging.getLogger(__name__)


def _runtime_for(meter_provider: MeterProvider | None) -> Runtime:
    """The runtime serving ``meter_provider``; the default one if none (still) does."""
    binding = binding_of(meter_provider)
    owner = binding.owner if binding is not None else None
    return owner if owner is not None and not owner.closed else get_runtime()


def flujo_views() -> list[View]:
    """Views to pass to ``MeterProvider(views=...)``, sized for the default runtime's
    configuration (``OTEL_PYTHON_FLUJO_MAX_EXECUTOR_NAMES`` and ``_MAX_STEP_NAMES``
    set the cardinality limits they raise).

    ``flujo-otel``, ``import ...flujo.auto`` and ``flujo-otel demo`` add them to the
    providers they build; add them to your own provider the same way.
    """
    return views.flujo_views(get_runtime().config)


def instrument_executor(
    executor: Any, name: str | None = None, meter_provider: MeterProvider | None = None
) -> bool:
    """Observe ``executor``: any object with ``get_optimization_stats()``.

    Held by weak reference. Returns False, with a warning, for an object that has no
    ``get_optimization_stats``; never raises.

    Args:
        executor: the object whose ``get_optimization_stats()`` is read each collection.
        name: its ``flujo.executor.name``; the class name when None. Executors that
            share a name report as one series.
        meter_provider: the provider to report to; the runtime that already serves it
            registers the executor. None: the default runtime, bound to the global
            provider if it serves none yet.
    """
    try:
        runtime = _runtime_for(meter_provider)
        if not runtime.config.enabled:
            return False
        if not callable(getattr(executor, "get_optimization_stats", None)):
            _logger.warning("%r has no get_optimization_stats(); not instrumented", executor)
            return False
        if meter_provider is not None or not runtime.bindings():
            runtime.bind(meter_provider)
        runtime.registry.add(executor, name)
        return True
    except Exception:
        _logger.warning("could not instrument %r", executor, exc_info=True)
        return False


def uninstrument_executor(executor: Any) -> bool:
    """Stop observing ``executor``; its counters stay in its name's totals.

    Args:
        executor: an object given to :func:`instrument_executor` before.

    Returns False when the default runtime does not observe it; never raises.
    """
    try:
        return get_runtime().registry.remove(executor)
    except Exception:
        _logger.warning("could not uninstrument %r", executor, exc_info=True)
        return False


def set_thresholds(spec: str | Mapping[str, Any], *, replace: bool = False) -> None:
    """Override thresholds from code; applied after the environment's, from the next
    collection on. A bad entry gets one warning and is ignored; never raises.

    Args:
        spec: the inline syntax (``"memory.usage: warning>600MiB, critical>900MiB"``)
            or a mapping like the file's (``{"cache.hit_ratio": {"warning": "<40%"}}``).
        replace: drop the earlier calls' overrides first; otherwise calls add up.
    """
    if isinstance(spec, str):
        entries = parse_inline(spec, API_SOURCE)
    elif isinstance(spec, Mapping):
        entries = parse_mapping(spec, API_SOURCE)
    else:
        _logger.warning("%s: %r is neither text nor a mapping; ignored", API_SOURCE, spec)
        return
    get_runtime().thresholds.set_overrides(tuple(entries), replace)


def clear_thresholds() -> None:
    """Drop every override made from code (:func:`set_thresholds`): the environment's
    thresholds apply again."""
    get_runtime().thresholds.set_overrides((), replace=True)


def set_hysteresis(enter: int = 1, exit: int = 1) -> None:
    """No longer has an effect: alert timing is in time, not collections.

    Logs a warning naming the replacement, ``OTEL_PYTHON_FLUJO_THRESHOLD_FOR`` and
    ``OTEL_PYTHON_FLUJO_THRESHOLD_KEEP_FOR`` (durations); kept so that callers do not
    break before 1.0.

    Args:
        enter: ignored (it counted collections).
        exit: ignored (it counted collections).
    """
    _logger.warning("set_hysteresis(enter=%r, exit=%r) has no effect: alert timing is in "
                    "time, not collections; set OTEL_PYTHON_FLUJO_THRESHOLD_FOR and "
                    "OTEL_PYTHON_FLUJO_THRESHOLD_KEEP_FOR (durations such as 30s) instead",
                    enter, exit)


def add_alert_handler(handler: AlertHandler, *, min_level: str = "warning",
                      name: str | None = None) -> AlertHandler:
    """Call ``handler(event)`` on every threshold transition, on its own thread.

    Returns ``handler``, so this also works as a decorator. Raises ValueError for a
    ``min_level`` other than ``warning`` or ``critical``.

    Args:
        handler: called with each :class:`AlertEvent`; what it raises is counted in
            ``flujo.otel.alerts.dropped``, never seen by the application.
        min_level: ``critical`` keeps only transitions into or out of critical.
        name: the ``handler`` attribute of its dropped counts; the function's name
            when None.
    """
    get_runtime().alerts.add(handler, name, min_level)
    return handler


def remove_alert_handler(handler: AlertHandler) -> bool:
    """Stop calling ``handler``; False if it was not added.

    Args:
        handler: a handler given to :func:`add_alert_handler`.
    """
    return get_runtime().alerts.remove(handler)
