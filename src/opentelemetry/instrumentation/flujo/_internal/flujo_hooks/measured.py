"""Stats for flujo's ExecutorCore, measured by wrapping ``ExecutorCore.execute``.

flujo 0.6 has no ``get_optimization_stats``; :class:`Measured` is the stats source the
registry reads instead: one per executor *name*, shared by every ExecutorCore of that
name and kept for the life of the runtime. flujo readily builds a runner (and so an
executor) per request; a source per executor would die with it, taking the executions
since the last collection along.

Every call of ``ExecutorCore.execute`` is one execution: a pipeline's top-level steps
and the steps flujo runs inside them (parallel branches, loop bodies, fallbacks) alike,
so a parallel step with two one-step branches is three executions, all three in flight
together. Per execution the wrapper keeps running aggregates only (counts, a window's
sum, min and max; no list of durations) and records one histogram point. What flujo
cannot tell (object pool, circuit breaker, telemetry batching, queue, wait times) is
absent.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from opentelemetry.context import Context
from opentelemetry.metrics import Counter, Histogram

from opentelemetry.instrumentation.flujo._internal.catalog import (
    EXECUTION_DURATION,
    EXECUTOR_NAME,
    GENAI_OPERATION_DURATION,
    GENAI_TOKEN_USAGE,
    OUTCOME,
    OUTCOMES,
    PIPELINE_NAME,
    RUN_DURATION,
    RUN_OUTCOME,
    RUNS,
    STEP_COST,
    STEP_NAME,
    STEP_TOKENS,
    TOKEN_TYPE,
    TOKEN_TYPES,
    Kind,
    SyncMetric,
)
from opentelemetry.instrumentation.flujo._internal.collect.registry import (
    MAX_NAME_LENGTH,
    OTHER,
    Registry,
    executor_name,
)
from opentelemetry.instrumentation.flujo._internal.config import Config
from opentelemetry.instrumentation.flujo._internal.flujo_hooks import genai
from opentelemetry.instrumentation.flujo._internal.flujo_hooks.process_memory import (
    MemoryLimit,
    ProcessMemory,
)
from opentelemetry.instrumentation.flujo._internal.otel.binding import Binding

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
    """A propagated exception is a failure, unless it is flujo's pause/abort signal or a
    cancellation (not the step's fault): those are ``other``."""
    if isinstance(error, types.control_flow) or not isinstance(error, Exception):
        return OTHER_OUTCOME
    return FAILURE


def executed_step(args: tuple[Any, ...], kwargs: Mapping[str, Any], types: FlujoTypes) -> Any:
    """The step ``execute`` was called for: flujo passes an ``ExecutionFrame`` or, for a
    fallback, the step itself as ``step=``."""
    first = args[0] if args else kwargs.get("frame_or_step", kwargs.get("step"))
    return first.step if type(first) is types.frame else first


class RunInstruments(NamedTuple):
    """One binding's run, spend and GenAI instruments (flujo_hooks/runs.py and
    agent_calls.py); None: excluded."""

    runs: Counter | None
    duration: Histogram | None
    cost: Counter | None
    tokens: Counter | None
    genai_tokens: Histogram | None
    genai_duration: Histogram | None


class Measured:
    """Running aggregates for one executor name, reported as ``get_optimization_stats()``."""

    __slots__ = (
        "__weakref__", "_attributes", "_cold", "_cost", "_executors", "_limited", "_lock",
        "_max_steps", "_memory", "_peak", "_rate_scale", "_run_attributes", "_runs", "_sources",
        "_spend_attributes", "_steps", "_tokens", "cache_enabled", "consecutive_failures",
        "counts", "errored", "hits", "name", "recovered", "running", "window",
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
        self._memory = ProcessMemory(sources.memory_limit, sources.clock)
        self._executors: weakref.WeakSet[Any] = weakref.WeakSet()
        # Executions end on any thread while a collection reads (and resets) the window.
        self._lock = threading.Lock()
        self.cache_enabled = False
        self.counts = [0, 0, 0]  # by outcome index
        self.window = [0, 0.0, INF, 0.0]  # count, sum, min, max (seconds)
        # The wrapper appends one item per execution it starts; ``end`` pops it.
        # deque.append/pop are atomic, so in-flight needs no lock: it is the length.
        self.running: deque[None] = deque()
        self.consecutive_failures = 0
        self.errored = 0  # executions with at least one failed attempt
        self.recovered = 0  # ... that still succeeded (retry or fallback)
        self.hits = 0
        self._cold = 0  # executions before the first hit: a cold cache's misses
        # Top-level runs under this name (runs.py), under the same lock: touched once per
        # run and per step, not per execution.
        self._runs = 0
        self._cost = 0.0
        self._tokens = 0
        self._limited: set[Any] = set()  # runs in flight that have UsageLimits
        self._peak: float | None = None  # their largest fraction, of those ended since
        self._run_attributes: dict[str, dict[str, str]] = {}
        self._spend_attributes: dict[tuple[Any, ...], dict[str, str]] = {}

    def add_executor(self, executor: Any) -> None:
        """Called under the sources' lock, which also guards reading the executors."""
        self._executors.add(executor)
        if getattr(executor, "_enable_cache", False) is True:
            self.cache_enabled = True

    def end(self, started: float, outcome: int, step_result: Any, step: Any,
            context: Context | None = None) -> None:
        """One execution ended; ``context``: the one its point is recorded in (flujo's
        step span, for the exemplar), None for the current one."""
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
        with self._lock:
            self.counts[outcome] += 1
            window = self.window
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
                    self._cold = self.counts[SUCCESS] + self.counts[FAILURE] - 1
                self.hits += 1
        attributes = self._attributes[outcome].get(name) or self._new_attributes(name, outcome)
        for binding, histogram in self._sources.targets:
            if binding.active:
                histogram.record(elapsed, attributes, context=context)

    def _take(self, fresh: list[Any]) -> tuple[Any, ...]:
        """Every aggregate, and ``fresh`` as the next window."""
        with self._lock:
            window, self.window = self.window, fresh
            success, failure, other = self.counts
            return (success, failure, other, window, self.consecutive_failures, self.errored,
                    self.recovered, self.hits, self._cold)

    def _new_attributes(self, name: Any, outcome: int) -> dict[str, str]:
        attributes = {EXECUTOR_NAME: self.name, OUTCOME: OUTCOMES[outcome]}
        if self._max_steps > 0:
            attributes[STEP_NAME] = self._step_label(name)
        return self._attributes[outcome].setdefault(name, attributes)

    def _step_label(self, name: Any) -> str:
        # Cut like executor names: step names are the pipeline author's free text.
        step = name[:MAX_NAME_LENGTH] if isinstance(name, str) else OTHER
        if step not in self._steps and len(self._steps) >= self._max_steps:
            step = OTHER
        self._steps.add(step)
        return step

    def run_started(self, run: Any) -> None:
        with self._lock:
            self._runs += 1
            if run.limited:
                self._limited.add(run)

    def run_ended(self, run: Any, outcome: str, elapsed: float) -> None:
        with self._lock:
            if run in self._limited:
                self._limited.discard(run)
                # Kept until the next read: a run shorter than the export interval
                # still shows how near its limit it came.
                self._peak = max(self._peak or 0.0, run.fraction)
        attributes = self._run_attributes.get(outcome)
        if attributes is None:
            attributes = self._run_attributes.setdefault(
                outcome, {PIPELINE_NAME: self.name, RUN_OUTCOME: outcome})
        for binding, instruments in self._sources.run_targets:
            if binding.active:
                if instruments.runs is not None:
                    instruments.runs.add(1, attributes)
                if instruments.duration is not None:
                    instruments.duration.record(elapsed, attributes, context=run.context)

    def add_spend(self, step: Any, cost: float, tokens: int,
                  split: tuple[int, int] | None, model: str | None) -> None:
        """What a run's step added to its totals; ``split``: (input, output) tokens where
        flujo knows them, with the ``model`` (``provider:model``) that used them."""
        with self._lock:
            self._cost += cost
            self._tokens += tokens
        for binding, instruments in self._sources.run_targets:
            if not binding.active:
                continue
            if cost and instruments.cost is not None:
                instruments.cost.add(cost, self._spend_attributes_of(step, model))
            if tokens and instruments.tokens is not None:
                if split is None:
                    instruments.tokens.add(tokens, self._spend_attributes_of(step))
                else:
                    for token_type, count in zip(TOKEN_TYPES, split, strict=True):
                        instruments.tokens.add(count, self._spend_attributes_of(
                            step, model, token_type))

    def _spend_attributes_of(self, step: Any, model: str | None = None,
                             token_type: str | None = None) -> dict[str, str]:
        key = (step, model, token_type)
        found = self._spend_attributes.get(key)
        if found is not None:
            return found
        attributes = {PIPELINE_NAME: self.name}
        if self._max_steps > 0:
            attributes[STEP_NAME] = self._step_label(step)
        if token_type is not None:
            attributes[TOKEN_TYPE] = token_type
        if model:  # flujo's own metric, not a GenAI convention one: the current names
            attributes.update(genai.model_attributes(model, latest=True))
        return self._spend_attributes.setdefault(key, attributes)

    def _pipeline_stats(self) -> dict[str, float] | None:
        """What the runs spent; None for a name that has had no run (a bare executor)."""
        with self._lock:
            if not self._runs:
                return None
            stats: dict[str, float] = {"cost_usd": self._cost, "tokens": self._tokens}
            fractions = [run.fraction for run in self._limited]
            if self._peak is not None:
                fractions.append(self._peak)
                self._peak = None
        if fractions:  # absent without a run that has limits: no evidence, no value
            stats["usage_limit_utilization"] = max(fractions)
        return stats

    def get_optimization_stats(self) -> dict[str, dict[str, Any]]:
        # the window is "since the last read"
        taken = self._take([0, 0.0, INF, 0.0])
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
        errors: dict[str, Any] = {"failure_count": consecutive}
        if total:
            errors["error_rate"] = errored / total * scale
        if errored:
            errors["recovery_success_rate"] = recovered / errored * scale
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
        if self.cache_enabled and hits:
            stats["cache"] = {"hit_rate": hits / (success + failure - cold) * scale}
        memory = self._memory.read()
        if memory:
            stats["memory"] = memory
        pipeline = self._pipeline_stats()
        if pipeline:
            stats["pipeline"] = pipeline
        return stats


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
        self.memory_limit = MemoryLimit(clock)
        # (binding, histogram) per binding: the wrapper records into the active ones.
        # Replaced, never changed in place, so an execution ending on another thread
        # walks a whole list. The same for the run and spend instruments.
        self.targets: list[tuple[Binding, Histogram]] = []
        self.run_targets: list[tuple[Binding, RunInstruments]] = []
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
        instruments = RunInstruments(*(_instrument(binding, metric)
                                       for metric in (RUNS, RUN_DURATION, STEP_COST, STEP_TOKENS,
                                                      GENAI_TOKEN_USAGE,
                                                      GENAI_OPERATION_DURATION)))
        self.run_targets = [*self.run_targets, (binding, instruments)]

    def attach(self, executor: Any, name: str | None = None) -> Measured | None:
        """The executor's :class:`Measured`, chosen (and registered) on first call.

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
                    given = name or getattr(executor, NAME_ATTRIBUTE, None)
                    chosen = executor_name(executor, given)
                    if callable(getattr(executor, "get_optimization_stats", None)):
                        group = self.registry.add(executor, chosen).group.name
                        measured = Measured(group, self)
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

    def close(self) -> None:
        """Stop recording, and let every attached executor choose its source anew on its
        next execution (from the runtime that patches flujo then)."""
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
    """``metric``'s synchronous instrument on ``binding``; None when excluded."""
    if not binding.wanted(metric.name):
        return None
    if metric.kind is Kind.HISTOGRAM:
        return binding.histogram(metric.name, metric.unit, metric.description,
                                 metric.boundaries)
    return binding.counter(metric.name, metric.unit, metric.description)
