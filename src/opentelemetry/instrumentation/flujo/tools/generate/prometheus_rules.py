"""Prometheus alerting rules from threshold rules: one alert per metric and level.

Expressions use the series names of the chosen path (``naming``) and compare
strictly, like the in-process view layer:
- absolute limits: ``metric > limit`` (``<`` for a ``below`` rule);
- relative limits: ``metric > fraction * other``; the two series are matched on all
  their labels (same executor name, same job/instance/scope), so an executor's size
  is only compared with its own capacity;
- the failure ratio: failed / all executions over ``ratio_window``
  (``OTEL_PYTHON_FLUJO_RATIO_WINDOW``, 5m), from the executions counter, as
  ``x - (x offset <window> or x * 0)``: what the counter grew by since the latest sample
  at or before the window's start (0 when the series is younger), exactly the
  in-process ``execution.failure_ratio`` (``_internal/window.py``). ``rate()`` would
  extrapolate each series to the window's edges on its own, so failed / all would not be
  the same ratio. Absent (no alert) when nothing ran in the window. The other alerting
  ratios are gauges the instrumentation computes over the same window;
- a state rule (circuit breaker): ``status{state="open"} == 1``;
- a rate rule on a counter: ``rate(counter[rate_window]) > limit`` (per second).

Per-pipeline rules carry their scope as label matchers: a scoped rule selects
``flujo_executor_name=~"<glob>"`` minus the names of more specific scopes of the same
metric, and the unscoped rule excludes every scope of the metric, so each name is
checked by exactly the rule the in-process engine uses and nothing fires twice.

``for:`` and ``keep_firing_for:`` default to ``OTEL_PYTHON_FLUJO_THRESHOLD_FOR`` and
``..._KEEP_FOR``, the ratio window to ``OTEL_PYTHON_FLUJO_RATIO_WINDOW``, so in-process
alerts and backend alerts fire at the same moments.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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
from opentelemetry.instrumentation.flujo._internal.config import load_config, parse_duration
from opentelemetry.instrumentation.flujo._internal.thresholds.rules import Rule
from opentelemetry.instrumentation.flujo.tools.generate.humanize import human, value_template
from opentelemetry.instrumentation.flujo.tools.generate.naming import Naming, label, metric_series
from opentelemetry.instrumentation.flujo.tools.generate.yamltext import dump, number

GROUP = "flujo-executor"
EXECUTIONS = next(m for m in METRICS if m.attributes == (OUTCOME,))
EXECUTOR_LABEL = label(EXECUTOR_NAME)
METRIC_LABEL = label(THRESHOLD_METRIC)
SCOPE_LABEL = "flujo_threshold_scope"
_REGEX_SPECIAL = set(".^$+(){}|\\")
_UNITS_S = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def seconds(duration: str) -> float:
    """A Prometheus duration (``1m30s``) in seconds; ValueError if it is not one."""
    return parse_duration(duration)


def duration_text(value: float) -> str:
    """Seconds as a Prometheus duration: 90 -> ``1m30s``, 0 -> ``0s``."""
    rest, parts = round(value * 1000), []
    for unit, size in (*_UNITS_S, ("ms", 0.001)):
        count, rest = divmod(rest, round(size * 1000))
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def timing(for_: str | None, keep_for: str | None,
           ratio_window: str | None) -> tuple[str, str, str]:
    """(``for``, ``keep_firing_for``, ratio window): those given, and each one not given
    from the environment, as the instrumentation reads it."""
    config = load_config()
    return (for_ or duration_text(config.threshold_for_s),
            keep_for or duration_text(config.threshold_keep_for_s),
            ratio_window or duration_text(config.ratio_window_s))


def glob_regex(glob: str) -> str:
    """An executor-name glob as an RE2 regex inside a PromQL string (fully anchored)."""
    out, i = [], 0
    while i < len(glob):
        char = glob[i]
        end = glob.find("]", i + 2) if char == "[" else -1
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif end != -1:
            body = glob[i + 1:end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end
        else:
            out.append("\\\\" + char if char in _REGEX_SPECIAL else
                       '\\"' if char == '"' else char)
        i += 1
    return "".join(out)


def preceding_scopes(rule: Rule, rules: Sequence[Rule]) -> list[str]:
    """The scopes of ``rule``'s metric that win over it for a name they match: the more
    specific ones before its own, or every one when ``rule`` is unscoped."""
    scopes = list(dict.fromkeys(r.scope for r in rules
                                if r.metric == rule.metric and r.scope is not None))
    return scopes if rule.scope is None else scopes[:scopes.index(rule.scope)]


def scope_matchers(rule: Rule, rules: Sequence[Rule]) -> list[str]:
    """The label matchers that give ``rule`` the names the engine checks with it."""
    scopes = preceding_scopes(rule, rules)
    matchers = []
    if rule.scope is not None:
        matchers.append(f'{EXECUTOR_LABEL}=~"{glob_regex(rule.scope)}"')
    if scopes:
        matchers.append(f'{EXECUTOR_LABEL}!~"{"|".join(glob_regex(s) for s in scopes)}"')
    return matchers


def _select(series: str, *matchers: str) -> str:
    return f"{series}{{{', '.join(matchers)}}}" if matchers else series


@dataclass(frozen=True)
class Alert:
    rule: Rule
    metric: Metric
    name: str
    expr: str

    @property
    def labels(self) -> dict[str, str]:
        """The rule's labels: severity, and the metric, so that Alertmanager can
        inhibit a metric's warning while its critical alert fires; a per-pipeline rule
        adds its scope (two rules with one name and the same labels are ambiguous)."""
        scope = {SCOPE_LABEL: self.rule.scope} if self.rule.scope is not None else {}
        return {"severity": self.rule.level, METRIC_LABEL: self.metric.name, **scope}

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


def _grown(selected: str, window: str) -> str:
    """What a counter grew by over ``window``: since its latest sample at or before the
    window's start, or since 0 when it has none (younger than the window)."""
    return f"({selected} - ({selected} offset {window} or {selected} * 0))"


def _failure_ratio(naming: Naming, window: str, scope: list[str]) -> str:
    series, outcome = metric_series(EXECUTIONS, naming), label(OUTCOME)
    failed = _grown(_select(series, f'{outcome}="failure"', *scope), window)
    every = _grown(_select(series, *scope), window)
    return f"sum without ({outcome}) {failed} / sum without ({outcome}) {every}"


def expression(rule: Rule, naming: Naming, rate_window: str, ratio_window: str,
               scope: list[str] | None = None) -> str:
    """The alert's PromQL; ``scope``: label matchers every series it reads gets."""
    scope = scope or []
    metric = BY_NAME[rule.metric]
    series = metric_series(metric, naming)
    if rule.state is not None:
        state = f'{label(metric.attributes[0])}="{rule.state}"'
        return f"{_select(series, state, *scope)} == 1"
    op = ">" if rule.direction is Direction.ABOVE else "<"
    limit = number(rule.limit)
    if rule.metric == FAILURE_RATIO:
        return f"{_failure_ratio(naming, ratio_window, scope)} {op} {limit}"
    if rule.rate:
        if metric.kind is not Kind.COUNTER:
            raise ValueError(f"rate rule on {rule.metric}, which is not a counter")
        return f"rate({_select(series, *scope)}[{rate_window}]) {op} {limit}"
    if rule.relative_to is not None:
        other = metric_series(BY_NAME[rule.relative_to], naming)
        return f"{_select(series, *scope)} {op} {limit} * {_select(other, *scope)}"
    return f"{_select(series, *scope)} {op} {limit}"


def alerts(rules: Sequence[Rule], naming: Naming, rate_window: str = "5m",
           ratio_window: str = "5m") -> list[Alert]:
    seconds(rate_window)
    if seconds(ratio_window) <= 0:
        raise ValueError(f"ratio window {ratio_window!r}: more than 0s, such as 5m")
    return [Alert(rule, BY_NAME[rule.metric], alert_name(rule),
                  expression(rule, naming, rate_window, ratio_window,
                             scope_matchers(rule, rules)))
            for rule in rules]


def render(rules: Sequence[Rule], naming: Naming, for_: str | None = None,
           rate_window: str = "5m", keep_for: str | None = None,
           ratio_window: str | None = None) -> str:
    """The rules file; ``for_`` / ``keep_for`` / ``ratio_window`` default to the
    instrumentation's settings. ``for`` and ``keep_firing_for`` are written only when
    not zero, Prometheus's default (and Prometheus < 2.42 rejects ``keep_firing_for``)."""
    for_, keep_for, ratio_window = timing(for_, keep_for, ratio_window)
    written = {key: value for key, value in (("for", for_), ("keep_firing_for", keep_for))
               if seconds(value)}
    entries = [
        {
            "alert": alert.name,
            "expr": alert.expr,
            **written,
            "labels": alert.labels,
            "annotations": alert.annotations(
                f"{{{{ $labels.{EXECUTOR_LABEL} }}}}",
                value_template(alert.metric.unit, alert.rule.rate)),
        }
        for alert in alerts(rules, naming, rate_window, ratio_window)
    ]
    keep_option = f" --keep-firing-for {keep_for}" if "keep_firing_for" in written else ""
    header = (f"Generated by `flujo-otel rules prometheus --naming {naming.value} "
              f"--for {for_}{keep_option} --rate-window {rate_window} "
              f"--ratio-window {ratio_window}`; do not edit.\n"
              "Series names are those of the chosen path (docs/prometheus-names.md).")
    return dump({"groups": [{"name": GROUP, "rules": entries}]}, header)
