"""A Grafana dashboard from the catalog and the threshold rules.

A row per category and a panel per metric in its unit, with the rules' limits drawn
as threshold lines (a relative limit as a second, dashed series: it moves with the
other metric), a panel of current threshold states, and an executor variable.
Counters are shown as per-second rates.
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
    THRESHOLD_LEVEL,
    THRESHOLD_METRIC,
    THRESHOLD_STATES,
    THRESHOLD_STATUS_KIND,
    THRESHOLD_STATUS_PREFIX,
    THRESHOLD_STATUS_UNIT,
    Direction,
    Kind,
    Metric,
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
_COLORS = {"warning": "orange", "critical": "red"}
_WIDTH, _HEIGHT = 8, 8


def grafana_unit(metric: Metric) -> str:
    if metric.kind is Kind.COUNTER:
        return "cps"
    return _UNITS.get(metric.unit, "short")


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
        expr = f"rate({series}{selector}[$__rate_interval])"
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


def metric_panel(metric: Metric, rules: list[Rule], naming: Naming, x: int,
                 y: int) -> dict[str, Any]:
    title = metric.short_name + (" (per second)" if metric.kind is Kind.COUNTER else "")
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
        "targets": _targets(metric, rules, naming),
    }


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
        members = [m for m in METRICS if m.category == category]
        for i, metric in enumerate(members):
            x = (i % (24 // _WIDTH)) * _WIDTH
            yield metric_panel(metric, [r for r in rules if r.metric == metric.name], naming,
                               x, y + (i // (24 // _WIDTH)) * _HEIGHT)
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
