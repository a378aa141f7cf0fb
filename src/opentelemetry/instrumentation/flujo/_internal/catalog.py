"""The one catalog: every executor stat, the metric it becomes, and its thresholds.

Instruments, normalisation, the threshold engine, the docs, the Prometheus rules and
the dashboards all read this table; nothing else spells a metric name or a unit.
"""

from __future__ import annotations

import enum
import fnmatch
from dataclasses import dataclass, field

# The instrumentation scope: the meter every instrument of this package comes from.
SCOPE = "opentelemetry.instrumentation.flujo"
PREFIX = "flujo.executor."
EXECUTOR_NAME = "flujo.executor.name"
OUTCOME = "flujo.execution.outcome"
OUTCOMES = ("success", "failure", "other")
STEP_NAME = "flujo.step.name"
CIRCUIT_STATE = "flujo.circuit_breaker.state"
# Pipeline runs and spend (flujo_hooks/runs.py). The GenAI attributes are the OTel
# semantic conventions' own names, so spend joins the gen_ai.client.* metrics by model.
PIPELINE_NAME = "flujo.pipeline.name"
RUN_OUTCOME = "flujo.run.outcome"
# usage_limit: stopped by its UsageLimits (flujo raised UsageLimitExceededError), a
# budget doing its job: neither a success nor a failure.
RUN_OUTCOMES = ("success", "failure", "usage_limit", "paused", "other")
TOKEN_TYPE = "gen_ai.token.type"
TOKEN_TYPES = ("input", "output")
REQUEST_MODEL = "gen_ai.request.model"
PROVIDER_NAME = "gen_ai.provider.name"
CIRCUIT_STATES = ("closed", "open", "half_open")
MIB = 1024 * 1024


class Kind(enum.Enum):
    GAUGE = "Gauge"
    UP_DOWN_COUNTER = "UpDownCounter"
    COUNTER = "Counter"
    HISTOGRAM = "Histogram"


class Conversion(enum.Enum):
    """How a raw stat becomes an exported number."""

    RATE = "percent or ratio (OTEL_PYTHON_FLUJO_RATE_UNIT) -> ratio"
    RATIO = "ratio 0..1"
    MIB = "MiB -> By"
    MIB_PER_S = "MiB/s -> By/s"
    MS = "ms -> s"
    COUNT = "non-negative number"
    STATE = "CLOSED | OPEN | HALF_OPEN"


class Combine(enum.Enum):
    """How instances that share an executor name become one series."""

    SUM = "sum"
    MIN = "min"
    MAX = "max"
    MEAN = "mean weighted by executions"
    WORST = "worst state"


class Direction(enum.Enum):
    ABOVE = "above"
    BELOW = "below"


@dataclass(frozen=True)
class Thresholds:
    """Default limits, in the metric's exported unit. Comparisons are strict.

    ``relative_to`` names another metric: the limits are then fractions of that
    metric's value, evaluated only when it is present.
    """

    direction: Direction
    warning: float | None = None
    critical: float | None = None
    relative_to: str | None = None
    state: str | None = None


@dataclass(frozen=True)
class Stat:
    """One value an executor reports: ``stats[category][key]``."""

    category: str
    key: str
    conversion: Conversion
    combine: Combine
    # For a ratio: the stat id that is 0 along with it exactly when its denominator is 0
    # (no look-ups, no requests, no executions). Both 0: the ratio is 0/0, and absent.
    undefined_when_zero: str | None = None

    @property
    def id(self) -> str:
        return f"{self.category}.{self.key}"


@dataclass(frozen=True)
class Metric:
    name: str
    kind: Kind
    unit: str
    description: str
    stats: tuple[Stat, ...]
    thresholds: Thresholds | None = None
    # Computed from its stats, numerator first (failed / total), not read from one.
    derived: bool = False
    attributes: tuple[str, ...] = field(default=())

    @property
    def category(self) -> str:
        return self.stats[0].category

    @property
    def short_name(self) -> str:
        return self.name.removeprefix(PREFIX)


def _metric(
    category: str,
    key: str,
    short: str,
    kind: Kind,
    unit: str,
    conversion: Conversion,
    combine: Combine,
    description: str,
    thresholds: Thresholds | None = None,
    undefined_when_zero: str | None = None,
) -> Metric:
    return Metric(
        name=PREFIX + short,
        kind=kind,
        unit=unit,
        description=description,
        stats=(Stat(category, key, conversion, combine, undefined_when_zero),),
        thresholds=thresholds,
    )


# Shorthands for the table below (module-private: elsewhere the enums are spelled out).
_RATE, _RATIO, _COUNT, _MS = Conversion.RATE, Conversion.RATIO, Conversion.COUNT, Conversion.MS
_SUM, _MEAN, _MAX, _MIN = Combine.SUM, Combine.MEAN, Combine.MAX, Combine.MIN
_ABOVE, _BELOW = Direction.ABOVE, Direction.BELOW

_EXECUTIONS = tuple(
    Stat("execution", key, _COUNT, _SUM)
    for key in ("total_executions", "successful_executions", "failed_executions")
)
WEIGHT_STAT, SUCCESS_STAT, FAILED_STAT = (stat.id for stat in _EXECUTIONS)
FAILURE_RATIO = PREFIX + "execution.failure_ratio"

METRICS: tuple[Metric, ...] = (
    # memory
    _metric("memory", "object_pool_utilization", "object_pool.utilization",
            Kind.GAUGE, "1", _RATE, _MEAN,
            "Fraction of the object pool's capacity in use.", Thresholds(_ABOVE, warning=0.8)),
    _metric("memory", "objects_in_pool", "object_pool.objects",
            Kind.UP_DOWN_COUNTER, "{object}", _COUNT, _SUM,
            "Objects currently held in the object pool."),
    _metric("memory", "pool_hit_rate", "object_pool.hit_ratio", Kind.GAUGE, "1", _RATE, _MEAN,
            "Fraction of object requests served from the pool.", Thresholds(_BELOW, warning=0.5),
            undefined_when_zero="memory.pool_miss_rate"),
    _metric("memory", "pool_miss_rate", "object_pool.miss_ratio", Kind.GAUGE, "1", _RATE, _MEAN,
            "Fraction of object requests that needed an allocation.",
            Thresholds(_ABOVE, warning=0.5), undefined_when_zero="memory.pool_hit_rate"),
    _metric("memory", "usage_mb", "memory.usage", Kind.UP_DOWN_COUNTER, "By", Conversion.MIB, _SUM,
            "Memory in use.", Thresholds(_ABOVE, warning=500 * MIB, critical=800 * MIB)),
    _metric("memory", "pressure_level", "memory.pressure", Kind.GAUGE, "1", _RATIO, _MAX,
            "Memory pressure, 0 (none) to 1 (at the limit).", Thresholds(_ABOVE, warning=0.8)),
    _metric("memory", "allocation_rate_mb_s", "memory.allocation_rate", Kind.GAUGE, "By/s",
            Conversion.MIB_PER_S, _SUM, "Memory allocated per second.",
            Thresholds(_ABOVE, warning=10 * MIB)),
    _metric("memory", "cleanup_events", "memory.cleanup_events",
            Kind.COUNTER, "{event}", _COUNT, _SUM,
            "Memory clean-up events."),
    # execution
    _metric("execution", "avg_time_ms", "execution.avg_duration", Kind.GAUGE, "s", _MS, _MEAN,
            "Mean execution time.", Thresholds(_ABOVE, warning=1.0, critical=5.0)),
    _metric("execution", "min_time_ms", "execution.min_duration", Kind.GAUGE, "s", _MS, _MIN,
            "Shortest execution time."),
    _metric("execution", "max_time_ms", "execution.max_duration", Kind.GAUGE, "s", _MS, _MAX,
            "Longest execution time.", Thresholds(_ABOVE, warning=5.0)),
    Metric(PREFIX + "executions", Kind.COUNTER, "{execution}",
           "Executions by outcome (success, failure, and other for the rest of the total).",
           _EXECUTIONS, attributes=(OUTCOME,)),
    Metric(FAILURE_RATIO, Kind.GAUGE, "1",
           "Failed executions / total executions, over the ratio window.",
           _EXECUTIONS[::-2],  # (failed, total)
           Thresholds(_ABOVE, warning=0.1), derived=True),
    # cache
    _metric("cache", "hit_rate", "cache.hit_ratio", Kind.GAUGE, "1", _RATE, _MEAN,
            "Fraction of cache look-ups that hit.", Thresholds(_BELOW, warning=0.3, critical=0.1),
            undefined_when_zero="cache.misses"),
    _metric("cache", "size", "cache.size", Kind.UP_DOWN_COUNTER, "{entry}", _COUNT, _SUM,
            "Entries in the cache.",
            Thresholds(_ABOVE, warning=0.8, relative_to=PREFIX + "cache.max")),
    _metric("cache", "capacity", "cache.max", Kind.UP_DOWN_COUNTER, "{entry}", _COUNT, _SUM,
            "Cache capacity (extension key `capacity`)."),
    _metric("cache", "utilization", "cache.utilization", Kind.GAUGE, "1", _RATE, _MEAN,
            "Fraction of the cache's capacity in use.", Thresholds(_ABOVE, warning=0.9)),
    _metric("cache", "evictions", "cache.evictions", Kind.COUNTER, "{eviction}", _COUNT, _SUM,
            "Cache evictions."),
    _metric("cache", "misses", "cache.misses",
            Kind.COUNTER, "{miss}", _COUNT, _SUM, "Cache misses."),
    # concurrency
    _metric("concurrency", "current_level", "concurrency.level",
            Kind.UP_DOWN_COUNTER, "{execution}", _COUNT, _SUM,
            "Executions running now.",
            Thresholds(_ABOVE, warning=0.8, relative_to=PREFIX + "concurrency.max")),
    _metric("concurrency", "max_level", "concurrency.max",
            Kind.UP_DOWN_COUNTER, "{execution}", _COUNT, _SUM,
            "Most executions allowed to run at once."),
    _metric("concurrency", "avg_wait_time_ms", "concurrency.avg_wait_time",
            Kind.GAUGE, "s", _MS, _MEAN,
            "Mean wait for an execution slot.", Thresholds(_ABOVE, warning=0.1)),
    _metric("concurrency", "contention_rate", "concurrency.contention_ratio",
            Kind.GAUGE, "1", _RATE, _MEAN,
            "Fraction of executions that had to wait.", Thresholds(_ABOVE, warning=0.2),
            undefined_when_zero=WEIGHT_STAT),
    _metric("concurrency", "queue_size", "queue.size",
            Kind.UP_DOWN_COUNTER, "{execution}", _COUNT, _SUM,
            "Executions waiting in the work queue.", Thresholds(_ABOVE, warning=50)),
    # error_handling
    _metric("error_handling", "error_rate", "error.ratio", Kind.GAUGE, "1", _RATE, _MEAN,
            "Fraction of executions that raised an error.",
            Thresholds(_ABOVE, warning=0.1, critical=0.3), undefined_when_zero=WEIGHT_STAT),
    _metric("error_handling", "recovery_success_rate", "error.recovery_ratio",
            Kind.GAUGE, "1", _RATE, _MEAN,
            "Fraction of errors recovered from (retry, fallback).",
            Thresholds(_BELOW, warning=0.5), undefined_when_zero="error_handling.error_rate"),
    _metric("error_handling", "cached_patterns", "error.cached_patterns",
            Kind.UP_DOWN_COUNTER, "{pattern}", _COUNT,
            _SUM, "Error patterns in the error cache."),
    Metric(PREFIX + "circuit_breaker.status", Kind.UP_DOWN_COUNTER, "1",
           "Circuit breaker state: 1 for the current state, 0 for the others.",
           (Stat("error_handling", "circuit_breaker_state", Conversion.STATE, Combine.WORST),),
           Thresholds(_ABOVE, state="open"), attributes=(CIRCUIT_STATE,)),
    _metric("error_handling", "failure_count", "error.consecutive_failures",
            Kind.UP_DOWN_COUNTER, "{failure}",
            _COUNT, _MAX, "Consecutive failures.", Thresholds(_ABOVE, warning=5)),
    # telemetry
    _metric("telemetry", "batch_size", "telemetry.batch_size",
            Kind.GAUGE, "{metric}", _COUNT, _MEAN,
            "Telemetry batch size."),
    _metric("telemetry", "flush_rate", "telemetry.flush_rate",
            Kind.GAUGE, "{flush}/s", _COUNT, _SUM,
            "Telemetry flushes per second."),
    _metric("telemetry", "overhead_ms", "telemetry.overhead", Kind.GAUGE, "s", _MS, _MEAN,
            "Time spent on the executor's own telemetry per execution.",
            Thresholds(_ABOVE, warning=0.01)),
    _metric("telemetry", "metrics_collected", "telemetry.metrics_collected",
            Kind.COUNTER, "{metric}", _COUNT,
            _SUM, "Metrics collected by the executor's own telemetry."),
    # pipeline: what top-level runs under this executor name spent, every step output's
    # cost and tokens once (flujo names a runner's executor after its pipeline).
    # Counters, so budgets are rate rules: spend.cost: warning>5/h.
    _metric("pipeline", "cost_usd", "spend.cost", Kind.COUNTER, "{USD}", _COUNT, _SUM,
            "USD of the outputs the pipeline's runs produced (flujo.step.cost summed)."),
    _metric("pipeline", "tokens", "spend.tokens", Kind.COUNTER, "{token}", _COUNT, _SUM,
            "Tokens of the outputs the pipeline's runs produced (flujo.step.tokens summed)."),
    _metric("pipeline", "usage_limit_utilization", "usage_limit.utilization",
            Kind.GAUGE, "1", _COUNT, _MAX,
            "Largest fraction of its UsageLimits (cost or tokens, the nearer) used by a "
            "run in progress (or ended since the last collection); absent between runs; "
            "flujo raises UsageLimitExceededError past 1.",
            Thresholds(_ABOVE, warning=0.8, critical=0.95)),
)

# The stats' categories in catalog order (the dashboard's rows): from the table, so a
# category added there is known everywhere.
CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(s.category for m in METRICS for s in m.stats))

BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}


def metric_named(name: str) -> Metric | None:
    """The catalog metric called ``name``, with or without the ``flujo.executor.`` prefix."""
    name = name.strip()
    return BY_NAME.get(name) or BY_NAME.get(PREFIX + name)

# Every stat read from an executor, once, in catalog order (the executions stats
# serve two metrics).
STATS: tuple[Stat, ...] = tuple(dict.fromkeys(s for m in METRICS for s in m.stats))

# The stats flujo 0.6 yields: its ExecutorCore has no get_optimization_stats(), and the
# measured source (flujo_hooks/measured.py) reports these for it. Every other stat comes
# only from an executor that reports the guide's full stats, so the dashboard draws the
# metrics made of them in collapsed rows. tests/flujo/test_flujo_dashboard.py checks
# this set against what a real flujo deployment exports.
FLUJO_STATS: frozenset[str] = frozenset({
    "execution.total_executions", "execution.successful_executions",
    "execution.failed_executions", "execution.avg_time_ms", "execution.min_time_ms",
    "execution.max_time_ms", "error_handling.error_rate",
    "error_handling.recovery_success_rate", "error_handling.failure_count",
    "concurrency.current_level", "concurrency.max_level", "cache.hit_rate",
    "memory.usage_mb", "memory.pressure_level", "memory.allocation_rate_mb_s",
    "pipeline.cost_usd", "pipeline.tokens", "pipeline.usage_limit_utilization",
})


# Stats whose group value is a cumulative counter (kept monotonic across resets
# and across executors that are garbage-collected).
COUNTER_STATS: frozenset[str] = frozenset(
    s.id for m in METRICS if m.kind is Kind.COUNTER for s in m.stats
)

# Recorded as things happen by the flujo wrappers (flujo_hooks/), not read from
# get_optimization_stats(): histograms through the SDK's synchronous instruments (their
# exemplars lead to the runs' spans), counters summed in the process and observed at
# collection (otel/totals.py). Kept apart from METRICS so nothing that walks the stats
# catalog mistakes them for stats.


@dataclass(frozen=True)
class SyncMetric:
    name: str
    kind: Kind
    unit: str
    description: str
    # The first is the name the series belongs to (executor or pipeline).
    attributes: tuple[str, ...]
    # The dashboard row (a CATEGORIES entry) the metric is drawn in.
    category: str
    # Attributes a point carries only where flujo knows them.
    optional_attributes: tuple[str, ...] = ()
    # Explicit bucket boundaries of a histogram, in ``unit``; they include every
    # threshold of the metrics in ``thresholds_from`` so a quantile can be read against them.
    boundaries: tuple[float, ...] = ()
    thresholds_from: tuple[str, ...] = ()


EXECUTION_DURATION = SyncMetric(
    PREFIX + "execution.duration", Kind.HISTOGRAM, "s",
    "Duration of each ExecutorCore.execute call (nested steps included).",
    (EXECUTOR_NAME, OUTCOME, STEP_NAME), "execution",
    boundaries=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                5.0, 10.0, 30.0, 60.0),
    thresholds_from=(PREFIX + "execution.avg_duration", PREFIX + "execution.max_duration"),
)
RUNS = SyncMetric(
    "flujo.pipeline.runs", Kind.COUNTER, "{run}",
    "Top-level runs of a Flujo runner, by how they ended (nested runs are part of theirs).",
    (PIPELINE_NAME, RUN_OUTCOME), "pipeline")
RUN_DURATION = SyncMetric(
    "flujo.pipeline.run.duration", Kind.HISTOGRAM, "s",
    "Duration of each top-level run, from its start to its last result.",
    (PIPELINE_NAME, RUN_OUTCOME), "pipeline",
    boundaries=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                120.0, 300.0, 600.0))
STEP_COST = SyncMetric(
    "flujo.step.cost", Kind.COUNTER, "{USD}",
    "USD of each output the step produced (loop iterations, parallel branches, "
    "fallbacks and nested runs' steps under their own step name).",
    (PIPELINE_NAME, STEP_NAME), "pipeline", (REQUEST_MODEL, PROVIDER_NAME))
STEP_TOKENS = SyncMetric(
    "flujo.step.tokens", Kind.COUNTER, "{token}",
    "Tokens of each output the step produced (loop iterations, parallel branches, "
    "fallbacks and nested runs' steps under their own step name).",
    (PIPELINE_NAME, STEP_NAME), "pipeline", (TOKEN_TYPE, REQUEST_MODEL, PROVIDER_NAME))
SYNC_METRICS: tuple[SyncMetric, ...] = (EXECUTION_DURATION, RUNS, RUN_DURATION, STEP_COST,
                                        STEP_TOKENS)
SYNC_BY_NAME = {m.name: m for m in SYNC_METRICS}

# The OpenTelemetry GenAI semantic conventions' client metrics, per agent call
# (flujo_hooks/genai.py). Their attributes are the convention's, so they are not
# per pipeline: GENAI_METRICS stays apart from SYNC_METRICS (whose first attribute
# names the series' pipeline or executor). The provider attribute depends on the
# conventions' version: GenAI conventions 1.36.0, the established ones, by default;
# the latest experimental ones (1.37.0 on) with OTEL_SEMCONV_STABILITY_OPT_IN.
GENAI_SEMCONV_VERSION = "1.36.0"
GENAI_LATEST_SEMCONV_VERSION = "1.37.0"
GENAI_OPT_IN = "gen_ai_latest_experimental"
GENAI_OPERATION = "gen_ai.operation.name"
GENAI_OPERATION_CHAT = "chat"
GENAI_SYSTEM = "gen_ai.system"  # 1.36.0; PROVIDER_NAME replaces it from 1.37.0
ERROR_TYPE = "error.type"
GENAI_TOKEN_USAGE = SyncMetric(
    "gen_ai.client.token.usage", Kind.HISTOGRAM, "{token}",
    "Input and output tokens of each agent call whose split flujo accounts.",
    (GENAI_OPERATION, GENAI_SYSTEM, TOKEN_TYPE), "pipeline", (REQUEST_MODEL,),
    boundaries=(1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
                16777216, 67108864))
GENAI_OPERATION_DURATION = SyncMetric(
    "gen_ai.client.operation.duration", Kind.HISTOGRAM, "s",
    "Duration of each call of an agent that has a model (a model call as flujo makes it).",
    (GENAI_OPERATION, GENAI_SYSTEM), "pipeline", (REQUEST_MODEL, ERROR_TYPE),
    boundaries=(0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48,
                40.96, 81.92))
GENAI_METRICS: tuple[SyncMetric, ...] = (GENAI_TOKEN_USAGE, GENAI_OPERATION_DURATION)

def reported_by_flujo(metric: Metric | SyncMetric) -> bool:
    """Whether a flujo 0.6 deployment exports ``metric``: a ``SyncMetric`` is
    recorded by the flujo wrappers themselves; a stats metric when flujo yields its stats."""
    return isinstance(metric, SyncMetric) or all(s.id in FLUJO_STATS for s in metric.stats)

# The threshold engine's metrics (docs/thresholds.md): per checked metric, a limit
# gauge ``flujo.executor.threshold.<short name>`` and an ordered severity gauge
# ``flujo.executor.threshold.status.<short name>`` (0 ok, 1 warning, 2 critical).
THRESHOLD_PREFIX = PREFIX + "threshold."
THRESHOLD_STATUS_PREFIX = THRESHOLD_PREFIX + "status."
# ``{severity}`` is dimensionless (UCUM annotation); unit ``1`` would make the
# Collector's Prometheus translation append ``_ratio`` to a gauge.
THRESHOLD_STATUS_KIND, THRESHOLD_STATUS_UNIT = Kind.GAUGE, "{severity}"
THRESHOLD_LEVEL = "flujo.threshold.level"
THRESHOLD_METRIC = "flujo.threshold.metric"
THRESHOLD_STATE = "flujo.threshold.state"
# The alert event (a log record through the Logs API) and its other attributes.
ALERT_EVENT_NAME = "flujo.threshold.transition"
THRESHOLD_PREVIOUS_STATE = "flujo.threshold.previous_state"
THRESHOLD_VALUE = "flujo.threshold.value"
THRESHOLD_UNIT = "flujo.threshold.unit"
THRESHOLD_LIMIT = "flujo.threshold.limit"
THRESHOLD_STATES = ("ok", "warning", "critical")  # mildest first
THRESHOLD_SEVERITY = {state: rank for rank, state in enumerate(THRESHOLD_STATES)}


def limit_gauge(metric: Metric) -> str:
    """The name of ``metric``'s threshold limit gauge."""
    return THRESHOLD_PREFIX + metric.short_name


def status_gauge(metric: Metric) -> str:
    """The name of ``metric``'s threshold status gauge."""
    return THRESHOLD_STATUS_PREFIX + metric.short_name


def checked_metric(name: str) -> tuple[str, bool] | None:
    """(the catalog metric, whether ``name`` is its status) for a threshold gauge's
    name; None for any other name."""
    if not name.startswith(THRESHOLD_PREFIX):
        return None
    status = name.startswith(THRESHOLD_STATUS_PREFIX)
    short = name.removeprefix(THRESHOLD_STATUS_PREFIX if status else THRESHOLD_PREFIX)
    return (PREFIX + short, status) if PREFIX + short in BY_NAME else None


@dataclass(frozen=True)
class SelfMetric:
    name: str
    kind: Kind
    unit: str
    description: str


EXECUTORS = SelfMetric("flujo.otel.executors", Kind.UP_DOWN_COUNTER, "{executor}",
                       "Executors being observed.")
COLLECTION_DURATION = SelfMetric(
    "flujo.otel.collection.duration", Kind.HISTOGRAM, "s",
    "Time to read and normalise all executors' stats in one collection.")
STATS_DROPPED = SelfMetric("flujo.otel.stats.dropped", Kind.COUNTER, "{value}",
                           "Values dropped by normalisation, by reason.")
COLLECTION_ERRORS = SelfMetric("flujo.otel.collection.errors", Kind.COUNTER, "{error}",
                               "Stats reads that raised or timed out, by executor name "
                               "(flujo.executor.name) and reason.")
ALERTS_DROPPED = SelfMetric(
    "flujo.otel.alerts.dropped", Kind.COUNTER, "{alert}",
    "Alert events a handler did not deliver (queue full or handler error), "
    "by handler and reason.")
SELF_METRICS: tuple[SelfMetric, ...] = (
    EXECUTORS, COLLECTION_DURATION, STATS_DROPPED, COLLECTION_ERRORS, ALERTS_DROPPED)
SELF_BY_NAME = {m.name: m for m in SELF_METRICS}
# flujo.otel.collection.duration, in seconds: the SDK's default buckets are sized
# for milliseconds (0 .. 10,000) and would put every collection in the first two.
COLLECTION_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                      0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


# Every metric name this package can export (a threshold gauge per metric, since an
# override may give any metric a limit).
EXPORTED_NAMES: tuple[str, ...] = (
    *(m.name for m in METRICS), *(m.name for m in SYNC_METRICS),
    *(m.name for m in GENAI_METRICS),
    *(limit_gauge(m) for m in METRICS), *(status_gauge(m) for m in METRICS),
    *(s.name for s in SELF_METRICS),
)


def excluded(name: str, patterns: tuple[str, ...]) -> bool:
    """Whether ``name`` matches one of the glob ``patterns``, given as full names or, as in
    threshold rules, without the ``flujo.executor.`` prefix (``memory.*``)."""
    short = name.removeprefix(PREFIX)
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(short, p) for p in patterns)
