"""The owner of the plugin's state: one :class:`Runtime` per process.

A runtime owns everything the plugin keeps while it runs: the executor registry and
the stats fetcher's threads, the threshold engine with the overrides made from code,
the alert handlers with their queues and threads, the flujo wrapper's sources and
instruments, the fork guard for the MeterProviders it serves, and the clock every
timer of the plugin reads. Every stage is handed its runtime (or the part of it it
uses) when it is set up; none looks one up.

The module keeps the process's runtime, the one the public API acts on
(:func:`get_runtime`). :meth:`Runtime.close` is terminal: a closed runtime refuses
work, and :func:`open_runtime` (``FlujoInstrumentor().instrument()``) replaces a
closed one by a fresh one read from the environment.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
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
from opentelemetry.instrumentation.flujo._internal.flujo_hooks.patch import unpatch_flujo
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
# Monotonic nanoseconds: what every timer of a runtime reads (see Runtime).
Clock = Callable[[], int]


class Runtime:
    """The plugin's state, and the MeterProviders it serves.

    Built by :func:`get_runtime` / :func:`open_runtime` (the process's one), acted on
    by the public API and by :class:`FlujoInstrumentor`; it builds every stage and
    hands itself (or the part a stage uses) in. ``clock`` (monotonic nanoseconds) is
    read by every timer it owns: alert timing and counter rates (threshold engine),
    the read-error warnings' interval (snapshot taker), process-memory rates and the
    memory limit's re-read (flujo sources); a test drives it instead of sleeping.

    Args:
        config: the settings; read from the environment when None.
        clock: monotonic nanoseconds; ``time.monotonic_ns`` when None.
    """

    def __init__(self, config: Config | None = None, clock: Clock | None = None) -> None:
        self.config = config or load_config()
        self.clock: Clock = clock or time.monotonic_ns
        self.registry = Registry(self.config.max_executor_names)
        self.fetcher = StatsFetcher()
        try:
            self.alerts = dispatcher(self.config.alerts)
        except Exception:  # a handler that cannot be built must not stop the metrics
            _logger.warning("alert handlers could not be configured", exc_info=True)
            self.alerts = Dispatcher(self.config.alerts.queue_size)
        self.taker = SnapshotTaker(
            self.registry, Normaliser(self.config.rate_unit, self.alerts.log),
            self.config.stats_timeout_s, self.fetcher, self.clock, self.alerts.log,
            self.config.ratio_window_s)
        self.thresholds = ThresholdEngine(self.config, self.alerts, self.clock)
        self.flujo = FlujoSources(self.registry, self.config, self.clock)
        # Each hook adds one concern's instruments to a binding this runtime serves.
        self.hooks: list[BindingHook] = [register_catalog, self.thresholds.bind]
        self.closed = False
        self.measures_flujo = False
        self._refused_warned = False
        self._bindings: list[Binding] = []
        self._lock = threading.RLock()  # a hook may add a hook (measure_flujo)
        self._fork_guard = ForkGuard(self._fork_locks, self._in_child)
        atexit.register(self._at_exit)

    def refuses(self, action: str) -> bool:
        """True, with one warning per runtime, when the runtime is closed: ``action`` is
        not done (a closed runtime's threads and handlers are gone)."""
        if not self.closed:
            return False
        if not self._refused_warned:
            self._refused_warned = True
            _logger.warning("flujo instrumentation was closed (FlujoInstrumentor()."
                            "uninstrument()); %s is ignored until instrument() starts it "
                            "again", action)
        return True

    def bind(self, meter_provider: MeterProvider | None = None) -> Binding | None:
        """Serve ``meter_provider`` (the global one when None); None when closed.

        A provider keeps its binding for life (see ``otel.binding``): one that a closed
        runtime served is served by this one from now on.
        """
        if self.refuses("binding a MeterProvider"):
            return None
        provider = meter_provider or metrics.get_meter_provider()
        with self._lock:
            binding = binding_of(provider) or new_binding(
                provider, provider.get_meter(SCOPE, __version__, schema_url=SCHEMA_URL))
            if binding.runtime is not self:
                binding.serve(self, sdk_locks(provider))
                for hook in self.hooks:
                    hook(binding)
                self._bindings = [*self._bindings, binding]  # replaced: read without the lock
                if binding.locks:
                    self._fork_guard.register()
        return binding

    def add_hook(self, hook: BindingHook) -> None:
        """Run ``hook`` on every binding this runtime serves, now and later."""
        with self._lock:
            self.hooks.append(hook)
            for binding in self._bindings:
                hook(binding)

    def measure_flujo(self) -> None:
        """Record the flujo wrapper's instruments into this runtime's providers (called
        by ``patch_flujo``)."""
        with self._lock:
            if not self.measures_flujo:
                self.measures_flujo = True
                self.add_hook(self.flujo.add_instruments)

    def bindings(self) -> list[Binding]:
        return list(self._bindings)

    def close(self) -> None:
        """End the runtime (``FlujoInstrumentor().uninstrument()``): flujo's classes are
        put back, the providers' instruments report nothing (until a new runtime binds
        them), queued alerts get ``CLOSE_FLUSH_S`` to go out and the handler threads
        end. Terminal and idempotent."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self._fork_guard.closed = True
            served, self._bindings = self._bindings, []
        if self.measures_flujo:
            unpatch_flujo()
            self.flujo.fold()  # while the bindings still take the points
        for binding in served:
            if binding.runtime is self:
                binding.stop()
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

    def _in_child(self) -> None:
        self.fetcher.after_fork()
        for binding in self._bindings:
            if binding.runtime is self:
                binding.after_fork()

    def _fork_locks(self) -> list[Any]:
        # Only the providers this runtime still serves: two guards taking one
        # provider's locks would deadlock the fork.
        return [lock for binding in self._bindings if binding.runtime is self
                for lock in binding.locks]


_default: Runtime | None = None
_default_lock = threading.Lock()


def get_runtime() -> Runtime:
    """The process's runtime, the one the public API acts on (created on first use,
    from the environment); closed after ``uninstrument()`` until :func:`open_runtime`."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Runtime()
    return _default


def open_runtime() -> Runtime:
    """The process's runtime, replaced by a fresh one (the environment read again) if it
    was closed: what ``FlujoInstrumentor().instrument()`` starts from."""
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            _default = Runtime()
        return _default
