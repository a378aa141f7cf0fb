"""Plain-text rendering of collected metric points, for terminals without rich."""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry.sdk.metrics.export import MetricsData

from opentelemetry.instrumentation.flujo.catalog import EXECUTOR_NAME


def human(value: float, unit: str) -> str:
    if unit == "By":
        return f"{value / 1024 / 1024:.1f} MiB"
    if unit == "By/s":
        return f"{value / 1024 / 1024:.2f} MiB/s"
    if unit == "s":
        return f"{value * 1000:.2f} ms"
    if unit == "1":
        return f"{value * 100:.1f} %"
    return f"{value:g}"


def points(data: MetricsData | None) -> Iterable[tuple[str, str, dict[str, str], float]]:
    """(metric, unit, attributes, value) for every number point in ``data``."""
    if data is None:
        return
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in getattr(metric.data, "data_points", ()):
                    value = getattr(point, "value", None)
                    if value is not None:
                        yield metric.name, metric.unit or "", dict(point.attributes), value


def table(data: MetricsData | None) -> str:
    rows = []
    for name, unit, attributes, value in points(data):
        if not name.startswith("flujo.executor.") or name.startswith("flujo.executor.threshold"):
            continue
        executor = str(attributes.pop(EXECUTOR_NAME, ""))
        extra = ",".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in sorted(attributes.items()))
        rows.append((executor, name.removeprefix("flujo.executor.") + (f"{{{extra}}}" if extra
                     else ""), human(float(value), unit)))
    if not rows:
        return "(no data yet)"
    width = max(len(r[1]) for r in rows)
    return "\n".join(f"{e:<12} {m:<{width}} {v:>14}" for e, m, v in sorted(rows))
