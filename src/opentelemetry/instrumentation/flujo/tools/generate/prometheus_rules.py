"""Prometheus alerting rules from threshold rules: one alert per metric and level.

Expressions use the series names of the chosen path (``naming``) and compare
strictly, like the in-process view layer:
- absolute limits: ``metric > limit`` (``<`` for a ``below`` rule);
- relative limits: ``metric > fraction * other``; the two series are matched on all
  their labels (same executor name, same job/instance/scope), so an executor's size
  is only compared with its own capacity;
- the failure ratio: failed / all executions over ``rate_window``, from the
  executions counter. The ``failure_ratio`` gauge is failed/total since the process
  started, which stops moving after a while; the windowed ratio reacts to what is
  failing now, and is absent (no alert) when nothing ran in the window;
- a state rule (circuit breaker): ``status{state="open"} == 1``;
- a rate rule on a counter: ``rate(counter[rate_window]) > limit`` (per second).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from opentelemetry.instrumentation.flujo._internal.catalog import (
    BY_NAME,
    EXECUTOR_NAME,
    FAILURE_RATIO,
    METRICS,
    OUTCOME,
    THRESHOLD_METRIC,
    Direction,
    Kind,
    Metric,
)
from opentelemetry.instrumentation.flujo._internal.thresholds.rules import Rule
from opentelemetry.instrumentation.flujo.tools.generate.humanize import human, value_template
from opentelemetry.instrumentation.flujo.tools.generate.naming import Naming, label, metric_series
from opentelemetry.instrumentation.flujo.tools.generate.yamltext import dump, number

GROUP = "flujo-executor"
EXECUTIONS = next(m for m in METRICS if m.attributes == (OUTCOME,))
EXECUTOR_LABEL = label(EXECUTOR_NAME)
METRIC_LABEL = label(THRESHOLD_METRIC)
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def seconds(duration: str) -> float:
    """A Prometheus duration (``1m30s``) in seconds; ValueError if it is not one."""
    parts = _DURATION.findall(duration)
    if not duration or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"{duration!r} is not a Prometheus duration such as 30s, 1m or 1h30m")
    return sum(int(n) * _SECONDS[u] for n, u in parts)


@dataclass(frozen=True)
class Alert:
    rule: Rule
    metric: Metric
    name: str
    expr: str

    @property
    def labels(self) -> dict[str, str]:
        """The rule's labels: severity, and the metric, so that Alertmanager can
        inhibit a metric's warning while its critical alert fires."""
        return {"severity": self.rule.level, METRIC_LABEL: self.metric.name}

    @property
    def windowed(self) -> bool:
        """Whether the expression needs two samples in a window (``rate``)."""
        return self.rule.rate or self.rule.metric == FAILURE_RATIO

    def annotations(self, executor: str, value: str) -> dict[str, str]:
        """Annotation texts, for an executor name and a value text (template or result)."""
        rule, metric = self.rule, self.metric
        what = re.sub(r"[._]", " ", metric.short_name)
        if rule.state is not None:
            return {
                "summary": f"Flujo executor {executor}: {what} is {rule.state}",
                "description": f"{metric.description} Now in state {rule.state} "
                               f"({metric.name}).",
            }
        side = rule.direction.value
        if rule.relative_to is not None:
            limit = f"{number(rule.limit)} x {BY_NAME[rule.relative_to].short_name}"
        else:
            limit = human(rule.limit, metric.unit, rule.rate)
        if rule.rate:
            what += " rate"
        return {
            "summary": f"Flujo executor {executor}: {what} {side} {limit}",
            "description": f"{metric.description} Value {value}, {rule.level} limit: "
                           f"{side} {limit} ({metric.name}).",
        }


def alert_name(rule: Rule) -> str:
    words = re.split(r"[._]", BY_NAME[rule.metric].short_name)
    rate = ["rate"] if rule.rate else []
    return "Flujo" + "".join(w.capitalize() for w in [*words, *rate, rule.level])


def _failure_ratio(naming: Naming, window: str) -> str:
    series, outcome = metric_series(EXECUTIONS, naming), label(OUTCOME)
    failed = f'rate({series}{{{outcome}="failure"}}[{window}])'
    every = f"rate({series}[{window}])"
    return (f"sum without ({outcome}) ({failed})"
            f" / sum without ({outcome}) ({every})")


def expression(rule: Rule, naming: Naming, rate_window: str) -> str:
    metric = BY_NAME[rule.metric]
    series = metric_series(metric, naming)
    if rule.state is not None:
        return f'{series}{{{label(metric.attributes[0])}="{rule.state}"}} == 1'
    op = ">" if rule.direction is Direction.ABOVE else "<"
    limit = number(rule.limit)
    if rule.metric == FAILURE_RATIO:
        return f"{_failure_ratio(naming, rate_window)} {op} {limit}"
    if rule.rate:
        if metric.kind is not Kind.COUNTER:
            raise ValueError(f"rate rule on {rule.metric}, which is not a counter")
        return f"rate({series}[{rate_window}]) {op} {limit}"
    if rule.relative_to is not None:
        other = metric_series(BY_NAME[rule.relative_to], naming)
        return f"{series} {op} {limit} * {other}"
    return f"{series} {op} {limit}"


def alerts(rules: tuple[Rule, ...] | list[Rule], naming: Naming,
           rate_window: str = "5m") -> list[Alert]:
    seconds(rate_window)
    return [Alert(rule, BY_NAME[rule.metric], alert_name(rule),
                  expression(rule, naming, rate_window)) for rule in rules]


def render(rules: tuple[Rule, ...] | list[Rule], naming: Naming, for_: str = "1m",
           rate_window: str = "5m") -> str:
    seconds(for_)
    entries = [
        {
            "alert": alert.name,
            "expr": alert.expr,
            "for": for_,
            "labels": alert.labels,
            "annotations": alert.annotations(
                f"{{{{ $labels.{EXECUTOR_LABEL} }}}}",
                value_template(alert.metric.unit, alert.rule.rate)),
        }
        for alert in alerts(rules, naming, rate_window)
    ]
    header = (f"Generated by `flujo-otel rules prometheus --naming {naming.value} "
              f"--for {for_} --rate-window {rate_window}`; do not edit.\n"
              "Series names are those of the chosen path (docs/prometheus-names.md).")
    return dump({"groups": [{"name": GROUP, "rules": entries}]}, header)
