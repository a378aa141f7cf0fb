"""docs/metrics.md: the metric reference, rendered from the catalog."""

from __future__ import annotations

from opentelemetry.instrumentation.flujo._internal.catalog import (
    BY_NAME,
    GENAI_LATEST_SEMCONV_VERSION,
    GENAI_METRICS,
    GENAI_OPT_IN,
    GENAI_SEMCONV_VERSION,
    GENAI_SYSTEM,
    METRICS,
    MIB,
    PROVIDER_NAME,
    RUN_OUTCOME,
    RUN_OUTCOMES,
    SELF_METRICS,
    STATS,
    SYNC_METRICS,
    THRESHOLD_PREFIX,
    THRESHOLD_STATUS_KIND,
    THRESHOLD_STATUS_PREFIX,
    THRESHOLD_STATUS_UNIT,
    Metric,
    SyncMetric,
    Thresholds,
)


def limit_text(metric: Metric, value: float) -> str:
    """A limit in the metric's unit, with the guide's unit alongside where it helps."""
    thresholds = metric.thresholds
    if thresholds is not None and thresholds.relative_to:
        return f"{value:g} x {BY_NAME[thresholds.relative_to].short_name}"
    if metric.unit == "By":
        return f"{value / MIB:g} MiB"
    if metric.unit == "By/s":
        return f"{value / MIB:g} MiB/s"
    if metric.unit == "s":
        return f"{value:g} s"
    return f"{value:g}"


def thresholds_text(metric: Metric) -> str:
    t: Thresholds | None = metric.thresholds
    if t is None:
        return ""
    if t.state:
        return f"critical when state = {t.state}"
    sign = ">" if t.direction.value == "above" else "<"
    parts = []
    if t.warning is not None:
        parts.append(f"warning {sign} {limit_text(metric, t.warning)}")
    if t.critical is not None:
        parts.append(f"critical {sign} {limit_text(metric, t.critical)}")
    return ", ".join(parts)


def row(*cells: str) -> str:
    """A Markdown table row; a `|` inside a cell (even in a code span) would split it."""
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def sync_row(m: SyncMetric) -> str:
    return row(f"`{m.name}`", m.kind.value, f"`{m.unit}`",
               ", ".join([*(f"`{a}`" for a in m.attributes),
                          *(f"*`{a}`*" for a in m.optional_attributes)]),
               m.description, ", ".join(f"{b:.15g}" for b in m.boundaries))


def render() -> str:
    lines = [
        "# Metric reference",
        "",
        "<!-- Generated from catalog.py by `make generate`; do not edit. -->",
        "",
        "An executor reports `get_optimization_stats()` as `{category: {stat: value}}`, e.g.",
        '`{"cache": {"hit_rate": 72.0, "size": 410}}`; the first two columns are those keys.',
        "Every point carries `flujo.executor.name`. Kinds are asynchronous (observable)",
        "instruments. Rates reported in percent (default) or ratio "
        "(`OTEL_PYTHON_FLUJO_RATE_UNIT=ratio`) are exported as ratios in [0, 1].",
        "",
        "| category | stat | metric | kind | unit | conversion | same-name combine "
        "| default thresholds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in METRICS:
        keys = [f"`{stat.key}`" for stat in m.stats]
        if m.derived:
            source, conversion, combine = (
                " / ".join(keys) + " (derived)", "ratio of the counts", "from the summed counts")
        else:
            stat = m.stats[0]
            source, conversion, combine = (
                ", ".join(keys), stat.conversion.value, stat.combine.value)
        lines.append(row(m.category, source, f"`{m.name}`", m.kind.value, f"`{m.unit}`",
                         conversion, combine, thresholds_text(m)))
    lines += [
        "",
        "Attributes beyond the executor name: `flujo.executor.executions` has "
        "`flujo.execution.outcome` = `success` | `failure` | `other` (total minus both, "
        "when positive); `flujo.executor.circuit_breaker.status` has one point per "
        "`flujo.circuit_breaker.state` (`closed`, `open`, `half_open`), 1 for the current "
        "state.",
        "",
        "A missing key, `None`, `'N/A'`, NaN, infinity, a bool, a negative count, a ratio "
        "beyond 1 or any non-numeric value is **absent** for that collection: no data point, "
        "never a 0, and counted in `flujo.otel.stats.dropped{reason}`. Executors that share a "
        "name are combined (the same-name combine column); executors past "
        "`OTEL_PYTHON_FLUJO_MAX_EXECUTOR_NAMES` report as `_other`. Counters never go "
        "backwards: a source that resets is continued from its last value, and a "
        "garbage-collected executor's counts stay in its name's totals.",
        "",
        "A ratio of nothing (0/0) is absent too, counted as `reason=\"undefined\"`: a 0 "
        "reported for " + ", ".join(
            f"`{s.id}` while `{s.undefined_when_zero}` is 0" for s in STATS
            if s.undefined_when_zero) + ". A key or category the catalog does not know is "
        "counted as `reason=\"unknown\"`, with one warning per executor name and key naming "
        "the closest known key (e.g. `memory.current_usage_mb` -> `memory.usage_mb`).",
        "",
        "## Recorded by the flujo wrappers",
        "",
        "Recorded as things happen by the flujo wrappers ([flujo.md](flujo.md)), not read "
        "from `get_optimization_stats()`: a duration per `ExecutorCore.execute` call, a run "
        "per top-level pipeline run, spend per step output. The histograms are synchronous "
        "instruments, recorded in the step's or run's span so their exemplars lead there; "
        "the counters are summed in the process and handed to the SDK at collection "
        "through observable counters (the same monotonic sums, no SDK call per run, no "
        "exemplars). Bucket boundaries are passed "
        "as the API's `explicit_bucket_boundaries_advisory`; a View configured by the "
        "application takes precedence. Attributes in *italics* are set only where flujo "
        "knows them.",
        "",
        "| metric | kind | unit | attributes | meaning | bucket boundaries |",
        "|---|---|---|---|---|---|",
    ]
    lines += [sync_row(m) for m in SYNC_METRICS]
    lines += [
        "",
        f"`{RUN_OUTCOME}` is one of " + " | ".join(f"`{o}`" for o in RUN_OUTCOMES)
        + " ([flujo.md](flujo.md#pipeline-runs-flujopipelineruns-flujopipelinerunduration)"
        ": `usage_limit` is a run its `UsageLimits` stopped).",
        "",
        "## GenAI semantic-convention metrics",
        "",
        f"The OpenTelemetry GenAI conventions' client metrics, one point per agent call "
        f"([flujo.md](flujo.md#genai-semantic-convention-metrics)), in GenAI semantic "
        f"conventions {GENAI_SEMCONV_VERSION}: the provider is `{GENAI_SYSTEM}`. With "
        f"`OTEL_SEMCONV_STABILITY_OPT_IN={GENAI_OPT_IN}` they follow the latest "
        f"experimental conventions ({GENAI_LATEST_SEMCONV_VERSION} on): `{PROVIDER_NAME}` "
        "instead (and xAI is `x_ai`, not `xai`).",
        "",
        "| metric | kind | unit | attributes | meaning | bucket boundaries |",
        "|---|---|---|---|---|---|",
    ]
    lines += [sync_row(m) for m in GENAI_METRICS]
    lines += [
        "",
        "## Threshold metrics",
        "",
        f"For each checked metric (`<metric>` is its name without `flujo.executor.`): "
        f"`{THRESHOLD_STATUS_PREFIX}<metric>` ({THRESHOLD_STATUS_KIND.value}, unit "
        f"`{THRESHOLD_STATUS_UNIT}`) is its state per `flujo.executor.name`: 0 ok, "
        "1 warning, 2 critical; exported only while the metric has a value (absent is "
        f"not ok). `{THRESHOLD_PREFIX}<metric>` (Gauge, the metric's unit, attribute "
        "`flujo.threshold.level` = `warning` | `critical`) carries the limit: once per "
        "level without `flujo.executor.name` for every name it applies to unchanged, and "
        "with `flujo.executor.name` only where a name's limit differs (a per-pipeline "
        "rule) or is relative to another metric, exported multiplied out (e.g. 0.8 x "
        "`cache.max`). A rate limit on a counter is per second, in the counter's unit + "
        "`/s` (e.g. `{eviction}/s`); the circuit-breaker state rule has a status but no "
        "limit gauge. The limits are the effective ones: these defaults with the user's "
        "overrides (`OTEL_PYTHON_FLUJO_THRESHOLDS`, `..._FILE`, `set_thresholds()`); "
        "docs/thresholds.md explains the design.",
        "",
        "## Self-telemetry",
        "",
        "| metric | kind | unit | meaning |",
        "|---|---|---|---|",
    ]
    lines += [row(f"`{s.name}`", s.kind.value, f"`{s.unit}`", s.description) for s in SELF_METRICS]
    return "\n".join(lines) + "\n"
