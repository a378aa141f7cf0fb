"""The public functions: each acts on the process's runtime (``runtime.get_runtime()``)
and never raises (except where a call is a programming error, said so below). After
``FlujoInstrumentor().uninstrument()`` the runtime is closed: each refuses its work,
with one warning, until ``instrument()`` starts a fresh one."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk.metrics.view import View

from opentelemetry.instrumentation.flujo._internal.alerts import AlertHandler
from opentelemetry.instrumentation.flujo._internal.otel import views
from opentelemetry.instrumentation.flujo._internal.runtime import get_runtime
from opentelemetry.instrumentation.flujo._internal.thresholds.overrides import (
    API_SOURCE,
    parse_inline,
    parse_mapping,
)

_logger = logging.getLogger(__name__)


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
    ``get_optimization_stats``, and after ``FlujoInstrumentor().uninstrument()``
    (one warning); never raises.

    Args:
        executor: the object whose ``get_optimization_stats()`` is read each collection.
        name: its ``flujo.executor.name``; the class name when None. Executors that
            share a name report as one series.
        meter_provider: a provider to report to as well (every provider the plugin
            serves reports every executor). None: the global provider, if the plugin
            serves none yet.
    """
    try:
        runtime = get_runtime()
        if not runtime.config.enabled or runtime.refuses("instrument_executor()"):
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

    Returns False when it is not observed; never raises.
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
    runtime = get_runtime()
    if runtime.refuses("set_thresholds()"):
        return
    if isinstance(spec, str):
        entries = parse_inline(spec, API_SOURCE)
    elif isinstance(spec, Mapping):
        entries = parse_mapping(spec, API_SOURCE)
    else:
        _logger.warning("%s: %r is neither text nor a mapping; ignored", API_SOURCE, spec)
        return
    runtime.thresholds.set_overrides(tuple(entries), replace)


def clear_thresholds() -> None:
    """Drop every override made from code (:func:`set_thresholds`): the environment's
    thresholds apply again."""
    get_runtime().thresholds.set_overrides((), replace=True)


def add_alert_handler(handler: AlertHandler, *, min_level: str = "warning",
                      name: str | None = None) -> AlertHandler:
    """Call ``handler(event)`` on every threshold transition, on its own thread.

    Returns ``handler``, so this also works as a decorator (also when, after
    ``uninstrument()``, it is not added: one warning). Raises ValueError for a
    ``min_level`` other than ``warning`` or ``critical``.

    Args:
        handler: called with each :class:`AlertEvent`; what it raises is counted in
            ``flujo.otel.alerts.dropped``, never seen by the application.
        min_level: ``critical`` keeps only transitions into or out of critical.
        name: the ``handler`` attribute of its dropped counts; the function's name
            when None.
    """
    runtime = get_runtime()
    if not runtime.refuses("add_alert_handler()"):
        runtime.alerts.add(handler, name, min_level)
    return handler


def remove_alert_handler(handler: AlertHandler) -> bool:
    """Stop calling ``handler``; False if it was not added.

    Args:
        handler: a handler given to :func:`add_alert_handler`.
    """
    return get_runtime().alerts.remove(handler)
