"""Stats for flujo's ExecutorCore, measured by wrapping ``ExecutorCore.execute``.

flujo 0.6 has no ``get_optimization_stats``; :class:`Measured` is the stats source the
registry reads instead: one per executor *name* (sources.py chooses it), its runs and
spend in its :class:`Spend` (spend.py).

Every call of ``ExecutorCore.execute`` is one execution: a pipeline's top-level steps
and the steps flujo runs inside them (parallel branches, loop bodies, fallbacks) alike,
so a parallel step with two one-step branches is three executions, all three in flight
together. Per execution the wrapper reads the few fields it needs and appends them to
the name's journal; the journal is folded into running aggregates (counts, a window's
sum, min and max; no list of durations) and one histogram point per execution when a
collection starts (see :meth:`Measured.fold`), so a run pays for an append, not for the
bookkeeping. What flujo cannot tell (object pool, circuit breaker, telemetry batching,
queue, wait times) is absent.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from opentelemetry.context import Context, get_current

from opentelemetry.instrumentation.flujo._internal.catalog import (
    EXECUTOR_NAME,
    OUTCOME,
    OUTCOMES,
    STEP_NAME,
)
from opentelemetry.instrumentation.flujo._internal.collect.registry import MAX_NAME_LENGTH, OTHER
from opentelemetry.instrumentation.flujo._internal.flujo_hooks.process_memory import ProcessMemory
from opentelemetry.instrumentation.flujo._internal.flujo_hooks.spend import JOURNAL_CAPACITY, Spend
from opentelemetry.instrumentation.flujo._internal.window import SlidingCounts, ratio

if TYPE_CHECKING:
    from opentelemetry.instrumentation.flujo._internal.flujo_hooks.sources import FlujoSources

_logger = logging.getLogger(__name__)

SUCCESS, FAILURE, OTHER_OUTCOME = 0, 1, 2
INF = float("inf")
# The wrapper reads it as a plain attribute (flujo_hooks.patch): keep the two in step.
ATTRIBUTE = "_opentelemetry_flujo_measured"
# The name an executor was given (a runner's pipeline_name), for a later runtime's source.
NAME_ATTRIBUTE = "_opentelemetry_flujo_name"
perf_counter = time.perf_counter


class FlujoTypes(NamedTuple):
    """flujo's result types, resolved once when flujo is patched."""

    success: type[Any]
    failure: type[Any]
    step_result: type[Any]
    frame: type[Any]
    # Control flow that is neither a success nor a failure (HITL pause, abort).
    control_flow: tuple[type[BaseException], ...]
    # A budget stop (UsageLimitExceededError): the run's UsageLimits doing their job. The
    # steps it cuts short (the one that crossed the limit, a parallel step and its
    # branches) did not fail.
    usage_limit: tuple[type[BaseException], ...]


def classify(result: Any, types: FlujoTypes) -> tuple[int, Any]:
    """(outcome, StepResult or None) for what ``execute`` returned."""
    if isinstance(result, types.success):
        step_result = result.step_result
        return (SUCCESS if getattr(step_result, "success", True) else FAILURE), step_result
    if isinstance(result, types.failure):
        return FAILURE, result.step_result
    if isinstance(result, types.step_result):
        return (SUCCESS if result.success else FAILURE), result
    return OTHER_OUTCOME, None  # Paused, Aborted, Chunk, BackgroundLaunched


def classify_exception(error: BaseException, types: FlujoTypes) -> int:
    """A propagated exception is a failure, unless it is flujo's pause/abort signal, a
    budget stop or a cancellation (not the step's fault): those are ``other``."""
    if isinstance(error, (*types.control_flow, *types.usage_limit)) or not isinstance(
            error, Exception):
        return OTHER_OUTCOME
    return FAILURE


def executed_step(args: tuple[Any, ...], kwargs: Mapping[str, Any], types: FlujoTypes) -> Any:
    """The step ``execute`` was called for: flujo passes an ``ExecutionFrame`` or, for a
    fallback, the step itself as ``step=``."""
    first = args[0] if args else kwargs.get("frame_or_step", kwargs.get("step"))
    return first.step if type(first) is types.frame else first


class Measured:
    """Running aggregates of one executor name's executions (counts by outcome, one
    window's durations, retries, cache hits, in flight), with its :class:`Spend`,
    reported as ``get_optimization_stats()``. The execute wrapper (patch.py) calls
    :meth:`end` per execution; the registry reads it per collection."""

    __slots__ = (
        "__weakref__", "_attributes", "_cold", "_executors", "_lock", "_max_steps", "_memory",
        "_rate_scale", "_ratios", "_sources", "_steps", "cache_enabled", "consecutive_failures",
        "counts", "errored", "hits", "journal", "name", "recovered", "running", "spend",
        "window",
    )

    def __init__(self, name: str, sources: FlujoSources) -> None:
        self.name = name
        self._sources = sources  # where to record: its runtime's duration histograms
        config = sources.config
        # The measured source reports rates in the unit the configuration declares for
        # every source, so the one normaliser treats it like any other.
        self._rate_scale = 100.0 if config.rate_unit == "percent" else 1.0
        self._max_steps = config.max_step_names
        self._steps: set[str] = set()
        # by outcome index, then step name: the histogram's attribute sets, built once
        self._attributes: tuple[dict[Any, dict[str, str]], ...] = ({}, {}, {})
        self._memory = ProcessMemory(sources.memory)
        self._executors: weakref.WeakSet[Any] = weakref.WeakSet()
        # Executions end on any thread while a collection reads (and resets) the window.
        self._lock = threading.Lock()
        self.cache_enabled = False
        self.counts = [0, 0, 0]  # by outcome index
        self.window = [0, 0.0, INF, 0.0]  # count, sum, min, max (seconds)
        # The wrapper appends one item per execution it starts; ``end`` pops it.
        # deque.append/pop are atomic, so in-flight needs no lock: it is the length.
        self.running: deque[None] = deque()
        # The executions ended since the last fold, as (outcome, seconds, step name,
        # cache hit, retried, point kept for the fold). The hot path only appends
        # (atomic, like the in-flight deque): everything else is done in one pass at
        # the collection, where it costs the run nothing.
        self.journal: deque[tuple[int, float, Any, bool, bool, bool]] = deque()
        self.consecutive_failures = 0
        self.errored = 0  # executions with at least one failed attempt
        self.recovered = 0  # ... that still succeeded (retry or fallback)
        self.hits = 0
        self._cold = 0  # executions before the first hit: a cold cache's misses
        # (executions, errored, recovered, hits, executions since the first hit) over
        # the ratio window: the error, recovery and hit ratios are windowed.
        self._ratios = SlidingCounts(config.ratio_window_s, 5)
        # The name's top-level runs and what they spent (runs.py records into it).
        self.spend = Spend(name, sources, self.step_label if self._max_steps > 0 else None)

    def add_executor(self, executor: Any) -> None:
        """Called under the sources' lock, which also guards reading the executors."""
        self._executors.add(executor)
        if getattr(executor, "_enable_cache", False) is True:
            self.cache_enabled = True

    @property
    def attached(self) -> bool:
        """Whether an executor of this source still lives."""
        return len(self._executors) > 0

    def end(self, started: float, outcome: int, step_result: Any, step: Any,
            context: Context | None = None) -> None:
        """One execution ended; ``context``: the one its point is recorded in (flujo's
        step span, for the exemplar), None for the current one.

        Only what must be read now is: the executed objects' few fields (no reference to
        them is kept) and whether the point gives an exemplar. The rest waits in the
        journal for :meth:`fold`."""
        elapsed = perf_counter() - started
        self.running.pop()
        # The executed step's name, not the StepResult's: after a fallback, flujo names
        # the primary's result after the fallback step.
        try:  # an attribute load, not getattr(): ~40 ns less on every execution
            name = step.name
        except AttributeError:
            name = None
        retried = cache_hit = False
        if step_result is not None:
            metadata = step_result.metadata_
            if metadata:  # usually empty: two lookups saved per execution
                # A cache hit returns the stored StepResult, attempts and all: no retry.
                cache_hit = metadata.get("cache_hit") is True
                retried = not cache_hit and metadata.get("fallback_triggered") is True
            # A complex step's attempts are not retries (a loop's are its iterations, a
            # tree search's its expansions); its children's retries are their own.
            if step_result.attempts > 1 and not cache_hit and not retried:
                retried = getattr(step, "is_complex", False) is not True
        sources = self._sources
        current = context or get_current()  # what the SDK would record the point in
        kept = current is sources.quiet or sources.keeps(current)
        if not kept:  # it gives an exemplar (or a provider takes every point at once)
            attributes = self._attributes_of(outcome, name)
            for binding, histogram in sources.targets:
                if binding.active:
                    histogram.record(elapsed, attributes, context=context)
        journal = self.journal
        journal.append((outcome, elapsed, name, cache_hit, retried, kept))
        if len(journal) > JOURNAL_CAPACITY:
            self.fold()

    def fold(self) -> None:
        """Fold the journal into the aggregates, and its points into the histograms'
        pending ones, then the name's spend journals (``Spend.fold``): at each
        collection's start, before every read, when the journal is full, and when the
        runtime closes. Entries are taken one by one, so an execution that ends
        meanwhile is folded now or next time, never lost."""
        self.spend.fold()
        journal = self.journal
        if not journal:
            return
        with self._lock:
            counts, window, pending = self.counts, self.window, []
            while journal:
                outcome, elapsed, name, cache_hit, retried, kept = journal.popleft()
                counts[outcome] += 1
                window[0] += 1
                window[1] += elapsed
                window[2] = min(window[2], elapsed)
                window[3] = max(window[3], elapsed)
                if outcome == FAILURE:
                    self.consecutive_failures += 1
                    self.errored += 1
                elif outcome == SUCCESS:
                    self.consecutive_failures = 0
                    if retried:
                        self.errored += 1
                        self.recovered += 1
                if cache_hit:
                    if not self.hits:
                        self._cold = counts[SUCCESS] + counts[FAILURE] - 1
                    self.hits += 1
                if kept:
                    pending.append((elapsed, self._attributes_of(outcome, name)))
        if pending:
            for binding, histogram in self._sources.targets:
                if binding.active:
                    histogram.keep(pending)

    def take_window(self) -> tuple[Any, ...]:
        """Every aggregate, the window among them, which starts anew: each execution is in
        the window of exactly one read."""
        self.fold()
        with self._lock:
            window, self.window = self.window, [0, 0.0, INF, 0.0]
            success, failure, other = self.counts
            return (success, failure, other, window, self.consecutive_failures, self.errored,
                    self.recovered, self.hits, self._cold)

    def _attributes_of(self, outcome: int, name: Any) -> dict[str, str]:
        """The histogram's attribute set of an execution, built once per step name."""
        return self._attributes[outcome].get(name) or self._new_attributes(name, outcome)

    def _new_attributes(self, name: Any, outcome: int) -> dict[str, str]:
        attributes = {EXECUTOR_NAME: self.name, OUTCOME: OUTCOMES[outcome]}
        if self._max_steps > 0:
            attributes[STEP_NAME] = self.step_label(name)
        return self._attributes[outcome].setdefault(name, attributes)

    def step_label(self, name: Any) -> str:
        """The name's ``flujo.step.name`` for step ``name``: at most ``max_step_names``
        distinct ones per executor name (spend and executions alike), then ``_other``."""
        # Cut like executor names: step names are the pipeline author's free text.
        step = name[:MAX_NAME_LENGTH] if isinstance(name, str) else OTHER
        if step not in self._steps and len(self._steps) >= self._max_steps:
            step = OTHER
        self._steps.add(step)
        return step

    def get_optimization_stats(self) -> dict[str, dict[str, Any]]:
        # the window is "since the last read"
        taken = self.take_window()
        success, failure, other, window, consecutive, errored, recovered, hits, cold = taken
        total = success + failure + other
        count, seconds, shortest, longest = window
        in_flight = len(self.running)
        scale = self._rate_scale
        execution: dict[str, Any] = {
            "total_executions": total,
            "successful_executions": success,
            "failed_executions": failure,
        }
        if count:
            execution.update(avg_time_ms=seconds / count * 1000, min_time_ms=shortest * 1000,
                             max_time_ms=longest * 1000)
        # Executions that looked the cache up since its first hit (the misses that
        # filled a cold cache say nothing about how well it serves), 0 before it.
        served = success + failure - cold if hits else 0
        with self._lock:  # two readers' collections may read at once
            grew = self._ratios.growth(self._sources.clock() / 1e9,
                                       (total, errored, recovered, hits, served))
        error_ratio, recovery_ratio, hit_ratio = (
            ratio(grew[1], grew[0]), ratio(grew[2], grew[1]), ratio(grew[3], grew[4]))
        errors: dict[str, Any] = {"failure_count": consecutive}
        if error_ratio is not None:
            errors["error_rate"] = error_ratio * scale
        if recovery_ratio is not None:
            errors["recovery_success_rate"] = recovery_ratio * scale
        stats: dict[str, dict[str, Any]] = {
            "execution": execution, "error_handling": errors,
            "concurrency": {"current_level": in_flight},
        }
        with self._sources.lock:
            limits = [getattr(e, "_concurrency_limit", None) for e in self._executors]
        # flujo 0.6 stores concurrency_limit (default 10) without enforcing it: reported
        # as configured, summed over the name's live executors like any same-name source.
        limits = [limit for limit in limits if isinstance(limit, int) and limit > 0]
        if limits:
            stats["concurrency"]["max_level"] = sum(limits)
        # flujo's step cache is on by default and looks up every step, so a workload that
        # never repeats an input misses every time: no evidence of a bad cache, only of
        # one with nothing to serve. The hit ratio is reported once the name has had a
        # hit, over the executions from that hit on: the misses that filled a cold cache
        # say nothing about how well it serves (counted in, 1 hit after 5 cold misses
        # read 17 % and warned on a healthy cache).
        if self.cache_enabled and hit_ratio is not None:
            stats["cache"] = {"hit_rate": hit_ratio * scale}
        memory = self._memory.read()
        if memory:
            stats["memory"] = memory
        pipeline = self.spend.stats()
        if pipeline:
            stats["pipeline"] = pipeline
        return stats
