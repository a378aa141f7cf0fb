"""One read per executor per collection, normalised and combined by name.

Like prometheus_client's gc collector, one snapshot feeds every metric family: the
first instrument callback of a collection takes it, the others read it.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from opentelemetry.instrumentation.flujo._internal.catalog import (
    CIRCUIT_STATES,
    COUNTER_STATS,
    FAILED_STAT,
    FAILURE_RATIO,
    STATS,
    WEIGHT_STAT,
    Combine,
)
from opentelemetry.instrumentation.flujo._internal.collect.fetch import FetchError, StatsFetcher
from opentelemetry.instrumentation.flujo._internal.collect.normalise import (
    Log,
    Normaliser,
    Values,
    number,
)
from opentelemetry.instrumentation.flujo._internal.collect.registry import (
    COUNTERS,
    ExecutorEntry,
    Group,
    Registry,
)
from opentelemetry.instrumentation.flujo._internal.window import SlidingCounts, ratio

_logger = logging.getLogger(__name__)


# Read errors are logged at most this often per executor name; names remembered at most.
WARN_EVERY_S = 600
MAX_WARNED_NAMES = 1000

_GAUGE_STATS = tuple((s.id, s.combine) for s in STATS if s.id not in COUNTER_STATS)
_STATE_RANK = {state: rank for rank, state in enumerate(CIRCUIT_STATES[::-1])}  # open worst


@dataclass(frozen=True)
class GroupSnapshot:
    """One executor name's combined values in one collection."""

    name: str
    values: Values
    # The name's (built once, see registry.Group), shared by its observations.
    attributes: dict[str, str]
    # ... and with one outcome or circuit state, by (attribute key, value).
    point_attributes: dict[tuple[str, str], dict[str, str]]


@dataclass(frozen=True)
class Snapshot:
    """What one collection read: every name's values and the collection's own counts.
    Taken by the snapshot taker for a binding's first callback; every instrument of
    that collection, and the threshold engine, read it."""

    groups: tuple[GroupSnapshot, ...] = ()
    executors: int = 0
    taken_ns: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)  # (name, reason)
    duration_s: float = 0.0
    # Every name registered when the snapshot was taken, with values this time or not:
    # per-name state kept elsewhere (the threshold engine's) is freed for the others.
    names: frozenset[str] = frozenset()


def _mean(present: list[tuple[float, float | None]]) -> float:
    weights = [w for _, w in present]
    if all(w is not None for w in weights):
        total = sum(w for w in weights if w is not None)
        if total > 0:
            # v * (w / total), not sum(v * w) / total: huge weights must not overflow.
            return sum(v * (w / total) for v, w in present if w is not None)
    return sum(v for v, _ in present) / len(present)


def _combine_one(combine: Combine, present: list[tuple[float | str, float | None]]) -> float | str:
    if combine is Combine.SUM:
        return sum(float(v) for v, _ in present)
    if combine is Combine.MIN:
        return min(float(v) for v, _ in present)
    if combine is Combine.MAX:
        return max(float(v) for v, _ in present)
    if combine is Combine.WORST:
        return min((str(v) for v, _ in present), key=_STATE_RANK.__getitem__)
    return _mean([(float(v), w) for v, w in present])


def combine(group: Group, reads: Sequence[tuple[ExecutorEntry, Values]]) -> Values:
    """The name's values: counters monotonic (with retired totals), the rest by catalog rule."""
    # One executor per name is the common case: its values are the name's, apart
    # from the counters (made monotonic below); no per-stat combining. The dict is
    # this snapshot's own (normalise built it), so it is updated in place: one
    # dict less per executor per collection for the SDK's work to share caches with.
    out: Values = reads[0][1] if len(reads) == 1 else {}
    retired = group.retired
    totals: list[float | None] = ([retired.get(stat_id) for stat_id in COUNTERS] if retired
                                  else [None] * len(COUNTERS))
    for entry, values in reads:
        if not entry.retired:  # uninstrumented mid-collection: already in group.retired
            entry.add_counters(values, totals)
    for stat_id, total in zip(COUNTERS, totals, strict=True):
        if total is not None and math.isfinite(total):
            out[stat_id] = total
        else:  # never the single read's raw (non-monotonic) value
            out.pop(stat_id, None)
    if len(reads) != 1:
        weighted = [(values, number(values, WEIGHT_STAT))
                    for _, values in reads]
        for stat_id, how in _GAUGE_STATS:
            present = [(values[stat_id], weight) for values, weight in weighted
                       if stat_id in values]
            if present:
                combined = _combine_one(how, present)
                # Sums of huge finite values can overflow: absent, like any bad value.
                if isinstance(combined, str) or math.isfinite(combined):
                    out[stat_id] = combined
    return out


class SnapshotTaker:
    """Reads every registered executor once and builds the collection's snapshot, with
    each name's failure ratio over the ratio window.

    Owns the memory of the read errors it has logged and the names' ratio windows.
    Built by the runtime with its registry, fetcher, clock (monotonic nanoseconds: the
    warnings' interval, the ratio windows), ``log`` (the dispatcher's: a collection runs
    no log handler) and ratio window; called by a binding's first callback of each
    collection.
    """

    def __init__(self, registry: Registry, normaliser: Normaliser, budget_s: float,
                 fetcher: StatsFetcher, clock: Callable[[], int], log: Log,
                 ratio_window_s: float = 300.0) -> None:
        self.registry = registry
        self.normaliser = normaliser
        self.budget_s = budget_s
        self.fetcher = fetcher
        self._clock = clock
        self._log = log
        self._ratio_window_s = ratio_window_s
        # executor name -> its (failed, total) executions over the ratio window
        self._failures: dict[str, SlidingCounts] = {}
        # executor name -> when its read errors were last logged (clock, nanoseconds)
        self._warned_at: dict[str, int] = {}

    def take(self, budget_s: float | None = None) -> Snapshot:
        """``budget_s``: the time this collection can give the reads, if less than the
        configured budget."""
        started = time.perf_counter()
        now_s = self._clock() / 1e9  # the ratio window's time
        budget = self.budget_s if budget_s is None else min(self.budget_s, budget_s)
        entries = self.registry.entries()
        raw = self.fetcher.read(entries, budget)
        dropped: Counter[str] = Counter()
        errors: Counter[tuple[str, str]] = Counter()
        by_group: dict[str, list[tuple[ExecutorEntry, Values]]] = {}
        gone = 0
        for entry in entries:
            result = raw.get(entry)
            name = entry.group.name
            values: Values = {}
            if isinstance(result, FetchError):
                if result.reason == "collected":  # gone: not an error, and not observed
                    gone += 1
                else:
                    errors[(name, result.reason)] += 1
                    self._warn(name, result.reason, result.cause, budget)
            else:
                try:
                    values = self.normaliser.normalise(result, dropped, name)
                except Exception as error:  # a hostile Mapping may raise from get()/in
                    errors[(name, "invalid_stats")] += 1
                    self._warn(name, "invalid_stats", type(error).__name__, budget)
            by_group.setdefault(name, []).append((entry, values))
        groups = []
        # No retirement between reading a group's retired totals and its live counters.
        with self.registry.lock:
            registered = self.registry.groups()
            for group in registered:
                reads = by_group.get(group.name, [])
                values = combine(group, reads)
                self._failure_ratio(group.name, values, now_s)
                if values:
                    groups.append(GroupSnapshot(group.name, values, group.attributes,
                                                group.point_attributes))
            self.registry.purge()
        names = frozenset([group.name for group in registered])
        if not self._failures.keys() <= names:  # names gone: their windows with them
            self._failures = {n: w for n, w in self._failures.items() if n in names}
        return Snapshot(
            groups=tuple(groups),
            executors=len(entries) - gone,
            taken_ns=time.time_ns(),
            dropped=dropped,
            errors=errors,
            duration_s=time.perf_counter() - started,
            names=names,
        )

    def _failure_ratio(self, name: str, values: Values, now_s: float) -> None:
        """``execution.failure_ratio``: failed / all executions over the ratio window,
        from the name's cumulative counters (absent when none ran in the window)."""
        executions, failed = values.get(WEIGHT_STAT), values.get(FAILED_STAT)
        if not (isinstance(executions, float) and isinstance(failed, float)):
            return
        window = self._failures.get(name)
        if window is None:
            window = self._failures[name] = SlidingCounts(self._ratio_window_s, 2)
        grew_failed, grew_all = window.growth(now_s, (failed, executions))
        value = ratio(grew_failed, grew_all)
        if value is not None:
            values[FAILURE_RATIO] = value

    def _warn(self, name: str, reason: str, cause: str, budget_s: float) -> None:
        """One warning per executor name per WARN_EVERY_S: a source that fails on every
        collection must not flood the log; the count says how often."""
        now = self._clock()
        every = WARN_EVERY_S * 1_000_000_000
        last = self._warned_at.get(name)
        if last is not None and now - last < every:
            return
        if len(self._warned_at) >= MAX_WARNED_NAMES:  # names come and go: forget the old
            self._warned_at = {n: at for n, at in self._warned_at.items() if now - at < every}
        self._warned_at[name] = now
        how = {
            "raised": f"get_optimization_stats() raised {cause}",
            "timeout": f"get_optimization_stats() did not return within {budget_s * 1000:g} ms "
                       "(timeout)",
            "still_running": "get_optimization_stats() is still running from an earlier "
                             "collection (timeout)",
            "invalid_stats": f"reading the stats it returned raised {cause}",
        }.get(reason, reason)
        self._log(
            _logger, logging.WARNING,
            "no stats from executor %r: %s; its metrics are absent from this collection "
            "(counted in flujo.otel.collection.errors{reason=%r}; logged at most every %d "
            "minutes per executor name)", name, how, reason, WARN_EVERY_S // 60)
