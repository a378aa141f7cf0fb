"""What the benchmarks measure: executors, the plugin and the three baselines.

Every subject exposes the same values for the same executors, so the figures
compare designs, not workloads. Executors return a prebuilt stats mapping: the cost
of *computing* stats is the executor's, not the instrumentation's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from opentelemetry.metrics import CallbackOptions, ObservableUpDownCounter, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    Gauge,
    Histogram,
    MetricReader,
    MetricsData,
    Sum,
)
from opentelemetry.sdk.metrics.view import View

from opentelemetry.instrumentation.flujo._internal.catalog import (
    EXECUTOR_NAME,
    METRICS,
    PREFIX,
    SCOPE,
    SELF_METRICS,
    STATS,
    THRESHOLD_LEVEL,
    THRESHOLD_METRIC,
    THRESHOLD_PREFIX,
    THRESHOLD_STATE,
    THRESHOLD_STATES,
    THRESHOLD_STATUS_PREFIX,
    Conversion,
    Kind,
)
from opentelemetry.instrumentation.flujo._internal.collect.fetch import StatsFetcher
from opentelemetry.instrumentation.flujo._internal.collect.normalise import Normaliser
from opentelemetry.instrumentation.flujo._internal.collect.registry import Registry
from opentelemetry.instrumentation.flujo._internal.collect.snapshot import SnapshotTaker
from opentelemetry.instrumentation.flujo._internal.config import Config
from opentelemetry.instrumentation.flujo._internal.otel.binding import Binding
from opentelemetry.instrumentation.flujo._internal.otel.instruments import observer
from opentelemetry.instrumentation.flujo._internal.otel.views import NoExemplars, flujo_views
from opentelemetry.instrumentation.flujo._internal.runtime import Runtime
from opentelemetry.instrumentation.flujo._internal.thresholds.engine import ThresholdEngine
from opentelemetry.instrumentation.flujo._internal.thresholds.evaluate import Results

# A plausible value, in the guide's units, for every stat the catalog reads.
_SAMPLE = {
    Conversion.RATE: 42.5,
    Conversion.RATIO: 0.25,
    Conversion.MIB: 12.0,
    Conversion.MIB_PER_S: 1.5,
    Conversion.MS: 3.5,
    Conversion.COUNT: 7,
    Conversion.STATE: "CLOSED",
}
_EXECUTIONS = {"total_executions": 100, "successful_executions": 90, "failed_executions": 10}


# The category flujo's runs add to a pipeline's name (spend, budget use): not part of
# the executor contract the guide defines, so measured apart (shape.py).
RUNS_CATEGORY = "pipeline"


def full_stats(with_runs: bool = False) -> dict[str, dict[str, Any]]:
    """Every stat of the executor contract present and valid (the most data points an
    executor yields); ``with_runs`` adds what flujo's runs report for a pipeline."""
    stats: dict[str, dict[str, Any]] = {}
    for stat in STATS:
        if stat.category != RUNS_CATEGORY or with_runs:
            stats.setdefault(stat.category, {})[stat.key] = _EXECUTIONS.get(
                stat.key, _SAMPLE[stat.conversion])
    return stats


class Executor:
    """Reports prebuilt stats, optionally after a busy wait, and counts its reads."""

    def __init__(self, cost_s: float = 0.0, with_runs: bool = False) -> None:
        self.stats = full_stats(with_runs)
        self.cost_s = cost_s
        self.calls = 0

    def get_optimization_stats(self) -> dict[str, dict[str, Any]]:
        self.calls += 1
        if self.cost_s:
            # Busy, not sleep: a stats call that costs CPU, like computing real stats.
            end = time.perf_counter() + self.cost_s
            while time.perf_counter() < end:
                pass
        return self.stats


def names(n: int) -> list[str]:
    return [f"executor-{i:05d}" for i in range(n)]


def named_executors(n: int, cost_s: float = 0.0,
                    with_runs: bool = False) -> list[tuple[Executor, str]]:
    """``n`` executors, each with its own name (one series each: the SDK's worst case)."""
    return [(Executor(cost_s, with_runs), name) for name in names(n)]


class PatientReader(MetricReader):
    """An in-memory reader whose collection takes as long as it needs.

    InMemoryMetricReader collects with the SDK's default 10 s timeout, which the
    memory figures (thousands of executors, under tracemalloc) can exceed on a
    loaded machine; a timed-out collection would raise out of the benchmark.
    """

    def __init__(self) -> None:
        super().__init__()
        self._data: MetricsData | None = None

    def _receive_metrics(self, metrics_data: MetricsData, timeout_millis: float = 10_000,
                         **kwargs: Any) -> None:
        self._data = metrics_data

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass

    def get_metrics_data(self) -> MetricsData | None:
        self.collect(timeout_millis=600_000)
        data, self._data = self._data, None
        return data


# The bench's name cap: every executor keeps its own name.
CONFIG = Config(max_executor_names=100_000)


class Subject:
    """One MeterProvider with an in-memory reader; ``collect()`` is one full collection.

    Every subject's provider has the plugin's views, as the providers the plugin builds
    do (and its README asks of a user's own): the floor and the naive design are
    measured on the very SDK configuration the plugin runs on.
    """

    def __init__(self) -> None:
        self.reader = PatientReader()
        self.provider = MeterProvider(metric_readers=[self.reader], views=self.views())

    def views(self) -> list[View]:
        return flujo_views(CONFIG)

    def collect(self) -> MetricsData | None:
        return self.reader.get_metrics_data()

    def close(self) -> None:
        self.provider.shutdown()


class HookProbe:
    """Sees what each runtime hook adds (listeners and observers), through the public
    hook API, whatever module the hook lives in. Subclasses wrap what they see.
    """

    def wrap_hooks(self, runtime: Runtime) -> None:
        runtime.hooks[:] = [self._hook(i, hook) for i, hook in enumerate(runtime.hooks)]

    def listener(self, index: int, fn: Callable[[Any], None]) -> Callable[[Any], None]:
        return fn

    def observer(self, index: int, name: str, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return fn

    def _hook(self, index: int, hook: Callable[[Binding], None]
              ) -> Callable[[Binding], None]:
        def run(binding: Binding) -> None:
            add_listener, add_observable = binding.add_listener, binding.add_observable

            def listener(fn: Callable[[Any], None]) -> None:
                add_listener(self.listener(index, fn))

            def observable(name: str, kind: Kind, unit: str, description: str,
                           observe: Callable[[Any], Any]) -> None:
                add_observable(name, kind, unit, description, self.observer(index, name, observe))

            binding.add_listener = listener  # type: ignore[method-assign]
            binding.add_observable = observable  # type: ignore[method-assign]
            try:
                hook(binding)
            finally:
                del binding.add_listener, binding.add_observable

        return run


class HookTimer(HookProbe):
    """Times what each runtime hook adds, per collection.

    A hook is the threshold layer's when it registers a ``THRESHOLD_PREFIX`` metric.
    """

    def __init__(self) -> None:
        self.ns: dict[int, int] = {}
        self.threshold_hooks: set[int] = set()

    def threshold_ns(self) -> int:
        return sum(self.ns.get(i, 0) for i in self.threshold_hooks)

    def reset(self) -> None:
        self.ns.clear()

    def listener(self, index: int, fn: Callable[[Any], None]) -> Callable[[Any], None]:
        return self._timed(index, fn)

    def observer(self, index: int, name: str, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        if name.startswith(THRESHOLD_PREFIX):
            self.threshold_hooks.add(index)
        return self._timed(index, fn)

    def _timed(self, index: int, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        ns = self.ns

        def run(snapshot: Any) -> Any:
            start = time.perf_counter_ns()
            try:
                return fn(snapshot)
            finally:
                ns[index] = ns.get(index, 0) + time.perf_counter_ns() - start

        return run


class ObservationRecorder(HookProbe):
    """Keeps the observations each instrument's observer last handed to the SDK.

    The SDK floor must replay these, not the exported data points: past the SDK's
    cardinality limit (2,000 attribute sets per metric) the SDK folds the extra
    observations into one overflow point, so the exported points undercount what
    the SDK was given (and had to hash, look up and fold) -- see docs/performance.md.
    """

    def __init__(self) -> None:
        self.observed: dict[str, list[Observation]] = {}

    def observer(self, index: int, name: str, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        observed = self.observed

        def run(snapshot: Any) -> Any:
            observed[name] = result = list(fn(snapshot))
            return result

        return run


class Plugin(Subject):
    """The plugin as a user runs it: a Runtime bound to its own MeterProvider.

    Every runtime hook is on (the threshold layer too, when it is installed).
    """

    def __init__(self, executors: Iterable[tuple[Any, str]], probe: HookProbe | None = None
                 ) -> None:
        super().__init__()
        self.runtime = self._runtime()
        if probe is not None:
            probe.wrap_hooks(self.runtime)
        self.binding = self.runtime.bind(self.provider)
        for executor, name in executors:
            self.runtime.registry.add(executor, name)

    def close(self) -> None:
        self.runtime.close()
        super().close()

    def _runtime(self) -> Runtime:
        return Runtime(CONFIG)


@dataclass(frozen=True)
class Shape:
    """The metrics one collection produced: name, kind, unit and the points' values."""

    metrics: tuple[tuple[str, str, str, tuple[tuple[Any, dict[str, Any]], ...]], ...]

    @property
    def points(self) -> int:
        return sum(len(points) for *_, points in self.metrics)

    @property
    def layout(self) -> tuple[tuple[str, str, str, int], ...]:
        """Name, kind, unit and number of points of each metric (values vary: durations)."""
        return tuple((name, kind, unit, len(points)) for name, kind, unit, points in self.metrics)


def shape(data: MetricsData | None) -> Shape:
    out = []
    assert data is not None
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                d = metric.data
                if isinstance(d, Histogram):
                    kind = "Histogram"
                elif isinstance(d, Gauge):
                    kind = "Gauge"
                elif isinstance(d, Sum):
                    kind = "Counter" if d.is_monotonic else "UpDownCounter"
                else:
                    raise TypeError(type(d))
                points = tuple(
                    (getattr(p, "value", getattr(p, "sum", 0.0)), dict(p.attributes or {}))
                    for p in d.data_points
                )
                out.append((metric.name, kind, metric.unit or "", points))
    return Shape(tuple(out))


_SYNC_SELF_METRICS = frozenset(m.name for m in SELF_METRICS
                               if m.kind in (Kind.HISTOGRAM, Kind.COUNTER))


class Floor(Subject):
    """The SDK floor: the plugin's metrics, from callbacks returning prebuilt Observations.

    Same instruments, and the very observations the plugin's observers returned
    (``observed``, from an :class:`ObservationRecorder`; the exported points for the
    rest), so the same exported data points; synchronous instruments get the same one
    record per collection. What is left is what OpenTelemetry costs.
    """

    def __init__(self, like: Shape, observed: dict[str, list[Observation]]) -> None:
        super().__init__()
        # The plugin's scope, so the plugin's views select the same instruments.
        meter = self.provider.get_meter(SCOPE)
        sync: list[Callable[[], None]] = []
        for name, kind, unit, points in like.metrics:
            if name in _SYNC_SELF_METRICS:
                instrument = (meter.create_histogram if kind == "Histogram"
                              else meter.create_counter)(name, unit=unit)
                record = getattr(instrument, "record", None) or instrument.add  # type: ignore[attr-defined]
                sync.extend(self._recorder(record, v, a) for v, a in points)
        create = {
            "Gauge": meter.create_observable_gauge,
            "Counter": meter.create_observable_counter,
            "UpDownCounter": meter.create_observable_up_down_counter,
        }
        for name, kind, unit, points in like.metrics:
            if name in _SYNC_SELF_METRICS:
                continue
            observations = observed.get(name) or [Observation(v, a) for v, a in points]
            # The first callback also does the collection's synchronous records.
            create[kind](name, callbacks=[self._callback(observations, sync)], unit=unit)
            sync = []

    @staticmethod
    def _recorder(record: Callable[..., None], value: Any, attrs: dict[str, Any]
                  ) -> Callable[[], None]:
        return lambda: record(value, attrs or None)

    @staticmethod
    def _callback(observations: list[Observation], sync: list[Callable[[], None]]
                  ) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def callback(options: CallbackOptions) -> Iterable[Observation]:
            for record in sync:
                record()
            return observations

        return callback


class StateSetThresholds:
    """The previous threshold design's export shape, for side-by-side figures.

    ``flujo.executor.threshold.status`` as a state-set (three points per executor name
    and checked metric, attributes ``flujo.threshold.metric`` and ``.state``) and every
    limit under every name. Fed by the engine's own results, so the evaluation is the
    same and only the exported shape differs; observations are prebuilt per name, as
    the previous engine did, so the time compared is the SDK's and the shape's.
    """

    STATUS = THRESHOLD_PREFIX + "status"

    def __init__(self, engine: ThresholdEngine) -> None:
        self.engine = engine
        self.results = Results()
        self._states: dict[tuple[str, str, int], tuple[Observation, ...]] = {}
        self._limits: dict[tuple[str, float, str], Observation] = {}

    def bind(self, binding: Binding) -> None:
        binding.add_listener(self._evaluate)
        binding.add_observable(self.STATUS, Kind.UP_DOWN_COUNTER, "1", "state-set",
                               self._state_set)
        for check in self.engine.evaluator.all_checks():
            if check.gauge is not None:
                binding.add_observable(check.gauge, Kind.GAUGE, check.unit, "limit",
                                       self._per_name(check.status, check.gauge))

    def _evaluate(self, snapshot: Any) -> None:
        self.results = self.engine.evaluate(snapshot)

    def _state_set(self, _snapshot: Any) -> list[Observation]:
        out: list[Observation] = []
        for status, points in self.results.status.items():
            for point in points:
                name = str((point.attributes or {})[EXECUTOR_NAME])
                key = (name, status, int(point.value))
                cached = self._states.get(key)
                if cached is None:
                    metric = PREFIX + status.removeprefix(THRESHOLD_STATUS_PREFIX)
                    cached = self._states[key] = tuple(
                        Observation(int(rank == point.value), {
                            EXECUTOR_NAME: name, THRESHOLD_METRIC: metric,
                            THRESHOLD_STATE: state})
                        for rank, state in enumerate(THRESHOLD_STATES))
                out.extend(cached)
        return out

    def _per_name(self, status: str, gauge: str) -> Callable[[Any], list[Observation]]:
        def observe(_snapshot: Any) -> list[Observation]:
            limits = self.results.limits.get(gauge, ())
            own = [p for p in limits if EXECUTOR_NAME in (p.attributes or {})]
            shared = [p for p in limits if EXECUTOR_NAME not in (p.attributes or {})]
            out = list(own)
            for point in self.results.status.get(status, ()):
                name = str((point.attributes or {})[EXECUTOR_NAME])
                for limit in shared:
                    level = str((limit.attributes or {})[THRESHOLD_LEVEL])
                    key = (name, float(limit.value), level)
                    cached = self._limits.get(key)
                    if cached is None:
                        cached = self._limits[key] = Observation(
                            limit.value, {EXECUTOR_NAME: name, THRESHOLD_LEVEL: level})
                    out.append(cached)
            return out

        return observe


class PreviousShape(Plugin):
    """The plugin with the previous threshold export shape (:class:`StateSetThresholds`)
    in place of the current one; everything else the same."""

    def views(self) -> list[View]:
        """The previous views: the state-set needed its limit raised past the SDK's
        default 2,000 attribute sets (three per name and checked metric)."""
        views = [v for v in flujo_views(CONFIG)
                 if getattr(v, "_instrument_type", None) is not ObservableUpDownCounter]
        return [*views, View(meter_name=SCOPE, instrument_type=ObservableUpDownCounter,
                             exemplar_reservoir_factory=lambda _kind: lambda **_: NoExemplars(),
                             aggregation_cardinality_limit=CONFIG.max_executor_names * 200)]

    def _runtime(self) -> Runtime:
        runtime = Runtime(CONFIG)
        engine = runtime.thresholds
        runtime.hooks[runtime.hooks.index(engine.bind)] = StateSetThresholds(engine).bind
        return runtime


class Naive(Plugin):
    """The design the snapshot replaces: every instrument callback reads every executor.

    The plugin itself, every hook included, with its shared snapshot switched off:
    each callback calls ``get_optimization_stats()`` on every executor and normalises
    (as the contrib system-metrics instrumentation calls psutil per instrument).
    """

    def __init__(self, executors: Iterable[tuple[Any, str]]) -> None:
        super().__init__(executors)
        binding = self.binding
        binding._snapshot_for = lambda _index, options: binding._take(options)  # type: ignore[method-assign]


def prometheus_registry(executors: Iterable[tuple[Any, str]]) -> Any:
    """A prometheus_client registry whose custom Collector exposes the same values.

    The collector reads through the plugin's own snapshot (one read per executor per
    scrape) and the catalog's observers, so only the exposition path differs.
    """
    from prometheus_client.core import (
        CollectorRegistry,
        CounterMetricFamily,
        GaugeMetricFamily,
    )

    def _log_now(logger: Any, level: int, message: str, *args: Any,
                 exc_info: bool = False) -> None:
        logger.log(level, message, *args, exc_info=exc_info)

    registry = Registry(max_names=100_000)
    for executor, name in executors:
        registry.add(executor, name)
    taker = SnapshotTaker(registry, Normaliser("percent", _log_now), 1.0, StatsFetcher(),
                          time.monotonic_ns, _log_now)
    families = [
        (metric.name.replace(".", "_"), metric.description,
         CounterMetricFamily if metric.kind is Kind.COUNTER else GaugeMetricFamily,
         observer(metric))
        for metric in METRICS
    ]

    class FlujoCollector:
        def collect(self) -> Iterator[Any]:
            snapshot = taker.take()
            for base, description, family_type, observe in families:
                family: Any = None
                for obs in observe(snapshot):
                    attrs = obs.attributes or {}
                    if family is None:
                        labels = [key.replace(".", "_") for key in attrs]
                        family = family_type(base, description, labels=labels)
                    family.add_metric([str(v) for v in attrs.values()], obs.value)
                if family is not None:
                    yield family

    exposition = CollectorRegistry(auto_describe=False)
    exposition.register(FlujoCollector())
    # The collector holds the registry (and so the weak references) alive.
    exposition.flujo_registry = registry  # type: ignore[attr-defined]
    return exposition
