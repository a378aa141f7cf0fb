"""Counters summed in the process and reported at collection: a hot path's counter for
the price of a dict update.

A synchronous ``Counter.add`` runs the SDK's measurement path on every call (~3 us,
~32,000 instructions here: a Measurement, the attribute set's lookup, the aggregation's
lock, the exemplar filter's look at the current span). A flujo run made seven of them
(its run, and each step output's cost and tokens), half of what the plugin added to a
three-step run. A counter whose points need no exemplar can instead keep its sums
here and hand the SDK each attribute set's total once per collection through an
observable counter, as the OpenTelemetry API means asynchronous counters for totals the
application keeps anyway. The exported stream is the same monotonic sum, in either
temporality (the SDK turns observed totals into deltas), without exemplars: a run's
duration histogram keeps those, and leads to the same spans.

The sums live on the :class:`~.binding.Binding` (one provider's), which outlives a
runtime: a runtime opened after ``uninstrument()`` adds to the totals the exported
series already hold, as it would to the SDK's own aggregation, so no series restarts.
"""

from __future__ import annotations

import threading
from typing import Any

from opentelemetry.metrics import Observation


class Totals:
    """The running sum of every attribute set one counter was given, and their
    observations at collection. Owned by a binding (``Binding.total``); fed by the flujo
    run wrappers (flujo_hooks/spend.py) from any thread."""

    __slots__ = ("_by_content", "_by_id", "_kept", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Callers pass the attribute dicts they cache, so a dict's id finds its sum
        # without hashing its items; the sum itself is keyed by the items, so equal sets
        # from different dicts (two step names past the step cap are both "_other") are
        # one series, as the SDK would make them.
        self._by_id: dict[int, list[Any]] = {}
        self._by_content: dict[frozenset[tuple[str, str]], list[Any]] = {}
        self._kept: list[dict[str, str]] = []  # each id stays its dict's while it is here

    def add(self, amount: float, attributes: dict[str, str]) -> None:
        """``Counter.add``'s signature; ``attributes`` must not change afterwards."""
        with self._lock:
            entry = self._by_id.get(id(attributes))
            if entry is None:
                entry = self._entry(attributes)
            entry[1] += amount

    def _entry(self, attributes: dict[str, str]) -> list[Any]:
        content = frozenset(attributes.items())
        entry = self._by_content.get(content)
        if entry is None:
            entry = self._by_content[content] = [dict(attributes), 0]
        self._by_id[id(attributes)] = entry
        self._kept.append(attributes)
        return entry

    def observe(self, _snapshot: object = None) -> list[Observation]:
        """Every attribute set's total (an observer: the snapshot is not needed)."""
        with self._lock:
            return [Observation(total, attributes, None)  # all three: 3.13's fast call
                    for attributes, total in self._by_content.values()]
