"""docs/prometheus-names.md: every metric's series name on each path to Prometheus."""

from __future__ import annotations

from opentelemetry.instrumentation.flujo._internal.catalog import (
    GENAI_METRICS,
    METRICS,
    SELF_METRICS,
    SYNC_METRICS,
    THRESHOLD_PREFIX,
    THRESHOLD_STATUS_KIND,
    THRESHOLD_STATUS_PREFIX,
    THRESHOLD_STATUS_UNIT,
    Kind,
)
from opentelemetry.instrumentation.flujo.tools.generate.naming import Naming, label, series_name

METRIC, _WORD = "<metric>", "zzmetriczz"
EXAMPLE_STATUS = series_name(THRESHOLD_STATUS_PREFIX + "memory.usage", THRESHOLD_STATUS_UNIT,
                             THRESHOLD_STATUS_KIND, Naming.COLLECTOR)


def rows() -> list[tuple[str, str, Kind]]:
    """(metric, unit, kind) of every exported metric with a fixed name."""
    found = [(m.name, m.unit, m.kind) for m in METRICS]
    found += [(m.name, m.unit, m.kind) for m in (*SYNC_METRICS, *GENAI_METRICS)]
    found.append((THRESHOLD_STATUS_PREFIX + METRIC, THRESHOLD_STATUS_UNIT,
                  THRESHOLD_STATUS_KIND))
    return found + [(s.name, s.unit, s.kind) for s in SELF_METRICS]


def render() -> str:
    lines = [
        "# Series names in Prometheus",
        "",
        "<!-- Generated from catalog.py by `make generate`; do not edit. -->",
        "",
        "OpenTelemetry metric names become different Prometheus series names depending on",
        "the path (see [backends.md](backends.md)). `collector`: the OpenTelemetry",
        "Collector's `prometheus` / `prometheusremotewrite` exporters (default",
        "`add_metric_suffixes: true`) and Prometheus's own OTLP receiver. `python`: the",
        "`opentelemetry-exporter-prometheus` reader scraped from the application.",
        f"Attributes become labels with `.` replaced by `_` (`{label('flujo.executor.name')}`).",
        "Histograms add `_bucket`, `_sum` and `_count`.",
        "",
        "| metric | kind | unit | `--naming collector` | `--naming python` |",
        "|---|---|---|---|---|",
    ]
    for name, unit, kind in rows():
        # A family of names (``<metric>``): translated with a word in its place.
        names = [series_name(name.replace(METRIC, _WORD), unit, kind, naming).replace(
            _WORD, METRIC) for naming in Naming]
        lines.append(f"| `{name}` | {kind.value} | `{unit}` | `{names[0]}` | `{names[1]}` |")
    lines += [
        "",
        f"Threshold limits `{THRESHOLD_PREFIX}<metric>` are Gauges in the metric's unit:",
        "`collector` appends `_ratio` for unit `1`, `python` does not. `<metric>` is the",
        "checked metric's name without `flujo.executor.` (`memory.usage` ->",
        f"`{EXAMPLE_STATUS}` on both paths).",
    ]
    return "\n".join(lines) + "\n"
