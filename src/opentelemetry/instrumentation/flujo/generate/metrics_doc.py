"""docs/metrics.md: the metric reference, rendered from the catalog."""

from __future__ import annotations

from opentelemetry.instrumentation.flujo.catalog import (
    METRICS,
    MIB,
    SELF_METRICS,
    THRESHOLD_PREFIX,
    THRESHOLD_STATUS,
    Metric,
    Thresholds,
)


def limit_text(metric: Metric, value: float) -> str:
    """A limit in the metric's unit, with the guide's unit alongside where it helps."""
    thresholds = metric.thresholds
    if thresholds is not None and thresholds.relative_to:
        return f"{value:g} x {thresholds.relative_to.removeprefix('flujo.executor.')}"
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


def render() -> str:
    lines = [
        "# Metric reference",
        "",
        "<!-- Generated from catalog.py by `make generate`; do not edit. -->",
        "",
        "Every point carries `flujo.executor.name`. Kinds are asynchronous (observable)",
        "instruments. Rates reported in percent (default) or ratio "
        "(`OTEL_PYTHON_FLUJO_RATE_UNIT=ratio`) are exported as ratios in [0, 1].",
        "",
        "| category | stat | metric | kind | unit | conversion | same-name combine "
        "| default thresholds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in METRICS:
        stat = m.stats[0]
        lines.append(
            f"| {m.category} | `{m.source}` | `{m.name}` | {m.kind.value} | `{m.unit}` "
            f"| {stat.conversion.value} | {stat.combine.value} | {thresholds_text(m)} |")
    lines += [
        "",
        "Attributes beyond the executor name: `flujo.executor.executions` has "
        "`flujo.execution.outcome` = `success` | `failure` | `other` (total minus both, "
        "when positive); `flujo.executor.circuit_breaker.status` has one point per "
        "`flujo.circuit_breaker.state` (`closed`, `open`, `half_open`), 1 for the current "
        "state.",
        "",
        "## Threshold metrics",
        "",
        f"For each metric with a threshold: `{THRESHOLD_PREFIX}<rest>` (Gauge, the metric's "
        "unit, attribute `flujo.threshold.level` = `warning` | `critical`) carries the limit; "
        f"`{THRESHOLD_STATUS}` (UpDownCounter, unit `1`, attributes `flujo.threshold.metric`, "
        "`flujo.threshold.state` = `ok` | `warning` | `critical`) is 1 for the current state.",
        "",
        "## Self-telemetry",
        "",
        "| metric | kind | unit | meaning |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{s.name}` | {s.kind} | `{s.unit}` | {s.description} |" for s in SELF_METRICS]
    return "\n".join(lines) + "\n"
