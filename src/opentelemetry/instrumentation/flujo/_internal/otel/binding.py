"""Instruments bound to one MeterProvider, and the per-collection snapshot they share.

The SDK calls a MeterProvider's observable callbacks in registration order, under
its own lock, once per MetricReader collection. A callback whose position is not
after the previous one's therefore starts a new collection: it takes the snapshot,
and the callbacks after it read that snapshot. Each reader's collection is its own
collection, so two readers mean two reads, never a stale one.
"""

from __future__ import annotations

import fnmatch
import logging
import sys
import threading
from collections.abc import Callable, Iterable

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from opentelemetry.instrumentation.flujo._internal.catalog import COLLECTION_BUCKETS, SELF_BY_NAME
from opentelemetry.instrumentation.flujo._internal.collect.snapshot import Snapshot, SnapshotTaker

_logger = logging.getLogger(__name__)

Observe = Callable[[Snapshot], Iterable[Observation]]
SnapshotListener = Callable[[Snapshot], None]

_CREATE = {
    "Gauge": "create_observable_gauge",
    "UpDownCounter": "create_observable_up_down_counter",
    "Counter": "create_observable_counter",
}


class Binding:
    def __init__(
        self, meter: Meter, taker: SnapshotTaker, excluded: tuple[str, ...] = ()
    ) -> None:
        self.meter = meter
        self.taker = taker
        self.excluded = excluded
        self.active = True
        self.snapshot = Snapshot()
        self._listeners: list[SnapshotListener] = []
        self._lock = threading.Lock()
        self._last_index = sys.maxsize
        self._count = 0
        duration = SELF_BY_NAME["flujo.otel.collection.duration"]
        dropped = SELF_BY_NAME["flujo.otel.stats.dropped"]
        errors = SELF_BY_NAME["flujo.otel.collection.errors"]
        executors = SELF_BY_NAME["flujo.otel.executors"]
        self._duration = meter.create_histogram(
            duration.name, unit=duration.unit, description=duration.description,
            explicit_bucket_boundaries_advisory=list(COLLECTION_BUCKETS))
        self._dropped = meter.create_counter(
            dropped.name, unit=dropped.unit, description=dropped.description)
        self._errors = meter.create_counter(
            errors.name, unit=errors.unit, description=errors.description)
        self.add_observable(executors.name, executors.kind, executors.unit,
                            executors.description, lambda snap: (Observation(snap.executors),))

    def wanted(self, name: str) -> bool:
        return not any(fnmatch.fnmatchcase(name, pattern) for pattern in self.excluded)

    def add_listener(self, listener: SnapshotListener) -> None:
        """``listener`` sees each new snapshot once, before any callback reads it."""
        self._listeners.append(listener)

    def add_observable(
        self, name: str, kind: str, unit: str, description: str, observe: Observe
    ) -> None:
        if not self.wanted(name):
            return
        index = self._count
        self._count += 1

        def callback(options: CallbackOptions) -> Iterable[Observation]:
            try:
                if not self.active:
                    return ()
                observations = observe(self._snapshot_for(index))
                # Catalog observers already return lists; a generator is run here,
                # inside the guard, so whatever it raises is counted, not the SDK's.
                return observations if isinstance(observations, list) else list(observations)
            except Exception:  # never raise into the SDK's collection (or the host)
                _logger.debug("callback for %s failed", name, exc_info=True)
                self._errors.add(1, {"reason": "callback"})
                return ()

        getattr(self.meter, _CREATE[kind])(
            name, callbacks=[callback], unit=unit, description=description)

    def _snapshot_for(self, index: int) -> Snapshot:
        with self._lock:
            if index <= self._last_index:
                self.snapshot = self._take()
            self._last_index = index
            return self.snapshot

    def _take(self) -> Snapshot:
        snapshot = self.taker.take()
        self._duration.record(snapshot.duration_s)
        for reason, count in snapshot.dropped.items():
            self._dropped.add(count, {"reason": reason})
        for reason, count in snapshot.errors.items():
            self._errors.add(count, {"reason": reason})
        for listener in self._listeners:
            try:
                listener(snapshot)
            except Exception:
                _logger.debug("snapshot listener failed", exc_info=True)
                self._errors.add(1, {"reason": "listener"})
        return snapshot
