"""A Grafana dashboard from the catalog and the threshold rules.

It opens on what every flujo deployment reports: a table of what is beyond a limit now,
then a row per section (pipeline runs and spend, executions, process memory), each
metric a panel in its unit with the rules' limits drawn as threshold lines (a relative
limit as a second, dashed series: it moves with the other metric; a per-pipeline limit
as the engine's per-name limit gauge). The metrics flujo never reports (catalog
``reported_by_flujo``) follow in rows collapsed by default, one per category, for the
executors with ``get_optimization_stats()`` that do: one dashboard serves a fleet of
both, selected by one executor variable.
Counters are shown as rates: per second, spend per hour (USD) or minute (tokens), the
units the budget rules are written in. A histogram is drawn as its p50/p95/p99, a
run or spend counter as a rate by its attributes but the step name (a value an
attribute can take but no run had, such as a run outcome, is drawn as 0 beside the
others). Pipeline names are executor names (a runner's executor is named after its
pipeline), so one variable selects both. Every panel's description says where its
numbers come from and what "No data" means for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from opentelemetry.instrumentation.flujo._internal.catalog import (
    BY_NAME,
    CATEGORIES,
    EXECUTION_DURATION,
    EXECUTOR_NAME,
    FAILURE_RATIO,
    METRICS,
    PREFIX,
    RUN_DURATION,
    RUN_OUTCOME,
    RUN_OUTCOMES,
    RUNS,
    STEP_COST,
    STEP_NAME,
    STEP_TOKENS,
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
    reported_by_flujo,
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
_PER_LINE = 24 // _WIDTH

# The expanded rows, in order, and the categories each draws; a category not named
# here gets an expanded row of its own after them.
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Pipeline runs and spend", ("pipeline",)),
    ("Executions", ("execution", "error_handling", "cache", "concurrency")),
    ("Process memory", ("memory",)),
)
# First in their row, in this order (the question the row answers first); the rest
# follow in catalog order, synchronous instruments first.
_LEADING = (RUNS.name, RUN_DURATION.name, STEP_COST.name, PREFIX + "usage_limit.utilization",
            PREFIX + "executions", EXECUTION_DURATION.name, FAILURE_RATIO,
            PREFIX + "error.ratio", PREFIX + "error.recovery_ratio", PREFIX + "cache.hit_ratio")
# The title of a collapsed row (a category's metrics flujo never reports): why it is
# empty for a flujo deployment, and whose data it draws.
COLLAPSED_TITLE = ("{category}: only executors with get_optimization_stats() report these "
                   "(flujo 0.6 does not)")
# Attributes whose every value is drawn, 0 where a name had none of it.
_VALUES = {label(RUN_OUTCOME): RUN_OUTCOMES}
# What "No data" means for a metric flujo reports, where it means more than "no
# executor of that name": the conditions under which flujo_hooks/ leaves it absent.
NO_DATA = {
    PREFIX + "execution.avg_duration": "no execution ended since the previous collection",
    PREFIX + "execution.min_duration": "no execution ended since the previous collection",
    PREFIX + "execution.max_duration": "no execution ended since the previous collection",
    FAILURE_RATIO: "no execution in the ratio window (OTEL_PYTHON_FLUJO_RATIO_WINDOW, 5m; "
                   "0 of 0 is no ratio)",
    PREFIX + "error.ratio": "no execution in the ratio window",
    PREFIX + "error.recovery_ratio": "no execution failed or was retried in the ratio "
                                     "window: no error to recover from",
    PREFIX + "cache.hit_ratio": "flujo's step cache has had no hit under the name yet (a "
                                "workload that never repeats an input gives it nothing "
                                "to serve), no look-up in the ratio window, or the "
                                "executor has no cache",
    PREFIX + "concurrency.max": "no live executor of the name has a concurrency_limit",
    PREFIX + "memory.usage": "the platform has no /proc/self/statm (not Linux)",
    PREFIX + "memory.pressure": "no memory limit found (cgroup memory.max, MemTotal)",
    PREFIX + "memory.allocation_rate": "before the second collection, or no getrusage "
                                       "(Windows)",
    PREFIX + "spend.cost": "no flujo run under the name yet (a bare executor has none)",
    PREFIX + "spend.tokens": "no flujo run under the name yet (a bare executor has none)",
    PREFIX + "usage_limit.utilization": "no run with UsageLimits in flight or ended since "
                                        "the previous collection",
    EXECUTION_DURATION.name: "no execution ended within the rate interval",
    RUNS.name: "no run ended under the name within the rate interval (an outcome no run "
               "had is drawn as 0 beside those that did)",
    RUN_DURATION.name: "no run ended within the rate interval",
    STEP_COST.name: "no step reported a cost within the rate interval (flujo counts cost "
                    "only where a step's output or agent reports it)",
    STEP_TOKENS.name: "no step reported tokens within the rate interval (flujo counts "
                      "tokens only where a step's output or agent reports them)",
}


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


def description(metric: Metric | SyncMetric) -> str:
    """What the panel shows, where its numbers come from, what "No data" means for it,
    and the metric's name and unit (last, in parentheses)."""
    if isinstance(metric, SyncMetric):
        source = ("Recorded by the flujo wrapper as it happens (a flujo runner or "
                  "ExecutorCore under FlujoInstrumentor), not read from get_optimization_stats().")
    else:
        stats = " and ".join(f"stats['{s.category}']['{s.key}']" for s in metric.stats)
        source = f"From {stats} of get_optimization_stats()"
        source += (", measured by the flujo wrapper for a flujo ExecutorCore (flujo 0.6 has "
                   "no get_optimization_stats()), or reported by a custom executor."
                   if reported_by_flujo(metric) else
                   " of a custom executor; flujo 0.6 never reports it.")
    if not reported_by_flujo(metric):
        no_data = "the executor does not report it (a flujo ExecutorCore never does)"
    else:
        no_data = NO_DATA.get(metric.name, "no executor of the selected names observed")
    return f"{metric.description} {source} No data: {no_data}. ({metric.name}, {metric.unit})"


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


def _scoped_target(metric: Metric, rules: list[Rule], selector: str,
                   naming: Naming) -> list[dict[str, Any]]:
    scoped = next((r for r in rules if r.scope is not None and r.state is None), None)
    if scoped is None:
        return []
    # Per-pipeline limits: the engine exports them per name, where they differ.
    gauge = series_name(limit_gauge(metric), rate_unit(metric) if scoped.rate else metric.unit,
                        Kind.GAUGE, naming)
    return [_target(f"{gauge}{selector}",
                    f"{{{{{EXECUTOR}}}}} {{{{{label(THRESHOLD_LEVEL)}}}}} limit", "S")]


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
    return targets + _scoped_target(metric, rules, selector, naming)


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
        "description": description(metric),
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


def _counter_targets(metric: SyncMetric, series: str, owner: str) -> list[dict[str, Any]]:
    """A counter's rate by every attribute but the step name (the panels answer per
    pipeline; a step's share is a query away); an attribute of ``_VALUES`` as one
    series per value, 0 for a name that counted but had none of it."""
    labels = [label(a) for a in (*metric.attributes, *metric.optional_attributes)
              if a != STEP_NAME]
    legend = " ".join(f"{{{{{name}}}}}" for name in labels)
    selector = f'{owner}=~"$executor"'
    spread = next((name for name in labels if name in _VALUES), None)
    rest = ", ".join(name for name in labels if name != spread)
    counted = f"sum by ({rest}) ({_rate(metric, f'{series}{{{selector}}}')})"
    if spread is None:
        return [_target(counted, legend, "A")]
    targets = []
    for i, value in enumerate(_VALUES[spread]):
        one = _rate(metric, f'{series}{{{selector}, {spread}="{value}"}}')
        targets.append(_target(f'label_replace(sum by ({rest}) ({one}) or 0 * {counted}, '
                               f'"{spread}", "{value}", "", "")', legend, chr(ord("A") + i)))
    return targets


def sync_panel(metric: SyncMetric, rules: list[Rule], naming: Naming, x: int,
               y: int) -> dict[str, Any]:
    """A histogram's quantiles by name (the unscoped limits of the metrics its buckets
    were sized for drawn as lines), or a counter's rate by its attributes."""
    owner = label(metric.attributes[0])
    selector = f'{{{owner}=~"$executor"}}'
    series = series_name(metric.name, metric.unit, metric.kind, naming)
    if metric.kind is Kind.HISTOGRAM:
        # Exemplars on: a dot per bucket's exemplar leads to the run's trace (backends.md).
        targets = [{**_target(
            f"histogram_quantile({q}, sum by (le, {owner}) "
            f"(rate({series}_bucket{selector}[$__rate_interval])))",
            f"{{{{{owner}}}}} p{q * 100:g}", chr(ord("A") + i)), "exemplar": True}
            for i, q in enumerate(QUANTILES)]
        rules = [r for r in rules if r.metric in metric.thresholds_from and not r.rate
                 and r.relative_to is None and r.scope is None]
    else:
        targets = _counter_targets(metric, series, owner)
        rules = []
    short = metric.name.removeprefix(PREFIX).removeprefix("flujo.")
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
                       f"({THRESHOLD_STATUS_PREFIX}<metric>: 1 warning, 2 critical), from "
                       "the threshold engine of every instrumented process. No data: "
                       "every checked metric is within its limits (or nothing is checked).",
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


def _ordered(members: list[Metric | SyncMetric]) -> list[Metric | SyncMetric]:
    lead = {name: i for i, name in enumerate(_LEADING)}
    return sorted(members, key=lambda m: lead.get(m.name, len(lead)))  # stable: catalog order


def rows() -> list[tuple[str, bool, list[Metric | SyncMetric]]]:
    """(title, collapsed, metrics) per row: the sections of what flujo reports, then a
    collapsed row per category for what only other executors report."""
    every: list[Metric | SyncMetric] = [*SYNC_METRICS, *METRICS]
    placed = {c for _, categories in SECTIONS for c in categories}
    # A synchronous instrument may name a category no stat has.
    known = dict.fromkeys([*CATEGORIES, *(m.category for m in SYNC_METRICS)])
    sections = [*SECTIONS, *((c.replace("_", " ").capitalize(), (c,))
                             for c in known if c not in placed)]
    out: list[tuple[str, bool, list[Metric | SyncMetric]]] = []
    for title, categories in sections:
        members = [m for m in every if m.category in categories and reported_by_flujo(m)]
        if members:
            out.append((title, False, _ordered(members)))
    for category in known:
        members = [m for m in every if m.category == category and not reported_by_flujo(m)]
        if members:
            out.append((COLLAPSED_TITLE.format(category=category.replace("_", " ").capitalize()),
                        True, members))
    return out


def _panels(rules: list[Rule], naming: Naming) -> Iterator[dict[str, Any]]:
    y = 0
    yield status_panel(naming, y)
    y += _HEIGHT
    for row_id, (title, collapsed, members) in enumerate(rows()):
        row: dict[str, Any] = {"type": "row", "title": title, "collapsed": collapsed,
                               "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                               "id": 1000 + row_id, "panels": []}
        y += 1
        drawn = []
        for i, metric in enumerate(members):
            x = (i % _PER_LINE) * _WIDTH
            at = y + (i // _PER_LINE) * _HEIGHT
            if isinstance(metric, SyncMetric):
                drawn.append(sync_panel(metric, rules, naming, x, at))
            else:
                drawn.append(metric_panel(metric, [r for r in rules if r.metric == metric.name],
                                          naming, x, at))
        if collapsed:
            # Grafana keeps a collapsed row's panels inside it, laid out below it on expanding.
            row["panels"] = drawn
            yield row
        else:
            yield row
            yield from drawn
            y += -(-len(members) // _PER_LINE) * _HEIGHT


def all_panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel of ``board``, those inside collapsed rows included."""
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", ())


def dashboard(rules: tuple[Rule, ...] | list[Rule], naming: Naming) -> dict[str, Any]:
    board: dict[str, Any] = {
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
        "panels": list(_panels(list(rules), naming)),
    }
    for index, panel in enumerate(all_panels(board), start=1):
        panel.setdefault("id", index)
    return board


def render(rules: tuple[Rule, ...] | list[Rule], naming: Naming) -> str:
    return json.dumps(dashboard(rules, naming), indent=2) + "\n"
