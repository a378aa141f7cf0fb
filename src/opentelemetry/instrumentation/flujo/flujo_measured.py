"""Stats for flujo's ExecutorCore, measured by wrapping ``ExecutorCore.execute``.

flujo 0.6 has no ``get_optimization_stats``; :class:`Measured` is the stats source the
registry reads instead, one per executor, attached to it on first use. Every call of
``ExecutorCore.execute`` is one execution: a pipeline's top-level steps and the steps
flujo runs inside them (parallel branches, loop bodies, fallbacks) alike, so a parallel
step with two branches is three executions, and all three are in flight together.

Per execution the wrapper keeps running aggregates only (counts, a window's sum, min
and max), under one short lock, and records one histogram point. What flujo cannot
tell (object pool, circuit breaker, telemetry batching, queue, wait times) is absent.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Mapping
from typing import Any, NamedTuple

from opentelemetry.metrics import Histogram

from opentelemetry.instrumentation.flujo.binding import Binding
from opentelemetry.instrumentation.flujo.catalog import (
    EXECUTION_DURATION,
    EXECUTOR_NAME,
    OUTCOME,
    OUTCOMES,
    STEP_NAME,
)
from opentelemetry.instrumentation.flujo.config import Config
from opentelemetry.instrumentation.flujo.process_memory import ProcessMemory
from opentelemetry.instrumentation.flujo.registry import OTHER
from opentelemetry.instrumentation.flujo.runtime import Runtime, get_runtime

_logger = logging.getLogger(__name__)

SUCCESS, FAILURE, OTHER_OUTCOME = 0, 1, 2
ATTRIBUTE = "_opentelemetry_flujo_measured"


class FlujoTypes(NamedTuple):
    """flujo's result types, resolved once when flujo is patched."""

    success: type
    failure: type
    step_result: type
    frame: type
    # Control flow that is neither a success nor a failure (HITL pause, abort).
    control_flow: tuple[type[BaseException], ...]


# (binding, histogram) for every binding: the wrapper records into the active ones.
_targets: list[tuple[Binding, Histogram]] = []


def add_duration_histogram(binding: Binding, config: Config) -> None:
    """A ``Runtime.hooks`` entry: the execution-duration histogram for one binding."""
    metric = EXECUTION_DURATION
    if not binding.wanted(metric.name) or any(b is binding for b, _ in _targets):
        return
    try:  # the advisory exists from opentelemetry-api 1.23; older APIs use SDK defaults
        histogram = binding.meter.create_histogram(
            metric.name, unit=metric.unit, description=metric.description,
            explicit_bucket_boundaries_advisory=list(metric.boundaries))
    except TypeError:
        histogram = binding.meter.create_histogram(
            metric.name, unit=metric.unit, description=metric.description)
    _targets.append((binding, histogram))


def install_hook(runtime: Runtime) -> None:
    """Adds the histogram to the runtime's existing bindings and to every later one."""
    if add_duration_histogram not in runtime.hooks:
        runtime.hooks.append(add_duration_histogram)
    for binding in runtime.bindings():
        add_duration_histogram(binding, runtime.config)


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


def step_name(args: tuple[Any, ...], kwargs: Mapping[str, Any], types: FlujoTypes) -> Any:
    first = args[0] if args else kwargs.get("frame_or_step", kwargs.get("step"))
    if type(first) is types.frame:
        first = first.step
    return getattr(first, "name", None)


class Measured:
    """Running aggregates for one ExecutorCore, reported as ``get_optimization_stats()``."""

    __slots__ = (
        "__weakref__", "_attributes", "_executor", "_lock", "_max_steps", "_memory",
        "_rate_scale", "_steps", "consecutive_failures", "counts", "errored", "hits",
        "in_flight", "name", "recovered", "window",
    )

    def __init__(self, executor: Any, name: str, config: Config) -> None:
        self._executor = weakref.ref(executor)
        self.name = name
        self._lock = threading.Lock()
        # The measured source reports rates in the unit the configuration declares for
        # every source, so the one normaliser treats it like any other.
        self._rate_scale = 100.0 if config.rate_unit == "percent" else 1.0
        self._max_steps = config.max_step_names
        self._steps: set[str] = set()
        self._attributes: dict[tuple[Any, int], dict[str, str]] = {}
        self._memory = ProcessMemory()
        self.counts = [0, 0, 0]  # by outcome index
        self.window = [0, 0.0, float("inf"), 0.0]  # count, sum, min, max (seconds)
        self.in_flight = 0
        self.consecutive_failures = 0
        self.errored = 0  # executions with at least one failed attempt
        self.recovered = 0  # ... that still succeeded (retry or fallback)
        self.hits = 0

    def begin(self) -> float:
        with self._lock:
            self.in_flight += 1
        return time.perf_counter()

    def end(self, started: float, outcome: int, step_result: Any, name: Any) -> None:
        elapsed = time.perf_counter() - started
        retried = cache_hit = fallback = False
        if step_result is not None:
            metadata = step_result.metadata_
            # A cache hit returns the stored StepResult, attempts and all: not a retry.
            cache_hit = metadata.get("cache_hit") is True
            if not cache_hit:
                retried = step_result.attempts > 1
                fallback = metadata.get("fallback_triggered") is True
        with self._lock:
            self.in_flight -= 1
            self.counts[outcome] += 1
            window = self.window
            window[0] += 1
            window[1] += elapsed
            if elapsed < window[2]:
                window[2] = elapsed
            if elapsed > window[3]:
                window[3] = elapsed
            if outcome == FAILURE:
                self.consecutive_failures += 1
                self.errored += 1
            elif outcome == SUCCESS:
                self.consecutive_failures = 0
                if retried or fallback:
                    self.errored += 1
                    self.recovered += 1
            if cache_hit:
                self.hits += 1
        attributes = self._attributes.get((name, outcome)) or self._new_attributes(name, outcome)
        for binding, histogram in _targets:
            if binding.active:
                histogram.record(elapsed, attributes)

    def _new_attributes(self, name: Any, outcome: int) -> dict[str, str]:
        attributes = {EXECUTOR_NAME: self.name, OUTCOME: OUTCOMES[outcome]}
        if self._max_steps > 0:
            step = name if isinstance(name, str) else OTHER
            if step not in self._steps and len(self._steps) >= self._max_steps:
                step = OTHER
            self._steps.add(step)
            attributes[STEP_NAME] = step
        return self._attributes.setdefault((name, outcome), attributes)

    def get_optimization_stats(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            (success, failure, other), window = self.counts, self.window
            total = success + failure + other
            count, seconds, shortest, longest = window
            self.window = [0, 0.0, float("inf"), 0.0]  # the window is "since the last read"
            in_flight, consecutive = self.in_flight, self.consecutive_failures
            errored, recovered, hits = self.errored, self.recovered, self.hits
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
        executor = self._executor()
        limit = getattr(executor, "_concurrency_limit", None)
        if isinstance(limit, int) and limit > 0:
            stats["concurrency"]["max_level"] = limit
        if getattr(executor, "_enable_cache", False) is True and success + failure:
            stats["cache"] = {"hit_rate": hits / (success + failure) * scale}
        if _memory_owner(self):
            stats["memory"] = self._memory.read()
        return _overlay(stats, executor)


def _overlay(stats: dict[str, dict[str, Any]], executor: Any) -> dict[str, dict[str, Any]]:
    """An executor's own ``get_optimization_stats()`` wins, key by key."""
    own_stats = getattr(executor, "get_optimization_stats", None)
    if not callable(own_stats):
        return stats
    own = own_stats()
    if not isinstance(own, Mapping):
        return stats
    merged = dict(stats)
    for category, section in own.items():
        if isinstance(section, Mapping):
            merged[category] = {**stats.get(category, {}), **section}
    return merged


# Process memory is one figure per process: per executor name, one live source reports
# it, so a name's SUM across instances does not count the same process twice.
_memory_owners: dict[str, weakref.ref[Measured]] = {}
_owners_lock = threading.Lock()


def _memory_owner(measured: Measured) -> bool:
    with _owners_lock:
        owner = _memory_owners.get(measured.name)
        current = owner() if owner is not None else None
        if current is None:
            _memory_owners[measured.name] = weakref.ref(measured)
            return True
        return current is measured


_attach_lock = threading.Lock()


def attach(executor: Any, name: str | None = None) -> Measured | None:
    """The executor's :class:`Measured`, created and registered on first call."""
    measured: Measured | None = getattr(executor, ATTRIBUTE, None)
    if measured is not None:
        return measured
    try:
        with _attach_lock:
            measured = getattr(executor, ATTRIBUTE, None)
            if measured is None:
                runtime = get_runtime()
                chosen = name if name and name.strip() else type(executor).__name__
                measured = Measured(executor, chosen, runtime.config)
                setattr(executor, ATTRIBUTE, measured)
                # The registry may file the name under "_other" (name cap).
                measured.name = runtime.registry.add(measured, chosen).group.name
        return measured
    except Exception:
        _logger.debug("could not measure %r", executor, exc_info=True)
        return None
