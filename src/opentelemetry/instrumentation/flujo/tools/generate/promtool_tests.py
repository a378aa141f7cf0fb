"""A ``promtool test rules`` file proving each generated alert.

One test group per alert, with two executors: ``beyond`` is past the limit from the
start and must fire once ``for`` has elapsed (not one evaluation earlier), with its
annotations rendered in human units; ``within`` sits exactly at the limit (the
comparison is strict) or, where the value comes out of ``rate()``, clearly inside
it, and must never fire. With ``keep_firing_for``, ``beyond`` then goes back within
its limit and the alert must keep firing that long and not one evaluation longer. A
per-pipeline (scoped) rule is tested on names its glob matches, an unscoped one on
names no scope of its metric matches: as every rule of an alert name is evaluated in
each test, a name that two rules checked would fire twice and fail the test.

The failure-ratio alerts get a group per sequence of :data:`SEQUENCES`: ``bursty``, a
burst of failures, a quiet spell longer than the ratio window, a second burst; and
``late``, steady successes, then a burst of failures in a failure series that first
appears with that burst. Their expected alert moments are what the in-process code
computes for the same sequence (the window of ``_internal/window.py``, the ``for`` /
``keep_firing_for`` timing of the threshold engine's ``Track``: :func:`burst_states`),
so promtool proves that the generated rule and the instrumentation raise and resolve
the alert at the same evaluations; tests/test_ratio_window.py feeds the same sequences
through the in-process evaluator. ``late`` is the one a ratio of ``rate()`` fails:
``rate()`` ignores the value a series starts with, so it sees the burst's series flat.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Sequence

from opentelemetry.instrumentation.flujo._internal.catalog import (
    BY_NAME,
    CIRCUIT_STATES,
    FAILURE_RATIO,
    Direction,
)
from opentelemetry.instrumentation.flujo._internal.thresholds.evaluate import (
    WARNING,
    Track,
    compile_rules,
)
from opentelemetry.instrumentation.flujo._internal.thresholds.rules import Rule
from opentelemetry.instrumentation.flujo._internal.thresholds.rules import beyond as past
from opentelemetry.instrumentation.flujo._internal.window import SlidingCounts, ratio
from opentelemetry.instrumentation.flujo.tools.generate.humanize import human
from opentelemetry.instrumentation.flujo.tools.generate.naming import Naming, label, metric_series
from opentelemetry.instrumentation.flujo.tools.generate.prometheus_rules import (
    EXECUTIONS,
    EXECUTOR_LABEL,
    Alert,
    alerts,
    preceding_scopes,
    seconds,
    timing,
)
from opentelemetry.instrumentation.flujo.tools.generate.yamltext import dump, number

# The series a relative limit is a fraction of, and the executions per second of the
# failure-ratio tests.
OTHER = 100.0
THROUGHPUT = 10.0
# Burst, quiet, burst: (failed, succeeded) executions per evaluation interval. The
# quiet spell (QUIET windows long) empties the window of the first burst: a ratio since
# start would still hold it, and dilute the second burst.
BURST, QUIET_STEP, BURST_STEPS, QUIET = (6, 6), (0, 10), 2, 3
# The failures of ``late``'s one burst, with the quiet steps' successes beside them.
LATE_BURST = (200, 10)


def bursts(window_steps: int) -> list[tuple[int, int]]:
    """Burst, quiet, burst for a window of ``window_steps`` evaluation intervals."""
    quiet = [QUIET_STEP] * int(window_steps * QUIET)
    return ([BURST] * BURST_STEPS + quiet) * 2


def late(window_steps: int) -> list[tuple[int, int]]:
    """A window of successes, one burst of failures, then successes for a window and a
    half. Exporters that start a series at its first point (an SDK counter at its first
    ``add``, a process that starts with failures in its first export) show the failure
    series first with the burst already in it."""
    quiet = [QUIET_STEP] * window_steps
    return [*quiet, LATE_BURST, *quiet, *quiet[:window_steps // 2]]


# name -> (the sequence for a window of so many evaluation intervals, whether the
# failure series is absent until its first failure).
SEQUENCES = {"bursty": (bursts, False), "late": (late, True)}


def burst_states(steps: list[tuple[int, int]], interval: float, window_s: float, for_s: float,
                 keep_s: float, rule: Rule) -> list[tuple[float, float | None, bool]]:
    """(time, failure ratio over the window, alert firing) at each evaluation of the
    counters ``steps`` build from 0, as the instrumentation computes them: an absent
    ratio (nothing ran in the window) is within the limit, as a series that went away."""
    checks = compile_rules((rule,))[0]
    check = checks.default or checks.scoped[0]
    window, track = SlidingCounts(window_s, 2), Track(check)
    failed = total = 0.0
    states = []
    for index in range(len(steps) + 1):
        if index:
            failed += steps[index - 1][0]
            total += sum(steps[index - 1])
        now = index * interval
        value = ratio(*window.growth(now, (failed, total)))
        # past: the engine's own comparison (thresholds.rules.beyond)
        beyond_limit = value is not None and past(value, rule.limit, rule.direction)
        track.step(WARNING if beyond_limit else 0, round(now * 1e9), round(for_s * 1e9),
                   round(keep_s * 1e9))
        states.append((now, value, track.state >= WARNING))
    return states


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
            samples: int, then: tuple[float, int] | None = None) -> dict[str, str]:
    """``samples`` + 1 values from ``start`` by ``step``; ``then``: (value, count) after."""
    selector = ",".join(f'{k}="{v}"' for k, v in labels.items())
    sign = "+" if step >= 0 else "-"
    values = f"{number(start)}{sign}{number(abs(step))}x{samples}"
    if then is not None:
        values += f" {number(then[0])}+0x{then[1]}"
    return {"series": f"{name}{{{selector}}}", "values": values}


def example_name(alert: Alert, rules: Sequence[Rule], base: str) -> str:
    """A name the alert's rule checks: matching its scope (if any) and no scope of the
    same metric that is more specific (or, unscoped, any scope of the metric)."""
    own = alert.rule.scope
    before = preceding_scopes(alert.rule, rules)
    for suffix in ("", "-a", "-b9", "_z"):
        name = base + suffix
        if own is not None:
            pattern = re.sub(r"\[![^\]]*\]", "_", own)  # [!ab]: a character not in it
            pattern = re.sub(r"\[(.)[^\]]*\]", r"\1", pattern)  # [ab]: its first
            name = pattern.replace("*", name).replace("?", "x")
        if not any(fnmatch.fnmatchcase(name, s) for s in before) and (
                own is None or fnmatch.fnmatchcase(name, own)):
            return name
    raise ValueError(f"no executor name found that {alert.name} (scope {own!r}) alone checks")


def _case(alert: Alert, executor: str, *, fire: bool, naming: Naming, interval: float,
          samples: int, back: int = 0) -> tuple[list[dict[str, str]], dict[str, str], float]:
    """(input series, labels of the alert, the alert's value) for one executor;
    ``back``: that many samples back at the limit after ``samples`` (non-windowed)."""
    rule, metric = alert.rule, alert.metric
    name = metric_series(metric, naming)
    labels = {EXECUTOR_LABEL: executor}
    if rule.state is not None:
        current = rule.state if fire else next(s for s in CIRCUIT_STATES if s != rule.state)
        state = label(metric.attributes[0])
        series = [_series(name, {**labels, state: s}, float(s == current), 0, samples,
                          (float(s == "closed"), back) if back else None)
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
    scale = 1.0 if rule.relative_to is None else OTHER
    then = (rule.limit * scale, back) if back else None
    series = [_series(name, labels, value * scale, 0, samples, then)]
    if rule.relative_to is not None:
        other = metric_series(BY_NAME[rule.relative_to], naming)
        series.append(_series(other, labels, OTHER, 0, samples + back + 1 if back else samples))
    return series, labels, value * scale


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


def groups(alert: Alert, rules: Sequence[Rule], naming: Naming, for_s: float,
           window_s: float, interval: float, keep_s: float = 0.0) -> list[dict[str, object]]:
    """Two test groups: ``beyond`` fires after ``for`` and not one evaluation sooner
    (and, with ``keep_firing_for``, stops that long after going back within, not
    sooner); ``within`` has not fired once its values have settled (a window after
    the start)."""
    first = _first_true(alert, window_s, interval)
    # Checked once rate() shows the true value, so the annotation shows it too.
    settled = (window_s + interval if alert.windowed else 0) + for_s
    fires = max(first + interval if alert.rule.rate else first, settled - for_s) + for_s
    samples = int(fires / interval) + 2
    back = int(keep_s / interval) + 2 if keep_s and not alert.windowed else 0
    fired, fired_labels, value = _case(alert, example_name(alert, rules, "beyond"),
                                       fire=True, naming=naming, interval=interval,
                                       samples=samples, back=back)
    quiet, _, _ = _case(alert, example_name(alert, rules, "within"), fire=False,
                        naming=naming, interval=interval, samples=samples)
    expected: dict[str, object] = {
        "exp_labels": {**alert.labels, **fired_labels},
        "exp_annotations": alert.annotations(
            fired_labels[EXECUTOR_LABEL], human(value, alert.metric.unit, alert.rule.rate)),
    }
    not_yet = first + for_s - interval
    beyond_at: list[tuple[float, list[dict[str, object]]]] = (
        [(not_yet, [])] if not_yet >= 0 else [])
    beyond_at.append((fires, [expected]))
    if back:
        within_from = (samples + 1) * interval
        beyond_at += [(within_from + keep_s - interval, [expected]), (within_from + keep_s, [])]
    return [
        {"interval": _duration(interval), "input_series": fired,
         "alert_rule_test": _checks(alert, beyond_at)},
        {"interval": _duration(interval), "input_series": quiet,
         "alert_rule_test": _checks(alert, [(settled, [])])},
    ]


def burst_group(alert: Alert, rules: Sequence[Rule], naming: Naming, for_s: float,
                window_s: float, interval: float, keep_s: float,
                sequence: str) -> dict[str, object]:
    """The group of a failure-ratio alert for one of :data:`SEQUENCES`: its input
    counters, and a check at every evaluation where the in-process state changes and
    the one before it (none: one where the ratio comes closest to the limit)."""
    rule, executor = alert.rule, example_name(alert, rules, sequence)
    build, failures_appear = SEQUENCES[sequence]
    steps = build(round(window_s / interval))
    states = burst_states(steps, interval, window_s, for_s, keep_s, rule)
    labels = {EXECUTOR_LABEL: executor}
    outcome, counters = label(EXECUTIONS.attributes[0]), metric_series(EXECUTIONS, naming)
    series = []
    for name, part in (("failure", 0), ("success", 1)):
        absent = failures_appear and part == 0
        values, count = ["_" if absent else "0"], 0
        for step in steps:
            count += step[part]
            values.append("_" if absent and not count else str(count))
        selector = ",".join(f'{k}="{v}"' for k, v in {**labels, outcome: name}.items())
        series.append({"series": f"{counters}{{{selector}}}", "values": " ".join(values)})
    # An alert kept firing (keep_firing_for) shows the value it last fired on.
    shown: list[float | None] = []
    for _now, value, _firing in states:
        beyond_limit = value is not None and past(value, rule.limit, rule.direction)
        shown.append(value if beyond_limit else shown[-1] if shown else None)
    checks: list[tuple[float, list[dict[str, object]]]] = []
    for index in range(1, len(states)):
        if states[index][2] == states[index - 1][2]:
            continue
        for at in (index - 1, index):
            now, _value, firing = states[at]
            value = shown[at]
            expected: list[dict[str, object]] = [] if not firing or value is None else [{
                "exp_labels": {**alert.labels, **labels},
                "exp_annotations": alert.annotations(executor, human(value, alert.metric.unit)),
            }]
            checks.append((now, expected))
    if not checks:  # never past this limit: silent where the ratio comes closest too
        nearest = max(states, key=lambda state: -math.inf if state[1] is None else (
            state[1] if rule.direction is Direction.ABOVE else -state[1]))
        checks.append((nearest[0], []))
    return {"interval": _duration(interval), "input_series": series,
            "alert_rule_test": _checks(alert, checks)}


def render(rules: Sequence[Rule], naming: Naming, rule_file: str, for_: str | None = None,
           rate_window: str = "5m", keep_for: str | None = None,
           ratio_window: str | None = None) -> str:
    """The test file; ``rule_file`` is the rules' path relative to the test file.
    ``for_`` / ``keep_for`` / ``ratio_window`` default like the rules'."""
    for_, keep_for, ratio_window = timing(for_, keep_for, ratio_window)
    for_s, rate_s, keep_s = seconds(for_), seconds(rate_window), seconds(keep_for)
    ratio_s = seconds(ratio_window)
    # Every evaluation lands on the times the checks name, and a window holds at
    # least two samples.
    interval = float(math.gcd(*(int(s) for s in (60, for_s, rate_s // 2, ratio_s // 2, keep_s)
                                if s >= 1)))
    tests = []
    for alert in alerts(rules, naming, rate_window, ratio_window):
        ratio_alert = alert.rule.metric == FAILURE_RATIO
        window_s = ratio_s if ratio_alert else rate_s
        tests += groups(alert, rules, naming, for_s, window_s, interval, keep_s)
        if ratio_alert:
            tests += [burst_group(alert, rules, naming, for_s, window_s, interval, keep_s, name)
                      for name in SEQUENCES]
    keep_option = f" --keep-firing-for {keep_for}" if keep_s else ""
    header = (f"Generated by `flujo-otel rules prometheus --naming {naming.value} --for {for_}"
              f"{keep_option} --rate-window {rate_window} --ratio-window {ratio_window} "
              "--tests FILE`; do not edit.\n"
              "Run: promtool test rules FILE")
    return dump({"rule_files": [rule_file], "evaluation_interval": _duration(interval),
                 "tests": tests}, header)
