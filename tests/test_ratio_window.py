"""One ratio definition (issue 19): the alerting ratios are computed over the ratio
window (``OTEL_PYTHON_FLUJO_RATIO_WINDOW``, 5m), in-process as in the generated
Prometheus rules. The in-process side here; promtool proves the rules' side on the same
sequences (burst / quiet / burst, and a burst in a failure series that first appears
with it: the ``bursty`` and ``late`` groups of the generated test file,
test_prometheus_rules.py), and both sides are held to the same alert moments."""

from __future__ import annotations

import logging
import time
from types import SimpleNamespace

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from opentelemetry.instrumentation.flujo._internal.catalog import (
    BY_NAME,
    FAILURE_RATIO,
    status_gauge,
)
from opentelemetry.instrumentation.flujo._internal.collect.registry import Registry
from opentelemetry.instrumentation.flujo._internal.config import Config, load_config
from opentelemetry.instrumentation.flujo._internal.flujo_hooks.measured import (
    FAILURE,
    SUCCESS,
    Measured,
)
from opentelemetry.instrumentation.flujo._internal.flujo_hooks.sources import FlujoSources
from opentelemetry.instrumentation.flujo._internal.runtime import Runtime
from opentelemetry.instrumentation.flujo._internal.thresholds.overrides import effective_rules
from opentelemetry.instrumentation.flujo.tools.generate.promtool_tests import (
    SEQUENCES,
    burst_states,
    bursts,
)

from conftest import StaticExecutor, collect

INTERVAL_S, WINDOW_S, LIMIT = 30.0, 300.0, 0.1  # the defaults' evaluation interval and rule
STATUS = status_gauge(BY_NAME[FAILURE_RATIO])
# The moments the generated promtool test expects of Prometheus for the defaults
# (collector-config/prometheus/flujo-rules.test.yml, its groups of these names). bursty:
# fires at the first burst, resolves once the window has let it go, fires again at the
# second. late: fires at the burst (a ratio of rate()s never would: it sees the failure
# series flat from its first point), resolves once the window has let it go.
MOMENTS = {"bursty": [(30.0, True), (330.0, False), (1020.0, True), (1290.0, False)],
           "late": [(330.0, True), (630.0, False)]}


def transitions(states: list[tuple[float, bool]]) -> list[tuple[float, bool]]:
    return [(t, firing) for (t, firing), (_, before) in zip(states[1:], states, strict=False)
            if firing != before]


@pytest.mark.parametrize("sequence", sorted(SEQUENCES))
def test_the_evaluator_alerts_at_the_moments_promtool_expects_of_the_rules(
        sequence: str) -> None:
    """A runtime on a clock the test drives, one executor reporting the sequence's
    counts, a collection per evaluation interval: the failure ratio and its threshold
    status as exported."""
    now = [0.0]
    runtime = Runtime(Config(rate_unit="ratio"), clock=lambda: round(now[0] * 1e9))
    reader = InMemoryMetricReader()
    runtime.bind(MeterProvider(metric_readers=[reader]))
    executor = StaticExecutor()
    runtime.registry.add(executor, sequence)
    name = frozenset({("flujo.executor.name", sequence)})
    build, _failures_appear = SEQUENCES[sequence]
    steps = build(round(WINDOW_S / INTERVAL_S))
    failed = succeeded = 0
    states, ratios = [], []
    try:
        for index in range(len(steps) + 1):
            if index:
                failed += steps[index - 1][0]
                succeeded += steps[index - 1][1]
            now[0] = index * INTERVAL_S
            executor.stats = {"execution": {"total_executions": failed + succeeded,
                                            "successful_executions": succeeded,
                                            "failed_executions": failed}}
            points = collect(reader)
            ratios.append(points.get((FAILURE_RATIO, name)))
            states.append((now[0], points.get((STATUS, name), 0) > 0))
    finally:
        runtime.close()

    assert transitions(states) == MOMENTS[sequence]
    # ... which is what the promtool test's expectations were generated from.
    (rule,) = [r for r in effective_rules(Config()) if r.metric == FAILURE_RATIO]
    predicted = burst_states(steps, INTERVAL_S, WINDOW_S, 0.0, 0.0, rule)
    assert [(t, firing) for t, _value, firing in predicted] == states
    assert [value for _t, value, _firing in predicted] == ratios


def test_a_ratio_since_start_would_hold_the_first_burst_and_dilute_the_second() -> None:
    steps = bursts(round(WINDOW_S / INTERVAL_S))
    # A ratio since start would still be past the limit when the window has let the
    # first burst go, and would never see the second burst (diluted below the limit).
    since_start = [sum(s[0] for s in steps[:i]) / sum(map(sum, steps[:i]))
                   for i in range(1, len(steps) + 1)]
    resolved, second = (round(t / INTERVAL_S) for t, _ in MOMENTS["bursty"][1:3])
    assert since_start[resolved - 1] > LIMIT
    assert max(since_start[second - 1:]) < LIMIT


def test_flujo_measured_error_and_recovery_ratios_are_windowed() -> None:
    now = [0.0]
    sources = FlujoSources(Registry(), Config(rate_unit="ratio", ratio_window_s=60.0),
                           lambda: round(now[0] * 1e9))
    measured = Measured("windowed", sources)
    step = SimpleNamespace(name="step", is_complex=False)

    def executions(outcome: int, attempts: int, count: int) -> None:
        for _ in range(count):
            measured.running.append(None)  # as the execute wrapper does
            measured.end(time.perf_counter(), outcome,
                         SimpleNamespace(metadata_={}, attempts=attempts), step)

    def errors(at: float) -> dict[str, float]:
        now[0] = at
        return dict(measured.get_optimization_stats()["error_handling"])

    executions(FAILURE, 1, 2)
    executions(SUCCESS, 2, 2)  # retried, recovered
    assert errors(10.0) == {"failure_count": 0, "error_rate": 1.0,
                            "recovery_success_rate": 0.5}
    executions(SUCCESS, 1, 8)
    assert errors(40.0) == {"failure_count": 0, "error_rate": 4 / 12,
                            "recovery_success_rate": 0.5}
    # The window has let the errors go: 0 of the 8 since, and nothing to recover from.
    assert errors(75.0) == {"failure_count": 0, "error_rate": 0.0}
    # Nothing ran in the window: no evidence, no ratio (the counters keep since-start).
    assert errors(200.0) == {"failure_count": 0}
    assert measured.get_optimization_stats()["execution"]["failed_executions"] == 2


def test_one_variable_sets_the_window_and_a_bad_value_warns_once(
        caplog: pytest.LogCaptureFixture) -> None:
    assert load_config({"OTEL_PYTHON_FLUJO_RATIO_WINDOW": "90s"}).ratio_window_s == 90.0
    with caplog.at_level(logging.WARNING):
        config = load_config({"OTEL_PYTHON_FLUJO_RATIO_WINDOW": "0s"})
    assert config.ratio_window_s == 300.0
    assert [r.getMessage() for r in caplog.records] == [
        "OTEL_PYTHON_FLUJO_RATIO_WINDOW='0s' is not a duration of more than 0s such as 5m "
        "or 1h; using 300.0 instead"]
