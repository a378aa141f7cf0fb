"""The threshold engine end to end: stats in, threshold states and limits out, per collection."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from opentelemetry.instrumentation.flujo import (
    AlertEvent,
    clear_thresholds,
    set_thresholds,
)
from opentelemetry.instrumentation.flujo._internal.catalog import (
    BY_NAME,
    MIB,
    PREFIX,
    THRESHOLD_PREFIX,
    THRESHOLD_STATES,
    Conversion,
    Direction,
    checked_metric,
)
from opentelemetry.instrumentation.flujo._internal.config import load_config
from opentelemetry.instrumentation.flujo._internal.runtime import Runtime
from opentelemetry.instrumentation.flujo._internal.thresholds import Rule, default_rules

from conftest import OneExecutorRig, StaticExecutor, collect, full_stats, with_runs

P = PREFIX
_TO_RAW = {Conversion.RATE: 100.0, Conversion.RATIO: 1.0, Conversion.MIB: 1 / MIB,
           Conversion.MIB_PER_S: 1 / MIB, Conversion.MS: 1000.0, Conversion.COUNT: 1.0}


class View(OneExecutorRig):
    """The rig with executor ``x``, collecting every alert event it raises."""

    def __init__(self, env: dict[str, str] | None = None, default: bool = True,
                 clock: Any = None) -> None:
        super().__init__(env, "x", default, clock)
        self.events: list[AlertEvent] = []
        self.runtime.alerts.add(self.events.append)

    def states(self, stats: dict[str, Any], name: str = "x") -> dict[str, str]:
        """{metric: current state} of executor ``name`` after one collection of ``stats``.

        A new name gets a new executor: counters (and the failure ratio derived from
        them) are cumulative per name, so a lower count is a reset, not a lower ratio.
        """
        if name != "x":
            self.executor = StaticExecutor({})
            self.runtime.registry.add(self.executor, name)
        self.executor.stats = stats
        return states(collect(self.reader), name)

    def alerts(self) -> list[tuple[str, str, str]]:
        assert self.runtime.alerts.flush()
        return [(e.metric, e.old_state, e.new_state) for e in self.events]

    def close(self) -> None:
        self.runtime.close()
        self.provider.shutdown()


def states(points: dict[tuple[str, frozenset[tuple[str, Any]]], Any],
           executor: str = "x") -> dict[str, str]:
    out = {}
    for (name, attrs), value in points.items():
        a = dict(attrs)
        found = checked_metric(name)
        if found and found[1] and a["flujo.executor.name"] == executor:
            out[found[0]] = THRESHOLD_STATES[int(value)]
    return out


@pytest.fixture
def view() -> Iterator[View]:
    v = View()
    yield v
    v.close()


def stats_for(metric_name: str, value: float, capacity: float = 100.0) -> dict[str, Any]:
    """Raw executor stats that the plugin reads as ``value`` (exported unit) for the metric."""
    metric = BY_NAME[metric_name]
    if metric.derived:  # failed / total
        return {"execution": {"total_executions": 1000, "failed_executions": value * 1000,
                              "successful_executions": 1000 - value * 1000}}
    stat = metric.stats[0]
    raw: dict[str, dict[str, Any]] = {stat.category: {stat.key: value * _TO_RAW[stat.conversion]}}
    thresholds = metric.thresholds
    if thresholds is not None and thresholds.relative_to:
        other = BY_NAME[thresholds.relative_to].stats[0]
        raw[stat.category][stat.key] = value * capacity
        raw[other.category][other.key] = capacity
    return raw


def _sides(rule: Rule, rules: dict[tuple[str, str], Rule]) -> tuple[float, str, float, str]:
    """(a value beyond the rule's limit, the state expected there, one within, its state)."""
    above = rule.direction is Direction.ABOVE
    other_level = "critical" if rule.level == "warning" else "warning"
    other = rules.get((rule.metric, other_level))

    def toward(a: float, b: float) -> float:
        return (a + b) / 2

    step = rule.limit * 0.1
    if rule.level == "warning":
        beyond = toward(rule.limit, other.limit) if other else (
            rule.limit + step if above else rule.limit - step)
        return beyond, "warning", rule.limit - step if above else rule.limit + step, "ok"
    # critical: just within it is the warning band (or ok if there is no warning level)
    within = toward(rule.limit, other.limit) if other else (
        rule.limit - step if above else rule.limit + step)
    return (rule.limit + step if above else rule.limit - step, "critical",
            within, "warning" if other else "ok")


NUMERIC = [r for r in default_rules() if r.state is None]


@pytest.mark.parametrize("rule", NUMERIC, ids=[f"{r.metric[len(P):]}-{r.level}" for r in NUMERIC])
def test_each_default_rule_fires_beyond_its_limit_and_not_within(view: View, rule: Rule) -> None:
    rules = {(r.metric, r.level): r for r in default_rules()}
    beyond, beyond_state, within, within_state = _sides(rule, rules)
    assert view.states(stats_for(rule.metric, beyond), "beyond")[rule.metric] == beyond_state
    assert view.states(stats_for(rule.metric, within), "within")[rule.metric] == within_state


def test_below_direction_rules_fire_low_not_high(view: View) -> None:
    # The guide's AlertManager compares every metric with ">"; hit and recovery ratios
    # are bad when they are low.
    low = {"cache": {"hit_rate": 5}, "memory": {"pool_hit_rate": 40},
           "error_handling": {"recovery_success_rate": 40}}
    high = {"cache": {"hit_rate": 95}, "memory": {"pool_hit_rate": 95},
            "error_handling": {"recovery_success_rate": 95}}
    assert view.states(low) == {P + "cache.hit_ratio": "critical",
                                P + "object_pool.hit_ratio": "warning",
                                P + "error.recovery_ratio": "warning"}
    assert set(view.states(high).values()) == {"ok"}


@pytest.mark.parametrize(("state", "expected"), [
    ("OPEN", "critical"), ("closed", "ok"), ("half-open", "ok")])
def test_circuit_breaker_open_is_critical(view: View, state: str, expected: str) -> None:
    states_now = view.states({"error_handling": {"circuit_breaker_state": state}})
    assert states_now == {P + "circuit_breaker.status": expected}


def test_relative_limits_need_the_capacity_and_are_exported_multiplied_out(view: View) -> None:
    view.executor.stats = {"cache": {"size": 900, "capacity": 1000},
                           "concurrency": {"current_level": 3, "max_level": 10}}
    points = collect(view.reader)
    assert states(points) == {P + "cache.size": "warning", P + "concurrency.level": "ok"}
    limit = points[(THRESHOLD_PREFIX + "cache.size", frozenset(
        {("flujo.executor.name", "x"), ("flujo.threshold.level", "warning")}))]
    assert limit == pytest.approx(800.0)
    # Without a capacity there is nothing to compare with: no state, no limit.
    view.executor.stats = {"cache": {"size": 900}}
    points = collect(view.reader)
    assert states(points) == {}
    assert not [name for name, _ in points if name == THRESHOLD_PREFIX + "cache.size"]


def test_derived_failure_ratio(view: View) -> None:
    assert view.states(stats_for(P + "execution.failure_ratio", 0.2)) == {
        P + "execution.failure_ratio": "warning"}
    assert view.states({"execution": {"total_executions": 0, "failed_executions": 0}},
                       "idle") == {}


def test_absent_metrics_have_no_status_point(view: View) -> None:
    # 'N/A' and None are absent, not ok: a dashboard must not show green for no data.
    assert view.states({"memory": {"usage_mb": "N/A"}, "cache": {"hit_rate": None}}) == {}
    assert view.states({"memory": {"usage_mb": 10}}) == {P + "memory.usage": "ok"}


def test_percent_and_ratio_stats_give_the_same_states() -> None:
    percent = View()
    ratio = View({"OTEL_PYTHON_FLUJO_RATE_UNIT": "ratio"}, default=False)  # side by side
    try:
        for hit in (0.05, 0.2, 0.5):
            assert percent.states({"cache": {"hit_rate": hit * 100}}) == \
                ratio.states({"cache": {"hit_rate": hit}})
    finally:
        percent.close()
        ratio.close()


def test_counter_rate_rule_per_second_over_a_real_interval() -> None:
    view, clock = timed_view({"OTEL_PYTHON_FLUJO_THRESHOLDS": "cache.evictions: warning>100/s"})
    try:
        assert view.states({"cache": {"evictions": 0}}) == {}  # no window yet
        clock.advance(1)
        assert view.states({"cache": {"evictions": 1}}) == {P + "cache.evictions": "ok"}
        # A second reader's collection 1 ms later: 50 more is not 50,000/s, the rate
        # stays the one measured over the last real interval.
        clock.advance(0.001)
        assert view.states({"cache": {"evictions": 51}}) == {P + "cache.evictions": "ok"}
        clock.advance(1)
        # 1000 more in a second: far above 100/s
        assert view.states({"cache": {"evictions": 1001}}) == {P + "cache.evictions": "warning"}
        event = view.events[-1] if view.alerts() else None
        assert event is not None and event.unit == "{eviction}/s" and float(event.value) > 900
    finally:
        view.close()


class Clock:
    """Monotonic nanoseconds that move only when told: the engine's clock in tests."""

    def __init__(self) -> None:
        self.ns = 0

    def __call__(self) -> int:
        return self.ns

    def advance(self, seconds: float) -> None:
        self.ns += int(seconds * 1e9)


def timed_view(env: dict[str, str]) -> tuple[View, Clock]:
    """A view on a runtime of its own whose clock the test drives."""
    clock = Clock()
    return View(env, default=False, clock=clock), clock


def test_a_state_is_entered_after_for_and_left_after_keep_for_in_time() -> None:
    view, clock = timed_view({"OTEL_PYTHON_FLUJO_THRESHOLD_FOR": "30s",
                              "OTEL_PYTHON_FLUJO_THRESHOLD_KEEP_FOR": "20s"})
    high, low = {"memory": {"usage_mb": 600}}, {"memory": {"usage_mb": 100}}
    try:
        for i in range(8):  # beyond for 10 s at a time: never for 30 s
            assert view.states(low if i % 2 else high) == {P + "memory.usage": "ok"}
            clock.advance(10)
        assert view.alerts() == []
        seen = []
        for _ in range(5):
            seen.append(view.states(high)[P + "memory.usage"])
            clock.advance(10)
        assert seen == ["ok", "ok", "ok", "warning", "warning"]  # at 0, 10, 20, 30, 40 s
        assert view.states(low) == {P + "memory.usage": "warning"}  # within since 50 s
        clock.advance(19)
        assert view.states(low) == {P + "memory.usage": "warning"}  # 19 s < 20 s
        clock.advance(1)
        assert view.states(low) == {P + "memory.usage": "ok"}
        assert view.alerts() == [(P + "memory.usage", "ok", "warning"),
                                 (P + "memory.usage", "warning", "ok")]
    finally:
        view.close()


def test_critical_needs_its_own_breach_to_hold_for_the_duration() -> None:
    view, clock = timed_view({"OTEL_PYTHON_FLUJO_THRESHOLD_FOR": "1m"})
    try:
        view.states({"memory": {"usage_mb": 600}})  # warning breach from 0 s
        clock.advance(40)
        view.states({"memory": {"usage_mb": 900}})  # critical breach from 40 s
        clock.advance(20)
        assert view.states({"memory": {"usage_mb": 900}}) == {P + "memory.usage": "warning"}
        clock.advance(40)
        assert view.states({"memory": {"usage_mb": 900}}) == {P + "memory.usage": "critical"}
        assert [a[2] for a in view.alerts()] == ["warning", "critical"]
    finally:
        view.close()


def _first_warning(intervals: tuple[float, ...]) -> tuple[float, int]:
    """(when the state was first warning in any reader's collection, how many alerts),
    for readers collecting every ``intervals`` seconds over 60 s with FOR=30s."""
    clock = Clock()
    runtime = Runtime(load_config({"OTEL_PYTHON_FLUJO_THRESHOLD_FOR": "30s"}), clock)
    readers = [InMemoryMetricReader() for _ in intervals]
    provider = MeterProvider(metric_readers=readers)
    runtime.bind(provider)
    executor = StaticExecutor({"memory": {"usage_mb": 600}})
    runtime.registry.add(executor, "two-readers")
    events: list[AlertEvent] = []
    runtime.alerts.add(events.append)
    try:
        # Every reader's collection times, in order (integer milliseconds: no drift).
        times = sorted({(ms, i) for i, every in enumerate(intervals)
                        for ms in range(0, 60_001, int(every * 1000))})
        first = None
        for ms, i in times:
            clock.ns = ms * 1_000_000
            state = states(collect(readers[i]), "two-readers")[P + "memory.usage"]
            if state == "warning" and first is None:
                first = ms / 1000
        assert runtime.alerts.flush()
        assert first is not None
        return first, len([e for e in events if e.executor == "two-readers"])
    finally:
        runtime.close()
        provider.shutdown()


def test_readers_and_their_intervals_change_nothing() -> None:
    # With collection counts, a second reader made alerts fire sooner; in time they
    # fire once the breach has held 30 s, whoever collects.
    assert _first_warning((10.0,)) == (30.0, 1)
    assert _first_warning((10.0, 3.0)) == (30.0, 1)
    assert _first_warning((10.0, 7.0)) == (30.0, 1)


def test_alert_timing_takes_prometheus_durations(caplog: pytest.LogCaptureFixture) -> None:
    config = load_config({"OTEL_PYTHON_FLUJO_THRESHOLD_FOR": "2 minutes"})
    assert config.threshold_for_s == 0.0
    assert "OTEL_PYTHON_FLUJO_THRESHOLD_FOR='2 minutes'" in caplog.text
    assert load_config({"OTEL_PYTHON_FLUJO_THRESHOLD_KEEP_FOR": "1h30m"}
                       ).threshold_keep_for_s == 5400.0


def test_default_timing_alerts_every_transition(view: View) -> None:
    for usage in (600, 900, 600, 100, 900):
        view.states({"memory": {"usage_mb": usage}})
    assert view.alerts() == [(P + "memory.usage", "ok", "warning"),
                             (P + "memory.usage", "warning", "critical"),
                             (P + "memory.usage", "critical", "warning"),
                             (P + "memory.usage", "warning", "ok"),
                             (P + "memory.usage", "ok", "critical")]
    event = view.events[1]
    assert (event.executor, event.unit, event.value, event.limit) == (
        "x", "By", 900 * MIB, 800 * MIB)
    assert event.time_unix_nano > 0 and "critical" in event.message


def test_python_api_overrides_apply_from_the_next_collection(view: View) -> None:
    try:
        assert view.states({"queue": {}, "concurrency": {"queue_size": 30}}) == {
            P + "queue.size": "ok"}
        set_thresholds({"queue.size": {"warning": ">20", "critical": ">25"},
                        "cache.misses": {"warning": ">1/s"}})
        view.executor.stats = {"concurrency": {"queue_size": 30}, "cache": {"misses": 5}}
        points = collect(view.reader)
        assert states(points)[P + "queue.size"] == "critical"
        # a metric that had no rule before gets its limit gauge too (one for every name)
        assert (THRESHOLD_PREFIX + "cache.misses", frozenset(
            {("flujo.threshold.level", "warning")})) in points
        clear_thresholds()
        assert view.states({"concurrency": {"queue_size": 30}}) == {P + "queue.size": "ok"}
    finally:
        clear_thresholds()


def test_an_absent_value_leaves_its_state_after_keep_for_and_breaches_anew() -> None:
    """Absent is not "still breaching": the incidents Prometheus sees from the series."""
    view, clock = timed_view({"OTEL_PYTHON_FLUJO_THRESHOLD_KEEP_FOR": "30s"})
    high, absent = {"memory": {"usage_mb": 600}}, {}
    memory = P + "memory.usage"

    def at(seconds: float, stats: dict[str, Any], name: str = "x") -> dict[str, str]:
        clock.ns = int(seconds * 1e9)
        view.executor.stats = stats
        return states(collect(view.reader), name)

    def events() -> list[tuple[str, str, object]]:
        assert view.runtime.alerts.flush()
        return [(e.old_state, e.new_state, e.value) for e in view.events]

    try:
        assert at(0, high) == {memory: "warning"}
        assert at(10, absent) == {}  # no value: no status point, the state is kept ...
        assert at(20, high) == {memory: "warning"}  # ... and back within 30 s: one incident
        assert at(30, absent) == {} and at(59, absent) == {}
        assert events() == [("ok", "warning", 600 * 2**20)]
        assert at(60, absent) == {}  # absent for 30 s: left, "no longer reported"
        assert events()[1:] == [("warning", "ok", None)]
        assert "warning -> ok (no longer reported)" in view.events[-1].message
        assert at(70, high) == {memory: "warning"}  # the next breach is a new alert
        assert events()[2:] == [("ok", "warning", 600 * 2**20)]
        # A name that leaves the registry (its executor went away) leaves its state the
        # same way; a new executor under that name starts at ok.
        assert view.runtime.registry.remove(view.executor)
        assert at(80, absent) == {} and at(109, absent) == {}
        assert events()[3:] == []
        at(110, absent)
        assert events()[3:] == [("warning", "ok", None)]
        view.executor = StaticExecutor({})
        view.runtime.registry.add(view.executor, "x")
        assert at(120, high) == {memory: "warning"}
        assert events()[4:] == [("ok", "warning", 600 * 2**20)]
    finally:
        view.close()


def _limits(points: dict[tuple[str, frozenset[tuple[str, Any]]], Any], metric: str
            ) -> dict[tuple[str | None, str], float]:
    """{(executor name or None, level): limit} of ``metric``'s limit gauge."""
    out = {}
    for (name, attrs), value in points.items():
        if name == THRESHOLD_PREFIX + metric:
            a = dict(attrs)
            out[(a.get("flujo.executor.name"), a["flujo.threshold.level"])] = value
    return out


def test_fixed_limits_are_exported_once_without_an_executor_name() -> None:
    rig = OneExecutorRig({}, "a", default=False)
    # every checked metric: flujo's runs' usage_limit.utilization too
    other = StaticExecutor(with_runs(full_stats()))
    rig.executor.stats = with_runs(full_stats())
    rig.runtime.registry.add(other, "b")
    try:
        points = collect(rig.reader)
        assert _limits(points, "memory.usage") == {(None, "warning"): 500 * MIB,
                                                   (None, "critical"): 800 * MIB}
        # Relative limits depend on each name's capacity: per name.
        assert {k[0] for k in _limits(points, "cache.size")} == {"a", "b"}
        assert set(states(points, "a")) == set(states(points, "b")) == {
            r.metric for r in default_rules()}
    finally:
        rig.runtime.close()
        rig.provider.shutdown()


def test_per_pipeline_limits_most_specific_wins_and_differences_are_exported_per_name(
        ) -> None:
    rig = OneExecutorRig({"OTEL_PYTHON_FLUJO_THRESHOLDS": (
        "execution.avg_duration: warning>3s; checkout*:execution.avg_duration: warning>2s;"
        "checkout-eu:execution.avg_duration: warning>4s, critical>8s;"
        "check*:execution.avg_duration: warning>1500ms")}, "checkout-us", default=False)
    executors = {name: StaticExecutor({"execution": {"avg_time_ms": 2500}})
                 for name in ("checkout-eu", "search", "checker")}
    rig.executor.stats = {"execution": {"avg_time_ms": 2500}}
    for name, executor in executors.items():
        rig.runtime.registry.add(executor, name)
    try:
        points = collect(rig.reader)
        metric = P + "execution.avg_duration"
        # 2.5 s against: checkout* 2 s, checkout-eu 4 s (exact name), unscoped 3 s, check* 1.5 s
        assert {name: states(points, name)[metric] for name in
                ("checkout-us", "checkout-eu", "search", "checker")} == {
            "checkout-us": "warning", "checkout-eu": "ok", "search": "ok", "checker": "warning"}
        # The unscoped limits once; a name whose limits differ, per name; 'search' none.
        assert _limits(points, "execution.avg_duration") == {
            (None, "warning"): 3.0, (None, "critical"): 5.0,
            ("checkout-us", "warning"): 2.0, ("checkout-us", "critical"): 5.0,
            ("checkout-eu", "warning"): 4.0, ("checkout-eu", "critical"): 8.0,
            ("checker", "warning"): 1.5, ("checker", "critical"): 5.0}
    finally:
        rig.runtime.close()
        rig.provider.shutdown()
