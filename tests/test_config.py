"""Configuration from the environment. (Bad values of every variable, warned once and
replaced: tests/test_faults_config.py.)"""

from __future__ import annotations

import logging

import pytest

from opentelemetry.instrumentation.flujo import environment_variables as ev
from opentelemetry.instrumentation.flujo._internal.config import Config, load_config


def test_defaults() -> None:
    assert load_config({}) == Config()


def test_good_values() -> None:
    config = load_config({
        ev.OTEL_PYTHON_FLUJO_ENABLED: "false",
        ev.OTEL_PYTHON_FLUJO_EXCLUDED_METRICS: "flujo.executor.telemetry.*, *.queue.size",
        ev.OTEL_PYTHON_FLUJO_RATE_UNIT: "RATIO",
        ev.OTEL_PYTHON_FLUJO_MAX_EXECUTOR_NAMES: "7",
        ev.OTEL_PYTHON_FLUJO_STATS_TIMEOUT: "250",
    })
    assert config == Config(False, ("flujo.executor.telemetry.*", "*.queue.size"), "ratio", 7,
                            0.25)


@pytest.mark.parametrize(("opt_in", "latest"), [
    ("gen_ai_latest_experimental", True), (" http , GEN_AI_LATEST_EXPERIMENTAL", True),
    ("http", False), ("gen_ai", False), ("", False)])
def test_the_genai_opt_in_is_one_of_the_shared_variables_values(
        opt_in: str, latest: bool, caplog: pytest.LogCaptureFixture) -> None:
    # Other instrumentations' values are theirs: no warning for them.
    with caplog.at_level(logging.WARNING):
        assert load_config({"OTEL_SEMCONV_STABILITY_OPT_IN": opt_in}).genai_latest is latest
    assert not caplog.records


def test_excluded_metrics_are_not_created(runtime: object) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from opentelemetry.instrumentation.flujo import instrument_executor

    from conftest import StaticExecutor, collect, fresh_runtime, full_stats

    rt = fresh_runtime({ev.OTEL_PYTHON_FLUJO_EXCLUDED_METRICS:
                        "flujo.executor.telemetry.*, flujo.executor.cache.size"})
    reader = InMemoryMetricReader()
    rt.bind(MeterProvider(metric_readers=[reader]))
    executor = StaticExecutor(full_stats())
    instrument_executor(executor)
    names = {name for name, _ in collect(reader)}
    assert "flujo.executor.cache.max" in names
    assert "flujo.executor.cache.size" not in names
    assert not any(n.startswith("flujo.executor.telemetry.") for n in names)
    rt.close()


def test_excluded_metrics_take_short_names_and_take_their_thresholds_along(
        runtime: object, caplog: pytest.LogCaptureFixture) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from opentelemetry.instrumentation.flujo import instrument_executor

    from conftest import StaticExecutor, collect, fresh_runtime, full_stats

    env = {ev.OTEL_PYTHON_FLUJO_EXCLUDED_METRICS:
           "memory.*, cache.hit_ratio, memry.*, flujo.otel.executors"}
    with caplog.at_level(logging.WARNING):
        load_config(env)
    # One warning, for the pattern that matches nothing, naming it.
    assert [r.getMessage() for r in caplog.records] == [
        "OTEL_PYTHON_FLUJO_EXCLUDED_METRICS='memory.*, cache.hit_ratio, memry.*, "
        "flujo.otel.executors' has patterns that match no metric ('memry.*'; patterns take "
        "full names or, as in thresholds, short ones such as 'memory.*'); using "
        "('memory.*', 'cache.hit_ratio', 'flujo.otel.executors') instead"]
    rt = fresh_runtime(env)
    reader = InMemoryMetricReader()
    rt.bind(MeterProvider(metric_readers=[reader]))
    # Beyond every default limit it has: an excluded metric would alert if evaluated.
    executor = StaticExecutor(full_stats(memory__usage_mb=900.0, cache__hit_rate=1.0))
    instrument_executor(executor)
    points = collect(reader)
    names = {name for name, _ in points}
    assert not [n for n in names if n.startswith(("flujo.executor.memory.",
                                                  "flujo.executor.threshold.memory.",
                                                  "flujo.executor.threshold.status.memory."))]
    assert not [n for n in names if n.endswith("cache.hit_ratio")]  # metric, limit, status
    assert "flujo.otel.executors" not in names
    # The rest is still checked, the memory category's other names too.
    assert "flujo.executor.threshold.status.cache.utilization" in names
    assert "flujo.executor.object_pool.utilization" in names
    rt.close()


def test_disabled_means_nothing_is_observed() -> None:
    from opentelemetry.instrumentation.flujo import instrument_executor

    from conftest import StaticExecutor, fresh_runtime

    fresh_runtime({ev.OTEL_PYTHON_FLUJO_ENABLED: "false"})
    executor = StaticExecutor({})
    assert not instrument_executor(executor)
    assert executor.calls == 0
