"""A ``promtool test rules`` file proving each generated alert.

One test group per alert, with two executors: ``beyond`` is past the limit from the
start and must fire once ``for`` has elapsed (not one evaluation earlier), with its
annotations rendered in human units; ``within`` sits exactly at the limit (the
comparison is strict) or, where the value comes out of ``rate()``, clearly inside
it, and must never fire.
"""

from __future__ import annotations

import math

from opentelemetry.instrumentation.flujo._internal.catalog import BY_NAME, CIRCUIT_STATES, Direction
from opentelemetry.instrumentation.flujo._internal.thresholds.rules import Rule
from opentelemetry.instrumentation.flujo.tools.generate.humanize import human
from opentelemetry.instrumentation.flujo.tools.generate.naming import Naming, label, metric_series
from opentelemetry.instrumentation.flujo.tools.generate.prometheus_rules import (
    EXECUTIONS,
    EXECUTOR_LABEL,
    Alert,
    alerts,
    seconds,
)
from opentelemetry.instrumentation.flujo.tools.generate.yamltext import dump, number

# The series a relative limit is a fraction of, and the executions per second of the
# failure-ratio tests.
OTHER = 100.0
THROUGHPUT = 10.0


def beyond(limit: float, direction: Direction, unit: str) -> float:
    """A value clearly past ``limit``; a ratio (unit ``1``) stays within [0, 1]."""
    if direction is Direction.ABOVE:
        if unit == "1" and 0 <= limit < 1:
            return (limit + 1) / 2
        return limit * 2 if limit > 0 else limit + 1
    return limit / 2 if limit > 0 else limit - 1


def inside(limit: float, direction: Direction, unit: str) -> float:
    """Clearly within the limit, for values that ``rate()`` computes (not exact)."""
    flipped = Direction.BELOW if direction is Direction.ABOVE else Direction.ABOVE
    return beyond(limit, flipped, unit)


def _series(name: str, labels: dict[str, str], start: float, step: float,
            samples: int) -> dict[str, str]:
    selector = ",".join(f'{k}="{v}"' for k, v in labels.items())
    sign = "+" if step >= 0 else "-"
    return {"series": f"{name}{{{selector}}}",
            "values": f"{number(start)}{sign}{number(abs(step))}x{samples}"}


def _case(alert: Alert, executor: str, *, fire: bool, naming: Naming, interval: float,
          samples: int) -> tuple[list[dict[str, str]], dict[str, str], float]:
    """(input series, labels of the alert, the alert's value) for one executor."""
    rule, metric = alert.rule, alert.metric
    name = metric_series(metric, naming)
    labels = {EXECUTOR_LABEL: executor}
    if rule.state is not None:
        current = rule.state if fire else next(s for s in CIRCUIT_STATES if s != rule.state)
        state = label(metric.attributes[0])
        series = [_series(name, {**labels, state: s}, float(s == current), 0, samples)
                  for s in CIRCUIT_STATES]
        return series, {**labels, state: rule.state}, 1.0
    if alert.windowed:
        unit = "" if rule.rate else metric.unit
        value = (beyond if fire else inside)(rule.limit, rule.direction, unit)
        if rule.rate:
            return [_series(name, labels, 0, value * interval, samples)], labels, value
        outcome = label(EXECUTIONS.attributes[0])
        counters = metric_series(EXECUTIONS, naming)
        series = [
            _series(counters, {**labels, outcome: "failure"}, 0,
                    value * THROUGHPUT * interval, samples),
            _series(counters, {**labels, outcome: "success"}, 0,
                    (1 - value) * THROUGHPUT * interval, samples),
        ]
        return series, labels, value
    value = beyond(rule.limit, rule.direction, metric.unit) if fire else rule.limit
    if rule.relative_to is None:
        return [_series(name, labels, value, 0, samples)], labels, value
    other = metric_series(BY_NAME[rule.relative_to], naming)
    value *= OTHER
    return ([_series(name, labels, value, 0, samples), _series(other, labels, OTHER, 0, samples)],
            labels, value)


def _duration(value: float) -> str:
    return f"{number(value)}s"


def _first_true(alert: Alert, window_s: float, interval: float) -> float:
    """The first evaluation at which the ``beyond`` case may be past the limit."""
    rule = alert.rule
    if not alert.windowed:
        return 0.0
    if not rule.rate or rule.direction is Direction.BELOW:
        # rate() needs two samples; a ratio of two rates is exact from then on.
        return interval
    # A counter rising from 0 at ``b``/s shows rate b * t / window while the window
    # fills: past the limit only after t = window * limit / b.
    crossing = window_s * rule.limit / beyond(rule.limit, rule.direction, "")
    return max(math.ceil(crossing / interval) * interval, interval)


def _checks(alert: Alert, at: list[tuple[float, list[dict[str, object]]]]) -> list[object]:
    return [{"eval_time": _duration(t), "alertname": alert.name, "exp_alerts": expected}
            for t, expected in at]


def groups(alert: Alert, naming: Naming, for_s: float, window_s: float,
           interval: float) -> list[dict[str, object]]:
    """Two test groups: ``beyond`` fires after ``for`` and not one evaluation sooner;
    ``within`` has not fired once its values have settled (a window after the start)."""
    first = _first_true(alert, window_s, interval)
    # Checked once rate() shows the true value, so the annotation shows it too.
    settled = (window_s + interval if alert.windowed else 0) + for_s
    fires = max(first + interval if alert.rule.rate else first, settled - for_s) + for_s
    samples = int(fires / interval) + 2
    fired, fired_labels, value = _case(alert, "beyond", fire=True, naming=naming,
                                       interval=interval, samples=samples)
    quiet, _, _ = _case(alert, "within", fire=False, naming=naming, interval=interval,
                        samples=samples)
    expected: dict[str, object] = {
        "exp_labels": {**alert.labels, **fired_labels},
        "exp_annotations": alert.annotations(
            "beyond", human(value, alert.metric.unit, alert.rule.rate)),
    }
    not_yet = first + for_s - interval
    beyond_at: list[tuple[float, list[dict[str, object]]]] = (
        [(not_yet, [])] if not_yet >= 0 else [])
    return [
        {"interval": _duration(interval), "input_series": fired,
         "alert_rule_test": _checks(alert, [*beyond_at, (fires, [expected])])},
        {"interval": _duration(interval), "input_series": quiet,
         "alert_rule_test": _checks(alert, [(settled, [])])},
    ]


def render(rules: tuple[Rule, ...] | list[Rule], naming: Naming, rule_file: str,
           for_: str = "1m", rate_window: str = "5m") -> str:
    """The test file; ``rule_file`` is the rules' path relative to the test file."""
    for_s, window_s = seconds(for_), seconds(rate_window)
    # Every evaluation lands on the times the checks name, and a window holds at
    # least two samples.
    interval = float(math.gcd(*(int(s) for s in (60, for_s, window_s // 2) if s >= 1)))
    tests = [group for alert in alerts(rules, naming, rate_window)
             for group in groups(alert, naming, for_s, window_s, interval)]
    header = (f"Generated by `flujo-otel rules prometheus --naming {naming.value} --for {for_} "
              f"--rate-window {rate_window} --tests FILE`; do not edit.\n"
              "Run: promtool test rules FILE")
    return dump({"rule_files": [rule_file], "evaluation_interval": _duration(interval),
                 "tests": tests}, header)
