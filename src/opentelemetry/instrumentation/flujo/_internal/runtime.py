"""Process-wide state: the configuration, the executor registry and the bindings.

Instruments are created once per MeterProvider (the SDK cannot unregister a
callback, and re-creating an instrument drops its callbacks with a warning);
executors come and go in the registry instead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from opentelemetry.metrics import MeterProvider

from opentelemetry import metrics
from opentelemetry.instrumentation.flujo._internal.catalog import SCOPE
from opentelemetry.instrumentation.flujo._internal.collect.normalise import Normaliser
from opentelemetry.instrumentation.flujo._internal.collect.registry import Registry
from opentelemetry.instrumentation.flujo._internal.collect.snapshot import SnapshotTaker
from opentelemetry.instrumentation.flujo._internal.config import Config, load_config
from opentelemetry.instrumentation.flujo._internal.otel.binding import Binding
from opentelemetry.instrumentation.flujo._internal.otel.fork_guard import guard_fork
from opentelemetry.instrumentation.flujo._internal.otel.instruments import register_catalog
from opentelemetry.instrumentation.flujo._internal.thresholds.engine import ThresholdEngine
from opentelemetry.instrumentation.flujo.version import __version__

_logger = logging.getLogger(__name__)

SCHEMA_URL = "https://opentelemetry.io/schemas/1.26.0"

BindingHook = Callable[[Binding, Config], None]


class Runtime:
    def __init__(self, config: Config | None = None) -> None:
        self.config = config or load_config()
        self.registry = Registry(self.config.max_executor_names)
        self.taker = SnapshotTaker(
            self.registry, Normaliser(self.config.rate_unit), self.config.stats_timeout_s)
        self._bindings: dict[int, tuple[MeterProvider, Binding]] = {}
        self._lock = threading.Lock()
        # Each hook adds one concern's instruments to a new binding (catalog
        # metrics here; the threshold engine adds its own).
        self.hooks: list[BindingHook] = [lambda binding, _config: register_catalog(binding)]
        # The threshold engine: one engine (rules, hysteresis state) shared by every binding.
        self.thresholds = ThresholdEngine(self.config)
        self.hooks.append(self.thresholds.bind)

    def bind(self, meter_provider: MeterProvider | None = None) -> Binding:
        provider = meter_provider or metrics.get_meter_provider()
        with self._lock:
            found = self._bindings.get(id(provider))
            if found is not None and found[0] is provider:
                found[1].active = True
                return found[1]
            guard_fork(provider)
            meter = provider.get_meter(SCOPE, __version__, schema_url=SCHEMA_URL)
            binding = Binding(meter, self.taker, self.config.excluded_metrics)
            for hook in self.hooks:
                hook(binding, self.config)
            self._bindings[id(provider)] = (provider, binding)
            return binding

    def bindings(self) -> list[Binding]:
        with self._lock:
            return [binding for _, binding in self._bindings.values()]

    def deactivate(self) -> None:
        for binding in self.bindings():
            binding.active = False


_runtime: Runtime | None = None
_runtime_lock = threading.Lock()


def get_runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        with _runtime_lock:
            if _runtime is None:
                _runtime = Runtime()
    return _runtime


def reset_runtime(config: Config | None = None) -> Runtime:
    """A fresh runtime (tests, and re-reading the environment)."""
    global _runtime
    with _runtime_lock:
        _runtime = Runtime(config)
    return _runtime


def instrument_executor(
    executor: Any, name: str | None = None, meter_provider: MeterProvider | None = None
) -> bool:
    """Observe ``executor`` (any object with ``get_optimization_stats()``).

    Held by weak reference; ``name`` defaults to the class name. Returns False, with a
    warning, for an object that has no ``get_optimization_stats``; never raises.
    """
    try:
        runtime = get_runtime()
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
    """Stop observing ``executor``; its counters stay in its name's totals."""
    try:
        return get_runtime().registry.remove(executor)
    except Exception:
        _logger.warning("could not uninstrument %r", executor, exc_info=True)
        return False
