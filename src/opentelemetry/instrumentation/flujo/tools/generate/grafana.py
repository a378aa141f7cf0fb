"""A Grafana dashboard from the catalog and the threshold rules.

A row per category and a panel per metric in its unit, with the rules' limits drawn
as threshold lines (a relative limit as a second, dashed series: it moves with the
other metric), a panel of current threshold states, and an executor variable.
Counters are shown as rates: per second, spend per hour (USD) or minute (tokens), the
units the budget rules are written in. The synchronous instruments get a panel in
their category's row: a histogram as its p50/p95/p99, a counter as a rate by its
attributes. Pipeline names are executor names (a runner's executor is named after its
pipeline), so one variable selects both.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from opentelemetry.instrumentation.flujo._internal.catalog import (
    BY_NAME,
    CATEGORIES,
    EXECUTOR_NAME,
    METRICS,
    SYNC_METRICS,
    THRESHOLD_LEVEL,
    THRESHOLD_METRIC,
    THRESHOLD_STATES,
    THRESHOLD_STATUS_KIND,
    THRESHOLD_STATUS_PREFIX,
    THRESHOLD_STATUS_UNIT,
    Direction,
    Kind,
    Metric,
    SyncMetric,
    limit_gauge,
)
from opentelemetry.instrumentation.flujo._internal.thresholds.limit_syntax import rate_unit
from opentelemetry.instrumentation.flujo._internal.thresholds.rules import Rule
from opentelemetry.instrumentation.flujo.tools.generate.naming import (
    Naming,
    label,
    metric_series,
    series_name,
)
from opentelemetry.instrumentation.flujo.tools.generate.yamltext import number

UID = "flujo-executors"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
EXECUTOR = label(EXECUTOR_NAME)
_UNITS = {"By": "bytes", "By/s": "Bps", "s": "s", "1": "percentunit"}
# Counter unit -> (seconds per shown interval, title words, Grafana unit).
_RATES = {"{USD}": (3600, "per hour", "currencyUSD"), "{token}": (60, "per minute", "short")}
_PER_SECOND = (1, "per second", "cps")
QUANTILES = (0.5, 0.95, 0.99)
_COLORS = {"warning": "orange", "critical": "red"}
_WIDTH, _HEIGHT = 8, 8


def grafana_unit(metric: Metric | SyncMetric) -> str:
    if metric.kind is Kind.COUNTER:
        return _RATES.get(metric.unit, _PER_SECOND)[2]
    return _UNITS.get(metric.unit, "short")


def _rate(metric: Metric | SyncMetric, series: str) -> str:
    seconds = _RATES.get(metric.unit, _PER_SECOND)[0]
    rate = f"rate({series}[$__rate_interval])"
    return rate if seconds == 1 else f"{rate} * {seconds}"


def _title(metric: Metric | SyncMetric, short: str) -> str:
    if metric.kind is Kind.COUNTER:
        return f"{short} ({_RATES.get(metric.unit, _PER_SECOND)[1]})"
    if metric.kind is Kind.HISTOGRAM:
        return f"{short} (p50, p95, p99)"
    return short


def _steps(rules: list[Rule]) -> list[dict[str, Any]]:
    """Threshold steps: Grafana colours from each value upwards."""
    absolute = [r for r in rules if r.state is None and r.relative_to is None]
    if not absolute:
        return [{"color": "green", "value": None}]
    ordered = sorted(absolute, key=lambda r: r.limit)
    if absolute[0].direction is Direction.ABOVE:
        return [{"color": "green", "value": None},
                *({"color": _COLORS[r.level], "value": r.limit} for r in ordered)]
    colors = [_COLORS[r.level] for r in ordered]
    return [{"color": colors[0], "value": None},
            *({"color": color, "value": r.limit}
              for color, r in zip([*colors[1:], "green"], ordered, strict=True))]


def _target(expr: str, legend: str, ref: str) -> dict[str, Any]:
    return {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": ref}


def _targets(metric: Metric, rules: list[Rule], naming: Naming) -> list[dict[str, Any]]:
    selector = f'{{{EXECUTOR}=~"$executor"}}'
    series = metric_series(metric, naming)
    legend = "{{" + EXECUTOR + "}}"
    extra = [label(a) for a in metric.attributes]
    if extra:
        legend += "".join(f" {{{{{e}}}}}" for e in extra)
    if metric.kind is Kind.COUNTER:
        expr = _rate(metric, series + selector)
    else:
        expr = f"{series}{selector}"
    targets = [_target(expr, legend, "A")]
    for i, rule in enumerate(rules):
        if rule.relative_to is None or rule.scope is not None:
            continue
        other = metric_series(BY_NAME[rule.relative_to], naming)
        targets.append(_target(f"{number(rule.limit)} * {other}{selector}",
                               f"{{{{{EXECUTOR}}}}} {rule.level} limit", chr(ord("B") + i)))
    scoped = next((r for r in rules if r.scope is not None and r.state is None), None)
    if scoped is not None:
        # Per-pipeline limits: the engine exports them per name, where they differ.
        gauge = series_name(limit_gauge(metric), rate_unit(metric) if scoped.rate else metric.unit,
                            Kind.GAUGE, naming)
        targets.append(_target(f"{gauge}{selector}",
                               f"{{{{{EXECUTOR}}}}} {{{{{label(THRESHOLD_LEVEL)}}}}} limit",
                               "S"))
    return targets


def _overrides(rules: list[Rule]) -> list[dict[str, Any]]:
    drawn = {r.level: r for r in rules if r.relative_to is not None or
             (r.scope is not None and r.state is None)}
    relative = [drawn[level] for level in _COLORS if level in drawn]
    return [{
        "matcher": {"id": "byRegexp", "options": f".* {rule.level} limit"},
        "properties": [
            {"id": "color", "value": {"mode": "fixed", "fixedColor": _COLORS[rule.level]}},
            {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
        ],
    } for rule in relative]


def _panel(metric: Metric | SyncMetric, title: str, rules: list[Rule],
           targets: list[dict[str, Any]], x: int, y: int) -> dict[str, Any]:
    steps = _steps([r for r in rules if r.scope is None])
    return {
        "type": "timeseries",
        "title": title,
        "description": f"{metric.description} ({metric.name}, {metric.unit})",
        "datasource": DATASOURCE,
        "gridPos": {"h": _HEIGHT, "w": _WIDTH, "x": x, "y": y},
        "fieldConfig": {
            "defaults": {
                "unit": grafana_unit(metric),
                "thresholds": {"mode": "absolute", "steps": steps},
                "custom": {"thresholdsStyle": {"mode": "line" if steps[1:] else "off"}},
            },
            "overrides": _overrides(rules),
        },
        "targets": targets,
    }


def metric_panel(metric: Metric, rules: list[Rule], naming: Naming, x: int,
                 y: int) -> dict[str, Any]:
    return _panel(metric, _title(metric, metric.short_name), rules,
                  _targets(metric, rules, naming), x, y)


def sync_panel(metric: SyncMetric, rules: list[Rule], naming: Naming, x: int,
               y: int) -> dict[str, Any]:
    """A histogram's quantiles by name (the unscoped limits of the metrics its buckets
    were sized for drawn as lines), or a counter's rate by every attribute."""
    owner = label(metric.attributes[0])
    selector = f'{{{owner}=~"$executor"}}'
    series = series_name(metric.name, metric.unit, metric.kind, naming)
    if metric.kind is Kind.HISTOGRAM:
        targets = [_target(
            f"histogram_quantile({q}, sum by (le, {owner}) "
            f"(rate({series}_bucket{selector}[$__rate_interval])))",
            f"{{{{{owner}}}}} p{q * 100:g}", chr(ord("A") + i)) for i, q in enumerate(QUANTILES)]
        rules = [r for r in rules if r.metric in metric.thresholds_from and not r.rate
                 and r.relative_to is None and r.scope is None]
    else:
        labels = [label(a) for a in (*metric.attributes, *metric.optional_attributes)]
        targets = [_target(f"sum by ({', '.join(labels)}) ({_rate(metric, series + selector)})",
                           " ".join(f"{{{{{name}}}}}" for name in labels), "A")]
        rules = []
    short = metric.name.removeprefix("flujo.")
    return _panel(metric, _title(metric, short), rules, targets, x, y)


def status_panel(naming: Naming, y: int) -> dict[str, Any]:
    # Every status gauge's series name is this prefix + the metric's words.
    prefix = series_name(THRESHOLD_STATUS_PREFIX + "x", THRESHOLD_STATUS_UNIT,
                         THRESHOLD_STATUS_KIND, naming).removesuffix("x")
    metric = label(THRESHOLD_METRIC)
    selector = f'{{__name__=~"{prefix}.+", {EXECUTOR}=~"$executor"}}'
    expr = f'label_replace({selector}, "{metric}", "$1", "__name__", "{prefix}(.+)") > 0'
    return {
        "type": "table",
        "title": "Thresholds exceeded now",
        "description": f"Metrics whose threshold state is warning or critical "
                       f"({THRESHOLD_STATUS_PREFIX}<metric>: 1 warning, 2 critical).",
        "datasource": DATASOURCE,
        "gridPos": {"h": _HEIGHT, "w": 24, "x": 0, "y": y},
        "fieldConfig": {"defaults": {}, "overrides": [{
            "matcher": {"id": "byName", "options": "Value"},
            "properties": [{"id": "mappings", "value": [{"type": "value", "options": {
                str(rank): {"text": state, "color": _COLORS[state]}
                for rank, state in enumerate(THRESHOLD_STATES) if state in _COLORS}}]}],
        }]},
        "targets": [{**_target(expr, "", "A"), "instant": True, "format": "table"}],
        "transformations": [{"id": "organize", "options": {
            "excludeByName": {"Time": True, "__name__": True},
            "indexByName": {EXECUTOR: 0, metric: 1, "Value": 2}}}],
    }


def _panels(rules: list[Rule], naming: Naming) -> Iterator[dict[str, Any]]:
    y = 0
    yield status_panel(naming, y)
    y += _HEIGHT
    for row_id, category in enumerate(CATEGORIES):
        yield {"type": "row", "title": category.replace("_", " "), "collapsed": False,
               "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "id": 1000 + row_id,
               "panels": []}
        y += 1
        members: list[Metric | SyncMetric] = [
            *(m for m in SYNC_METRICS if m.category == category),
            *(m for m in METRICS if m.category == category)]
        for i, metric in enumerate(members):
            x = (i % (24 // _WIDTH)) * _WIDTH
            at = y + (i // (24 // _WIDTH)) * _HEIGHT
            if isinstance(metric, SyncMetric):
                yield sync_panel(metric, rules, naming, x, at)
            else:
                yield metric_panel(metric, [r for r in rules if r.metric == metric.name],
                                   naming, x, at)
        y += -(-len(members) // (24 // _WIDTH)) * _HEIGHT


def dashboard(rules: tuple[Rule, ...] | list[Rule], naming: Naming) -> dict[str, Any]:
    panels = list(_panels(list(rules), naming))
    for index, panel in enumerate(panels, start=1):
        panel.setdefault("id", index)
    return {
        "uid": UID,
        "title": "Flujo executors",
        "description": f"Generated by `flujo-otel dashboard grafana --naming {naming.value}` "
                       "from the metric catalog and the threshold rules; do not edit.",
        "tags": ["flujo", "opentelemetry"],
        "schemaVersion": 39,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource",
             "query": "prometheus"},
            {"name": "executor", "label": "Executor", "type": "query",
             "datasource": DATASOURCE, "query": f"label_values({EXECUTOR})",
             "refresh": 2, "includeAll": True, "multi": True, "allValue": ".*",
             "current": {"text": "All", "value": "$__all"}},
        ]},
        "panels": panels,
    }


def render(rules: tuple[Rule, ...] | list[Rule], naming: Naming) -> str:
    return json.dumps(dashboard(rules, naming), indent=2) + "\n"
