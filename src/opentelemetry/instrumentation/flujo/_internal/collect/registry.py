"""Executors under observation: weak references, names, retirement and the name cap.

Like Micrometer's binders, the registry never keeps an executor alive. When one is
collected (or uninstrumented), its last counter values move into its name's
retired totals, so the name's counters never go backwards.
"""

from __future__ import annotations

import logging
import math
import threading
import weakref
from array import array
from collections import deque
from collections.abc import Callable, Mapping
from math import isnan
from typing import Any

from opentelemetry.instrumentation.flujo._internal.catalog import (
    CIRCUIT_STATE,
    CIRCUIT_STATES,
    COUNTER_STATS,
    EXECUTOR_NAME,
    OUTCOME,
    OUTCOMES,
    STATS,
)

_logger = logging.getLogger(__name__)

OTHER = "_other"
MAX_NAME_LENGTH = 128
# Dead executors wait for the next collection to be retired (see Registry.purge);
# past this many, add() retires them itself so an app without a reader does not leak.
MAX_UNPURGED = 1000


def executor_name(executor: object, name: str | None) -> str:
    chosen = name if isinstance(name, str) and name.strip() else type(executor).__name__
    return chosen.strip()[:MAX_NAME_LENGTH]


# Per-executor counter state lives in one flat array of doubles, two slots per
# counter stat (last raw value, offset added for earlier resets): ~200 bytes an
# executor, where a dict of [raw, offset] lists cost ~850 (see docs/performance.md).
# The counter stats, in catalog order: a name's totals are lists in this order.
COUNTERS = tuple(stat.id for stat in STATS if stat.id in COUNTER_STATS)
_SLOTS = tuple(enumerate(COUNTERS))  # (index in COUNTERS, stat id); the slots are 2 x index
_UNSEEN = array("d", [math.nan, 0.0] * len(COUNTERS))  # NaN raw: never read


class ExecutorEntry:
    """One observed executor and the per-executor state that outlives a collection."""

    __slots__ = ("_counters", "_ref", "fast_reads", "group", "in_flight", "retired")

    def __init__(self, ref: Callable[[], Any], group: Group) -> None:
        self._ref = ref
        self.group = group
        self._counters: array[float] | None = None  # allocated at the first counter read
        # consecutive reads that finished well inside the budget (see fetch.py)
        self.fast_reads = 0
        self.in_flight = False
        # True once its counters moved into the group's retired totals: a collection
        # that read it before then must not count it a second time.
        self.retired = False

    def executor(self) -> Any:
        return self._ref()

    def add_counters(self, values: Mapping[str, Any], totals: list[float | None]) -> None:
        """Add the monotonic value of each counter stat read (``values``) to ``totals``
        (in ``COUNTERS`` order): a reset adds the pre-reset value as an offset, and an
        absent raw value carries the last one, so that a failed read does not make the
        name's sum dip and come back. One call for all the counters: this runs per
        executor per collection."""
        state = self._counters
        for index, stat_id in _SLOTS:
            raw = values.get(stat_id)
            if state is None:
                if raw is None:
                    continue
                state = self._counters = array("d", _UNSEEN)  # at the first counter read
            slot = 2 * index
            last = state[slot]
            if raw is None:
                if isnan(last):
                    continue
                value = last + state[slot + 1]
            elif isnan(last):
                value = state[slot] = raw
            else:
                if raw < last:
                    state[slot + 1] += last
                state[slot] = raw
                value = raw + state[slot + 1]
            total = totals[index]
            totals[index] = value if total is None else total + value

    def retire(self) -> None:
        self.retired = True
        state = self._counters
        if state is None:
            return
        retired = self.group.retired
        for index, stat_id in _SLOTS:
            if not isnan(state[2 * index]):
                retired[stat_id] = (retired.get(stat_id, 0.0) + state[2 * index]
                                    + state[2 * index + 1])


class Group:
    """Every executor that reports under one ``flujo.executor.name``."""

    __slots__ = ("attributes", "entries", "name", "point_attributes", "retired")

    def __init__(self, name: str) -> None:
        self.name = name
        # Built once for the name's lifetime and shared by every snapshot's points:
        # the name alone, and with each outcome or circuit state, by (key, value).
        self.attributes = {EXECUTOR_NAME: name}
        self.point_attributes = {
            (key, value): {EXECUTOR_NAME: name, key: value}
            for key, values in ((OUTCOME, OUTCOMES), (CIRCUIT_STATE, CIRCUIT_STATES))
            for value in values
        }
        self.entries: dict[int, ExecutorEntry] = {}
        self.retired: dict[str, float] = {}

    @property
    def empty(self) -> bool:
        return not self.entries and not self.retired


class Registry:
    """The executors a runtime observes, grouped by ``flujo.executor.name``.

    Owns an :class:`ExecutorEntry` per executor (held weakly) and a :class:`Group` per
    name with its retired counter totals, and the cap on names. ``instrument_executor``
    and the flujo sources add to it; the snapshot taker reads it once per collection
    and purges the executors that died.
    """

    def __init__(self, max_names: int = 100) -> None:
        self.max_names = max_names
        # Re-entrant so a collection can hold it across groups() and combining.
        self.lock = threading.RLock()
        self._entries: dict[int, ExecutorEntry] = {}
        self._groups: dict[str, Group] = {}
        # Keys of executors that died; appended by weakref callbacks, lock-free.
        self._dead: deque[int] = deque()
        self._cap_warned = False
        # Runs inside whatever code freed an executor, often the cyclic GC triggered
        # by an allocation in a thread that holds self.lock: taking any lock there can
        # deadlock the host, so it only notes the key. Bound once, shared by every ref.
        self._forget = self._note_dead
        # Most entries at once since _entries was last rebuilt: a dict never gives back
        # the table it grew to, so after a burst of executors died it is copied (purge).
        self._peak = 0

    def add(self, executor: object, name: str | None = None) -> ExecutorEntry:
        key = id(executor)
        with self.lock:
            if len(self._dead) > MAX_UNPURGED:
                self.purge()
            existing = self._entries.get(key)
            if existing is not None:
                if existing.executor() is executor:
                    return existing
                # A dead executor's id() reused before the next purge: retire it now.
                self._drop(key, existing)
            group = self._group_for(executor_name(executor, name))
            entry = ExecutorEntry(self._reference(executor, key), group)
            self._entries[key] = entry
            group.entries[key] = entry
            self._peak = max(self._peak, len(self._entries))
            return entry

    def remove(self, executor: object) -> bool:
        with self.lock:
            entry = self._entries.get(id(executor))
            if entry is None or entry.executor() is not executor:
                return False
            self._drop(id(executor), entry)
            return True

    def entries(self) -> list[ExecutorEntry]:
        """Every registered entry, including executors that died since the last purge."""
        with self.lock:
            return list(self._entries.values())

    def groups(self) -> list[Group]:
        # Never an empty one: _drop removes a group once it has neither entries nor totals.
        with self.lock:
            return list(self._groups.values())

    def purge(self) -> None:
        """Retire the executors that died: their last counter values join the retired totals.

        Called by the collection after it combined its totals (under ``lock``), so an
        executor that dies mid-collection is counted once: as a live entry carrying its
        last values in that collection, as retired totals in the next ones.
        """
        with self.lock:
            while self._dead:
                key = self._dead.popleft()
                entry = self._entries.get(key)
                if entry is not None and entry.executor() is None:
                    self._drop(key, entry)
            if len(self._entries) * 4 < self._peak:
                self._entries = dict(self._entries)
                for group in self._groups.values():
                    group.entries = dict(group.entries)
                self._peak = len(self._entries)

    def clear(self) -> None:
        with self.lock:
            self._entries.clear()
            self._groups.clear()
            self._dead.clear()
            self._peak = 0

    def _reference(self, executor: object, key: int) -> Callable[[], Any]:
        try:
            # A KeyedRef carries the key to the one shared callback: no closure and
            # cell per executor (~200 bytes each, see docs/performance.md).
            return weakref.KeyedRef(executor, self._forget, key)
        except TypeError:
            # No __weakref__ slot: hold it strongly; uninstrument_executor releases it.
            _logger.debug("%s cannot be weakly referenced; holding it strongly", type(executor))
            return lambda: executor

    def _note_dead(self, ref: weakref.KeyedRef[Any, Any]) -> None:
        self._dead.append(ref.key)

    def _drop(self, key: int, entry: ExecutorEntry) -> None:
        del self._entries[key]
        group = entry.group
        group.entries.pop(key, None)
        entry.retire()
        if group.empty:
            del self._groups[group.name]

    def _group_for(self, name: str) -> Group:
        group = self._groups.get(name)
        if group is not None:
            return group
        if len(self._groups) >= self.max_names and name != OTHER:
            if not self._cap_warned:
                self._cap_warned = True
                _logger.warning(
                    "more than %d executor names; %r and later names report as %r "
                    "(OTEL_PYTHON_FLUJO_MAX_EXECUTOR_NAMES)", self.max_names, name, OTHER)
            return self._group_for(OTHER)  # found, or made: OTHER is never capped
        return self._new(name)

    def _new(self, name: str) -> Group:
        group = self._groups[name] = Group(name)
        return group
