"""The owner of the plugin's state: one :class:`Runtime` per configuration.

A runtime owns everything the plugin keeps while it runs: the executor registry and
the stats fetcher's threads, the threshold engine with the overrides made from code,
the alert handlers with their queues and threads, the flujo wrapper's sources and
duration histograms, and the fork guard for the MeterProviders it serves. Two
runtimes share nothing, so two MeterProviders served by two runtimes have their own
executors, thresholds and handlers. :meth:`Runtime.close` ends all of it.

The module itself keeps one thing: the default runtime, which the public API acts on
(:func:`get_runtime`; :func:`reset_runtime` replaces it).
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable
from typing import Any

from opentelemetry.metrics import MeterProvider

from opentelemetry import metrics
from opentelemetry.instrumentation.flujo._internal.alerts import Dispatcher, dispatcher
from opentelemetry.instrumentation.flujo._internal.catalog import SCOPE
from opentelemetry.instrumentation.flujo._internal.collect.fetch import StatsFetcher
from opentelemetry.instrumentation.flujo._internal.collect.normalise import Normaliser
from opentelemetry.instrumentation.flujo._internal.collect.registry import Registry
from opentelemetry.instrumentation.flujo._internal.collect.snapshot import SnapshotTaker
from opentelemetry.instrumentation.flujo._internal.config import Config, load_config
from opentelemetry.instrumentation.flujo._internal.flujo_hooks.sources import FlujoSources
from opentelemetry.instrumentation.flujo._internal.otel.binding import (
    Binding,
    binding_of,
    new_binding,
)
from opentelemetry.instrumentation.flujo._internal.otel.fork_guard import ForkGuard, sdk_locks
from opentelemetry.instrumentation.flujo._internal.otel.instruments import register_catalog
from opentelemetry.instrumentation.flujo._internal.thresholds.engine import ThresholdEngine
from opentelemetry.instrumentation.flujo.version import __version__

_logger = logging.getLogger(__name__)

SCHEMA_URL = "https://opentelemetry.io/schemas/1.26.0"
# Queued alerts get this long to go out when a runtime closes or the interpreter exits (the
# threads are daemons and would die mid-queue); a handler that hangs costs at most this.
CLOSE_FLUSH_S = 2.0

BindingHook = Callable[[Binding], None]


class Runtime:
    """The plugin's state for one configuration, and the MeterProviders it serves.

    Args:
        config: the settings; read from the environment when None.
    """

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or load_config()
        self.registry = Registry(self.config.max_executor_names)
        self.fetcher = StatsFetcher()
        self.taker = SnapshotTaker(self.registry, Normaliser(self.config.rate_unit),
                                   self.config.stats_timeout_s, self.fetcher,
                                   ratio_window_s=self.config.ratio_window_s)
        try:
            self.alerts = dispatcher(self.config.alerts)
        except Exception:  # a handler that cannot be built must not stop the metrics
            _logger.warning("alert handlers could not be configured", exc_info=True)
            self.alerts = Dispatcher(self.config.alerts.queue_size)
        self.thresholds = ThresholdEngine(self.config, self.alerts)
        self.flujo = FlujoSources(self.registry, self.config)
        # Each hook adds one concern's instruments to a binding this runtime serves.
        self.hooks: list[BindingHook] = [register_catalog, self.thresholds.bind]
        self.closed = False
        self._bindings: list[Binding] = []
        self._lock = threading.RLock()  # a hook may add a hook (measure_flujo)
        self._fork_guard = ForkGuard(self._fork_locks, self.fetcher.after_fork)
        atexit.register(self._at_exit)

    def bind(self, meter_provider: MeterProvider | None = None) -> Binding:
        """Serve ``meter_provider`` (the global one when None), taking it over from the
        runtime that served it before, if any."""
        provider = meter_provider or metrics.get_meter_provider()
        previous = None
        with self._lock:
            binding = binding_of(provider) or new_binding(
                provider, provider.get_meter(SCOPE, __version__, schema_url=SCHEMA_URL))
            if binding.owner is not self:
                previous = self._serve(binding, sdk_locks(provider))
            binding.active = True
        if previous is not None:  # outside this runtime's lock: it takes its own
            previous.release(binding)
        return binding

    def _serve(self, binding: Binding, locks: list[Any]) -> Runtime | None:
        """Serve ``binding``; returns the runtime that served it, to be told."""
        previous = binding.owner
        binding.serve(self)
        binding.locks = locks
        for hook in self.hooks:
            hook(binding)
        self._bindings = [*self._bindings, binding]  # replaced: read without the lock
        if locks:
            self._fork_guard.register()
        return previous

    def release(self, binding: Binding) -> None:
        """``binding``'s provider is served by another runtime from now on."""
        with self._lock:
            self._bindings = [b for b in self._bindings if b is not binding]
        self.thresholds.release(binding)
        self.flujo.release(binding)

    def adopt(self, other: Runtime) -> None:
        """Serve every provider ``other`` serves (each as active as it was there), and
        measure flujo if ``other`` did."""
        if other.measures_flujo:
            self.measure_flujo()
        for binding in other.bindings():
            with self._lock:
                active = binding.active
                self._serve(binding, binding.locks)
                binding.active = active
            other.release(binding)

    def add_hook(self, hook: BindingHook) -> None:
        """Run ``hook`` on every binding this runtime serves, now and later."""
        with self._lock:
            self.hooks.append(hook)
            for binding in self._bindings:
                hook(binding)

    def measure_flujo(self) -> None:
        """Record the flujo wrapper's duration histogram into this runtime's providers."""
        with self._lock:
            if not self.measures_flujo:
                self.add_hook(self.flujo.add_histogram)

    @property
    def measures_flujo(self) -> bool:
        return self.flujo.add_histogram in self.hooks

    def bindings(self) -> list[Binding]:
        return list(self._bindings)

    def deactivate(self) -> None:
        for binding in self.bindings():
            if binding.owner is self:
                binding.active = False

    def close(self) -> None:
        """Stop serving: the providers' instruments report nothing (until a runtime binds
        them again), queued alerts get ``CLOSE_FLUSH_S`` to go out and the handler
        threads end, the flujo executors choose their source anew. Idempotent."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self._fork_guard.closed = True
            served, self._bindings = self._bindings, []
        for binding in served:
            if binding.owner is self:
                binding.active = False
        self.flujo.close()
        self.fetcher.close()
        self.alerts.close(CLOSE_FLUSH_S)
        self.registry.clear()
        atexit.unregister(self._at_exit)

    def _at_exit(self) -> None:
        """At interpreter exit, queued alerts get ``CLOSE_FLUSH_S`` to go out (the handler
        threads are daemons). Nothing else stops: a MeterProvider's own exit handler may
        still run its final collection and export, which must see the executors."""
        self.alerts.flush(CLOSE_FLUSH_S)

    def _fork_locks(self) -> list[Any]:
        # The owner decides: a binding another runtime took over is not released yet.
        return [lock for binding in self._bindings if binding.owner is self
                for lock in binding.locks]


_default: Runtime | None = None
_default_lock = threading.Lock()


def get_runtime() -> Runtime:
    """The default runtime, the one the public API acts on (created on first use)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Runtime()
    return _default


def reset_runtime(config: Config | None = None) -> Runtime:
    """A new default runtime (``config``, or the environment read again).

    It serves the providers the previous one served (their instruments report its
    executors from the next collection on) and measures flujo if the previous one did;
    the previous one is closed, with its executors, code overrides and alert handlers.
    """
    global _default
    with _default_lock:
        old, new = _default, Runtime(config)
        if old is not None:
            new.adopt(old)
        _default = new
    if old is not None:
        old.close()
    return new
