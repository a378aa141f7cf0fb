"""Histogram points taken on the hot path and recorded into the SDK at the next collection.

A ``Histogram.record`` runs the SDK's whole measurement path on the thread that
records (~3 us, ~34,000 instructions here: a Measurement, the exemplar filter's look at
the span, the attribute set's lookup, the aggregation's lock and buckets). A flujo run
made four of them (its duration and each step execution's), over half of what the
plugin added to a three-step run, in the middle of flujo's own work. Instead, a point
with no exemplar to give is kept here (its value in an array, ~0.6 us) and handed to the
SDK when a collection starts (``Binding`` drains its pending histograms in its first
callback of each collection), on the reader's thread, before the SDK aggregates: every
collection sees every point recorded before it, in either temporality, as if each had
been recorded at once. The SDK's work is moved, not saved (~3 us a point at the
collection): what the run sheds is that code running between flujo's.

What is recorded at once, as before:

- a point that would carry an exemplar: the provider's exemplar filter is the SDK's
  trace-based one (the default) and the point's context holds a sampled span, so the
  exemplar keeps its own time and span; a provider whose filter is another (always on,
  or one of the application's) records every point at once;
- every point of a provider with no reader (nothing would ever collect them);
- a point past ``CAPACITY`` pending values of one histogram (a reader that collects
  rarely, or never: memory stays bounded, nothing is dropped);
- every point once the binding stops serving (``uninstrument()``), after the pending
  ones are recorded.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.context import Context, get_current, set_value
from opentelemetry.metrics import Histogram
from opentelemetry.sdk.metrics import (
    AlwaysOffExemplarFilter,
    MeterProvider,
    TraceBasedExemplarFilter,
)
from opentelemetry.trace import get_current_span

from opentelemetry.instrumentation.flujo._internal.otel.fork_guard import metric_readers

# Values pending per histogram (8 bytes each: 512 KiB at most); past it, points are
# recorded at once until the next collection.
CAPACITY = 65_536
# A drained point's context: no span, so no exemplar (the one drain runs in, a
# collection called from inside a sampled span, is not the point's). Not empty: the SDK
# takes an empty context (falsy, a dict) for none given, and looks up the current one.
_NO_SPAN = set_value("opentelemetry-instrumentation-flujo.drained", True, Context())

WouldSample = Callable[[Context], bool]


def sampled_span(context: Context) -> bool:
    """What the SDK's trace-based exemplar filter decides: a sampled span in ``context``."""
    return bool(get_current_span(context).get_span_context().trace_flags.sampled)


def never(_context: Context) -> bool:
    """An always-off exemplar filter's decision."""
    return False


def _always(_context: Context) -> bool:
    return True


class PendingHistogram:
    """One SDK histogram and the points kept for its next collection, by attribute set.

    Made by a binding (``Binding.pending_histogram``), fed from any thread with
    ``Histogram.record``'s signature, drained by the binding when a collection starts
    and when it stops serving. ``would_sample`` says whether a point's context would
    give an exemplar (recorded at once); None: every point is recorded at once.
    """

    __slots__ = ("_by_id", "_count", "_histogram", "_lock", "_quiet", "_would_sample",
                 "deferring")

    def __init__(self, histogram: Histogram, would_sample: WouldSample | None) -> None:
        self._histogram = histogram
        self._would_sample = would_sample or _always  # _always: every point at once
        self.deferring = would_sample is not None
        # The last context that gave no exemplar. A context is immutable, so it never
        # will; and the current one is usually the same object from point to point (the
        # empty one, or a run's), so most points skip the span lookup.
        self._quiet: Context | None = None
        self._lock = threading.Lock()
        # Callers pass the attribute dicts they cache: a dict's id finds its values
        # without hashing its items; the entry holds the dict, so the id stays its own.
        self._by_id: dict[int, tuple[dict[str, Any], array[float]]] = {}
        self._count = 0

    def record(self, amount: float, attributes: dict[str, Any],
               context: Context | None = None) -> None:
        """``Histogram.record``; ``attributes`` must not change afterwards."""
        if self.deferring:
            # What the SDK records the point in: the current context unless given one.
            current = context or get_current()
            if current is not self._quiet:
                if self._would_sample(current):
                    self._histogram.record(amount, attributes, context=context)
                    return
                self._quiet = current
            self.keep(((amount, attributes),))
            return
        self._histogram.record(amount, attributes, context=context)

    def keeps(self, context: Context) -> bool:
        """Whether a point recorded in ``context`` (the one the SDK would use) is kept for
        the collection: this histogram defers, and the point would give no exemplar."""
        return self.deferring and not self._would_sample(context)

    def keep(self, points: Sequence[tuple[float, dict[str, Any]]]) -> None:
        """(amount, attributes) points that give no exemplar (see :meth:`keeps`), kept for
        the next collection; past the capacity, or once this no longer defers, recorded
        at once. ``attributes`` must not change afterwards."""
        with self._lock:
            # Checked under the lock: a drain that stops deferring takes every value
            # kept before it, and none is kept after it.
            if self.deferring and self._count + len(points) <= CAPACITY:
                by_id = self._by_id
                for amount, attributes in points:
                    entry = by_id.get(id(attributes))
                    if entry is None:
                        entry = by_id[id(attributes)] = (attributes, array("d"))
                    entry[1].append(amount)
                self._count += len(points)
                return
        record = self._histogram.record
        for amount, attributes in points:
            record(amount, attributes, context=_NO_SPAN)

    def drain(self, stop: bool = False) -> None:
        """Record every pending point into the SDK (``stop``: and every later one at
        once). The binding calls it as a collection starts, before the SDK aggregates."""
        with self._lock:
            taken, self._by_id, self._count = self._by_id, {}, 0
            if stop:
                self.deferring = False
        record = self._histogram.record
        for attributes, values in taken.values():
            for value in values:
                record(value, attributes, context=_NO_SPAN)

    def resume(self) -> None:
        """Keep points for the collections again (a new runtime serves the binding)."""
        with self._lock:
            self.deferring = self._would_sample is not _always

    def after_fork(self) -> None:
        """In a forked child: a lock another thread held at fork() would stay held. The
        pending points stay: the child's SDK keeps the points recorded before fork() too."""
        self._lock = threading.Lock()


def exemplar_decision(provider: MeterProvider) -> WouldSample | None:
    """Which of ``provider``'s points would give an exemplar, for its pending histograms;
    None: record every point at once (a provider with no reader, or an exemplar filter
    other than the SDK's trace-based or always-off one, whose decision this cannot
    make ahead of the SDK). The filter is a private attribute: where a future SDK
    renames it, every point is recorded at once."""
    if not metric_readers(provider):
        return None
    exemplar_filter = getattr(getattr(provider, "_sdk_config", None), "exemplar_filter", None)
    if type(exemplar_filter) is TraceBasedExemplarFilter:
        return sampled_span
    if type(exemplar_filter) is AlwaysOffExemplarFilter:
        return never
    return None
