"""Instruments bound to one MeterProvider, and the per-collection snapshot they share.

The SDK calls a MeterProvider's observable callbacks in registration order, under
its own lock, once per MetricReader collection. A callback whose position is not
after the previous one's therefore starts a new collection: it takes the snapshot,
and the callbacks after it read that snapshot. The first callback of a collection also
records the pending histogram points (pending.py), which the SDK aggregates after the
callbacks. Each reader's collection is its own collection, so two readers mean two
reads, never a stale one.

A binding outlives the runtime that made it. The SDK cannot unregister a callback,
and asking a meter for an instrument it already has returns the old one with the
old callbacks, so a provider keeps one binding for its life (found on the provider,
see :func:`binding_of`) and its callbacks delegate: each looks up its instrument's
observer in the table of the runtime serving the binding. When the process's runtime
was closed (``uninstrument()``) and a fresh one binds the provider again
(:meth:`Binding.serve`), the table, the snapshot source and the listeners are
replaced; instruments the fresh one does not register report nothing.

Nothing user-supplied runs in a callback: the SDK calls them under its collection
lock, which creating an instrument also takes. Executors are read on the fetcher's
threads, alert events and log lines go to the dispatcher's queues (``alerts``).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from opentelemetry.metrics import CallbackOptions, Histogram, Meter, Observation

from opentelemetry.instrumentation.flujo._internal.catalog import (
    COLLECTION_BUCKETS,
    COLLECTION_DURATION,
    COLLECTION_ERRORS,
    EXECUTOR_NAME,
    EXECUTORS,
    STATS_DROPPED,
    Kind,
    excluded,
)
from opentelemetry.instrumentation.flujo._internal.collect.snapshot import Snapshot
from opentelemetry.instrumentation.flujo._internal.otel.pending import (
    PendingHistogram,
    WouldSample,
    exemplar_decision,
)
from opentelemetry.instrumentation.flujo._internal.otel.totals import Totals

if TYPE_CHECKING:  # the runtime imports this module
    from opentelemetry.instrumentation.flujo._internal.runtime import Runtime

_logger = logging.getLogger(__name__)

Observe = Callable[[Snapshot], Iterable[Observation]]
SnapshotListener = Callable[[Snapshot], None]

# The share of a collection's remaining time the stats reads may use; the rest is for
# the other callbacks, the SDK's aggregation and the threshold engine.
READ_SHARE_OF_TIMEOUT = 0.5

_CREATE = {
    Kind.GAUGE: "create_observable_gauge",
    Kind.UP_DOWN_COUNTER: "create_observable_up_down_counter",
    Kind.COUNTER: "create_observable_counter",
}
# Where a provider keeps its binding (as an executor keeps its measured source).
_ATTRIBUTE = "_opentelemetry_flujo_binding"


def binding_of(provider: object) -> Binding | None:
    found = getattr(provider, _ATTRIBUTE, None)
    return found if isinstance(found, Binding) else None


def new_binding(provider: Any, meter: Meter) -> Binding:
    """A provider's binding, kept on the provider where it takes attributes."""
    binding = Binding(meter, exemplar_decision(provider))
    with contextlib.suppress(AttributeError, TypeError):  # a provider with __slots__
        setattr(provider, _ATTRIBUTE, binding)
    return binding


class Binding:
    """One MeterProvider's instruments and the snapshot its collection shares.

    Owns the observable callbacks (one per instrument, created once on the provider's
    meter), the histograms, pending histograms and in-process totals made for the
    provider (kept across runtimes, as the SDK keeps their series), its self-telemetry
    (collection duration, errors, dropped stats) and the snapshot of the collection
    in progress. Made by :meth:`Runtime.bind`; the runtime's hooks (catalog
    instruments, threshold engine, flujo sources) add instruments and listeners.

    ``would_sample``: which points would give an exemplar (pending.py), for the
    pending histograms; None: they record every point at once.
    """

    def __init__(self, meter: Meter, would_sample: WouldSample | None = None) -> None:
        self.meter = meter
        self._would_sample = would_sample
        self.runtime: Runtime | None = None  # the runtime serving this provider
        self.active = True
        self.snapshot = Snapshot()
        self.locks: list[Any] = []  # the SDK's locks the owner's fork guard holds
        self._listeners: list[SnapshotListener] = []
        self._before: list[Callable[[], None]] = []  # run as each collection starts
        self._observers: dict[str, Observe] = {}
        # Instruments already created on the meter: an observable's position in the
        # SDK's callback order, and the histograms.
        self._positions: dict[str, int] = {}
        self._histograms: dict[str, Histogram] = {}
        self._totals: dict[str, Totals] = {}  # kept across runtimes, as the SDK's series
        self._pending: dict[str, PendingHistogram] = {}  # the same
        self._lock = threading.Lock()
        self._last_index = sys.maxsize  # the last callback's position
        self._stale = False  # a collection started and has no snapshot yet
        self._duration = self.histogram(COLLECTION_DURATION.name, COLLECTION_DURATION.unit,
                                        COLLECTION_DURATION.description, COLLECTION_BUCKETS)
        self._dropped = meter.create_counter(
            STATS_DROPPED.name, unit=STATS_DROPPED.unit, description=STATS_DROPPED.description)
        self._errors = meter.create_counter(
            COLLECTION_ERRORS.name, unit=COLLECTION_ERRORS.unit,
            description=COLLECTION_ERRORS.description)

    def serve(self, runtime: Runtime, locks: list[Any]) -> None:
        """From now on the callbacks serve ``runtime`` (its snapshot taker and excluded
        metrics), which registers its observers next; ``locks`` are the SDK's locks its
        fork guard holds."""
        with self._lock:
            self.runtime = runtime
            self.locks = locks
            self.active = True
            self._listeners = []
            self._before = []
            self._observers = {}
            self.snapshot = Snapshot()
            self._last_index = sys.maxsize
            self._stale = False
        for pending in self._pending.values():
            pending.resume()
        self.add_observable(EXECUTORS.name, EXECUTORS.kind, EXECUTORS.unit,
                            EXECUTORS.description, lambda snap: (Observation(snap.executors),))

    def stop(self) -> None:
        """The serving runtime closed: the callbacks report nothing until another one
        serves the binding; the pending points are recorded now, later ones at once."""
        self.active = False
        for pending in self._pending.values():
            pending.drain(stop=True)

    def after_fork(self) -> None:
        """In a forked child (the runtime's fork guard calls it)."""
        for pending in self._pending.values():
            pending.after_fork()

    def wanted(self, name: str) -> bool:
        return self.runtime is None or not excluded(name, self.runtime.config.excluded_metrics)

    def add_listener(self, listener: SnapshotListener) -> None:
        """``listener`` sees each new snapshot once, before any callback reads it."""
        self._listeners.append(listener)

    def before_collection(self, hook: Callable[[], None]) -> None:
        """``hook`` runs as each collection starts, before the pending points are
        recorded: the flujo sources fold their journals into them there."""
        self._before.append(hook)

    def add_observable(
        self, name: str, kind: Kind, unit: str, description: str, observe: Observe
    ) -> None:
        """``observe`` answers for the instrument ``name`` (created on first use)."""
        if not self.wanted(name):
            return
        self._observers[name] = observe
        if name in self._positions:
            return
        index = self._positions[name] = len(self._positions)

        def callback(options: CallbackOptions) -> Iterable[Observation]:
            try:
                if not self.active:
                    return ()
                self._collecting(index)
                observer = self._observers.get(name)
                if observer is None:
                    return ()
                observations = observer(self._snapshot_for(options))
                # Catalog observers already return lists; a generator is run here,
                # inside the guard, so whatever it raises is counted, not the SDK's.
                return observations if isinstance(observations, list) else list(observations)
            except Exception:  # never raise into the SDK's collection (or the host)
                self._log_debug("callback for %s failed", name)
                self._errors.add(1, {"reason": "callback"})
                return ()

        getattr(self.meter, _CREATE[kind])(
            name, callbacks=[callback], unit=unit, description=description)

    def histogram(self, name: str, unit: str, description: str,
                  boundaries: Iterable[float]) -> Histogram:
        """The provider's histogram ``name``, created once whoever asks again."""
        found = self._histograms.get(name)
        if found is None:
            # The advisory is in every opentelemetry-api this package accepts (>= 1.23).
            found = self._histograms[name] = self.meter.create_histogram(
                name, unit=unit, description=description,
                explicit_bucket_boundaries_advisory=list(boundaries))
        return found

    def pending_histogram(self, name: str, unit: str, description: str,
                          boundaries: Iterable[float]) -> PendingHistogram:
        """The provider's histogram ``name`` for a hot path: its points are kept for the
        next collection (pending.py); the same one whoever asks again."""
        found = self._pending.get(name)
        if found is None:
            # The drain runs in this binding's callbacks: with none (every observable
            # excluded), nothing would record the points, so they are recorded at once.
            found = self._pending[name] = PendingHistogram(
                self.histogram(name, unit, description, boundaries),
                self._would_sample if self._positions else None)
        return found

    def total(self, name: str, unit: str, description: str) -> Totals:
        """The provider's counter ``name`` summed in the process (totals.py), reported
        through its observable counter; the same sums whoever asks again."""
        found = self._totals.get(name)
        if found is None:
            found = self._totals[name] = Totals()
        self.add_observable(name, Kind.COUNTER, unit, description, found.observe)
        return found

    def _log_debug(self, message: str, *args: Any) -> None:
        """A failure's traceback at debug level, through the runtime's dispatcher: this
        runs inside the SDK's collection, where no log handler may run."""
        if self.runtime is not None:
            self.runtime.alerts.log(_logger, logging.DEBUG, message, *args, exc_info=True)

    def _collecting(self, index: int) -> None:
        """Every callback of a serving binding, observed or not (a runtime may exclude
        every observable): the first of a collection makes the snapshot stale, runs the
        hooks and records the pending histogram points, which the SDK aggregates after
        the callbacks."""
        with self._lock:
            starts = index <= self._last_index
            self._last_index = index
            if starts:
                self._stale = True
        if starts:
            for hook in self._before:
                hook()
            for pending in self._pending.values():
                pending.drain()

    def _snapshot_for(self, options: CallbackOptions) -> Snapshot:
        """The collection's snapshot, taken by its first observed callback."""
        with self._lock:
            if self._stale:
                self.snapshot = self._take(options)
                self._stale = False
            return self.snapshot

    def _take(self, options: CallbackOptions) -> Snapshot:
        if self.runtime is None:
            return Snapshot()
        # The SDK passes what is left of the reader's collection timeout (at shutdown
        # only the export interval): the reads get a share of it, so the SDK's own
        # collection never times out waiting for a slow source.
        left_ms = getattr(options, "timeout_millis", None)
        snapshot = self.runtime.taker.take(
            None if left_ms is None else left_ms / 1000 * READ_SHARE_OF_TIMEOUT)
        self._duration.record(snapshot.duration_s)
        for reason, count in snapshot.dropped.items():
            self._dropped.add(count, {"reason": reason})
        for (name, reason), count in snapshot.errors.items():
            self._errors.add(count, {EXECUTOR_NAME: name, "reason": reason})
        for listener in self._listeners:
            try:
                listener(snapshot)
            except Exception:
                self._log_debug("snapshot listener failed")
                self._errors.add(1, {"reason": "listener"})
        return snapshot
