"""Choosing each flujo executor's stats source, and the instruments the
wrappers record into: one :class:`FlujoSources` per runtime.

An executor is attached on its first execution (or when its runner names it): to the
:class:`Measured` of its name, shared by every executor of that name and kept for the
life of the runtime (flujo readily builds a runner, and so an executor, per request: a
source per executor would die with it, taking the executions since the last collection
along); or, for an executor that reports its own ``get_optimization_stats()``, to a
private one that only feeds the histograms.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

from opentelemetry.context import Context

from opentelemetry.instrumentation.flujo._internal.catalog import (
    EXECUTION_DURATION,
    GENAI_OPERATION_DURATION,
    GENAI_TOKEN_USAGE,
    RUN_DURATION,
    RUNS,
    STEP_COST,
    STEP_TOKENS,
    Kind,
    SyncMetric,
)
from opentelemetry.instrumentation.flujo._internal.collect.registry import Registry, executor_name
from opentelemetry.instrumentation.flujo._internal.config import Config
from opentelemetry.instrumentation.flujo._internal.flujo_hooks.measured import (
    ATTRIBUTE,
    NAME_ATTRIBUTE,
    Measured,
)
from opentelemetry.instrumentation.flujo._internal.flujo_hooks.process_memory import MemoryReadings
from opentelemetry.instrumentation.flujo._internal.flujo_hooks.runs import runner_name
from opentelemetry.instrumentation.flujo._internal.otel.binding import Binding
from opentelemetry.instrumentation.flujo._internal.otel.pending import PendingHistogram
from opentelemetry.instrumentation.flujo._internal.otel.totals import Totals

_logger = logging.getLogger(__name__)


class RunInstruments(NamedTuple):
    """One binding's run, spend and GenAI instruments (flujo_hooks/runs.py and
    agent_calls.py); None: excluded."""

    runs: Totals | None
    duration: PendingHistogram | None
    cost: Totals | None
    tokens: Totals | None
    genai_tokens: PendingHistogram | None
    genai_duration: PendingHistogram | None


class FlujoSources:
    """One runtime's side of the flujo wrapper: the measured source of each executor
    name, the executors attached to them, and the execution, run, spend and GenAI
    instruments of each of the runtime's bindings.

    Built by the runtime (with its registry, configuration and clock); handed to the
    wrappers ``patch_flujo`` installs, which attach executors and record through it.
    """

    def __init__(self, registry: Registry, config: Config, clock: Callable[[], int]) -> None:
        self.registry = registry
        self.config = config
        self.clock = clock  # the runtime's: process-memory rates, the limit's re-read
        self.memory = MemoryReadings(clock)
        # (binding, histogram) per binding: the wrapper records into the active ones.
        # Replaced, never changed in place, so an execution ending on another thread
        # walks a whole list. The same for the run and spend instruments.
        self.targets: list[tuple[Binding, PendingHistogram]] = []
        self.run_targets: list[tuple[Binding, RunInstruments]] = []
        # The last context an execution's point was kept for the collection in, under
        # every target (no exemplar to give): contexts are immutable and the current one
        # is usually the same object from step to step, so most executions skip the
        # span lookup. Forgotten when the targets change.
        self.quiet: Context | None = None
        self.run_quiet: Context | None = None  # the same for a run's duration point
        # The private sources of executors with their own stats (the names' are in
        # _by_name): their journals fold too, while their executor lives.
        self._private: list[Measured] = []
        # Guards choosing an executor's source, and the sources' sets of executors.
        self.lock = threading.Lock()
        self._by_name: dict[str, Measured] = {}
        self._attached: weakref.WeakSet[Any] = weakref.WeakSet()
        self.closed = False

    def add_instruments(self, binding: Binding) -> None:
        """A runtime hook: the execution-duration histogram, and the run, spend and
        GenAI instruments, for one binding."""
        if any(b is binding for b, _ in self.run_targets):  # each binding has an entry
            return
        histogram = _instrument(binding, EXECUTION_DURATION)
        if histogram is not None:
            self.targets = [*self.targets, (binding, histogram)]
            self.quiet = None
        binding.before_collection(self.fold)
        instruments = RunInstruments(*(_instrument(binding, metric)
                                       for metric in (RUNS, RUN_DURATION, STEP_COST, STEP_TOKENS,
                                                      GENAI_TOKEN_USAGE,
                                                      GENAI_OPERATION_DURATION)))
        self.run_targets = [*self.run_targets, (binding, instruments)]
        self.run_quiet = None

    def attach(self, executor: Any, runner: Any = None) -> Measured | None:
        """The executor's :class:`Measured`, chosen (and registered) on first call, named
        after ``runner``'s pipeline (a runner or run session) when it has one: read only
        then, since a run asks on every run.

        An executor with its own ``get_optimization_stats()`` is read as it is (its
        values win); it gets a private :class:`Measured` that only feeds the duration
        histogram.
        """
        measured: Measured | None = getattr(executor, ATTRIBUTE, None)
        if measured is not None:
            return measured
        try:
            with self.lock:
                measured = getattr(executor, ATTRIBUTE, None)
                if measured is None and not self.closed:
                    given = (None if runner is None else runner_name(runner)) or getattr(
                        executor, NAME_ATTRIBUTE, None)
                    chosen = executor_name(executor, given)
                    if callable(getattr(executor, "get_optimization_stats", None)):
                        group = self.registry.add(executor, chosen).group.name
                        measured = Measured(group, self)
                        self._private.append(measured)
                    else:
                        measured = self._source(chosen)
                    measured.add_executor(executor)
                    setattr(executor, ATTRIBUTE, measured)
                    setattr(executor, NAME_ATTRIBUTE, chosen)
                    self._attached.add(executor)
            return measured
        except Exception:
            _logger.debug("could not measure %r", executor, exc_info=True)
            return None

    def _source(self, name: str) -> Measured:
        found = self._by_name.get(name)
        if found is not None:
            return found
        measured = Measured(name, self)
        group = self.registry.add(measured, name).group.name
        if group != name:  # past the name cap: share the "_other" source
            self.registry.remove(measured)
            measured = self._source(group)
        self._by_name[name] = measured
        return measured

    def keeps(self, context: Context) -> bool:
        """Whether an execution's point in ``context`` waits for the collection under
        every active target (see ``PendingHistogram.keeps``); remembered when it does."""
        kept = all(histogram.keeps(context) for binding, histogram in self.targets
                   if binding.active)
        if kept:
            self.quiet = context
        return kept

    def run_keeps(self, context: Context) -> bool:
        """The same for a run's duration point."""
        kept = all(instruments.duration.keeps(context)
                   for binding, instruments in self.run_targets
                   if binding.active and instruments.duration is not None)
        if kept:
            self.run_quiet = context
        return kept

    def fold(self) -> None:
        """Fold every source's journals (a binding's collection starts, the runtime
        closes): the aggregates and the kept points are complete before anything reads
        them. A private source whose executor is gone is folded a last time and let go."""
        with self.lock:
            # several names past the cap share one source: each folded once
            sources = [*dict.fromkeys(self._by_name.values()), *self._private]
            self._private = [source for source in self._private if source.attached]
        for source in sources:
            source.fold()

    def close(self) -> None:
        """Stop recording, and let every attached executor choose its source anew on its
        next execution (from the runtime that patches flujo then). The runtime folds the
        journals first, while the bindings still take the points."""
        with self.lock:
            self.closed = True
            self.targets = []
            self.run_targets = []
            attached = list(self._attached)
            self._attached = weakref.WeakSet()
            self._by_name.clear()
        for executor in attached:
            with contextlib.suppress(AttributeError):
                delattr(executor, ATTRIBUTE)


def _instrument(binding: Binding, metric: SyncMetric) -> Any:
    """``metric``'s instrument on ``binding`` (a histogram whose points wait for the
    collection, or a counter's in-process totals); None when excluded."""
    if not binding.wanted(metric.name):
        return None
    if metric.kind is Kind.HISTOGRAM:  # no SDK call per point either (pending.py)
        return binding.pending_histogram(metric.name, metric.unit, metric.description,
                                 metric.boundaries)
    # A counter is summed here and observed at collection: no SDK call per run.
    return binding.total(metric.name, metric.unit, metric.description)
