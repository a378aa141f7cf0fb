"""Every catalog metric, with its unit, kind, attributes and converted value."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from opentelemetry.instrumentation.flujo import instrument_executor
from opentelemetry.instrumentation.flujo._internal import catalog
from opentelemetry.instrumentation.flujo._internal.collect.normalise import Normaliser
from opentelemetry.instrumentation.flujo.tools.demo import ReferenceExecutor, run_workload

from conftest import StaticExecutor, collect, full_stats, log_now, units, value, with_runs

DATA_TYPE = {catalog.Kind.GAUGE: "Gauge", catalog.Kind.UP_DOWN_COUNTER: "Sum",
             catalog.Kind.COUNTER: "Sum"}
MIB = catalog.MIB


def test_every_metric_of_a_duck_typed_executor(reader: InMemoryMetricReader) -> None:
    # Held here: the registry only has a weak reference.
    executor = StaticExecutor(with_runs(full_stats()))
    instrument_executor(executor, "duck")
    points = collect(reader)

    def v(metric: str, **attrs: str) -> float:
        return float(value(points, "flujo.executor." + metric, flujo__executor__name="duck",
                           **attrs))

    expected = {
        "object_pool.utilization": 0.4, "object_pool.objects": 12, "object_pool.hit_ratio": 0.75,
        "object_pool.miss_ratio": 0.25, "memory.usage": 256 * MIB, "memory.pressure": 0.25,
        "memory.allocation_rate": 2 * MIB, "memory.cleanup_events": 3,
        "execution.avg_duration": 0.12, "execution.min_duration": 0.005,
        "execution.max_duration": 0.9, "execution.failure_ratio": 0.08,
        "cache.hit_ratio": 0.6, "cache.size": 50, "cache.max": 200, "cache.utilization": 0.25,
        "cache.evictions": 4, "cache.misses": 40, "concurrency.level": 3, "concurrency.max": 10,
        "concurrency.avg_wait_time": 0.02, "concurrency.contention_ratio": 0.05,
        "queue.size": 2, "error.ratio": 0.08, "error.recovery_ratio": 0.7,
        "error.cached_patterns": 6, "error.consecutive_failures": 1,
        "telemetry.batch_size": 50, "telemetry.flush_rate": 1.5, "telemetry.overhead": 0.0002,
        "telemetry.metrics_collected": 1000,
        "spend.cost": 1.25, "spend.tokens": 4321, "usage_limit.utilization": 0.5,
    }
    for metric, number in expected.items():
        assert v(metric) == pytest.approx(number), metric
    assert v("executions", flujo__execution__outcome="success") == 90
    assert v("executions", flujo__execution__outcome="failure") == 8
    assert v("executions", flujo__execution__outcome="other") == 2
    for state, flag in (("closed", 1), ("open", 0), ("half_open", 0)):
        assert v("circuit_breaker.status", flujo__circuit_breaker__state=state) == flag
    covered = set(expected) | {"executions", "circuit_breaker.status"}
    assert {m.short_name for m in catalog.METRICS} == covered


def test_units_and_kinds_follow_the_catalog(reader: InMemoryMetricReader) -> None:
    executor = StaticExecutor(with_runs(full_stats()))
    instrument_executor(executor, "duck")
    seen = units(reader)
    for metric in catalog.METRICS:
        assert seen[metric.name] == (metric.unit, DATA_TYPE[metric.kind]), metric.name
    data = reader.get_metrics_data()
    assert data is not None
    sums = {m.name: m.data for rm in data.resource_metrics for sm in rm.scope_metrics
            for m in sm.metrics if type(m.data).__name__ == "Sum"}
    for metric in catalog.METRICS:
        if metric.kind is not catalog.Kind.GAUGE:
            assert sums[metric.name].is_monotonic == (metric.kind is catalog.Kind.COUNTER)


def test_reference_executor_reports_every_metric_from_real_state(
    reader: InMemoryMetricReader,
) -> None:
    executor = ReferenceExecutor(memory_limit_mb=100_000)
    asyncio.run(run_workload(executor, duration_s=0.5, failure_ratio=0.2))
    instrument_executor(executor, "reference")
    raw = executor.get_optimization_stats()
    points = collect(reader)
    exported = {name for name, attrs in points if ("flujo.executor.name", "reference") in attrs
                and not name.startswith(catalog.THRESHOLD_PREFIX)}
    # It runs no flujo pipelines: no pipeline category.
    assert exported == {m.name for m in catalog.METRICS if m.category != "pipeline"}
    clean = Normaliser("percent", log_now).normalise(raw, Counter())
    # The workload is over, so the two reads agree on everything but the memory figures.
    for metric in catalog.METRICS:
        if metric.attributes or metric.derived or metric.category == "memory" or (
                metric.unit == "{flush}/s"):  # memory and flush rate move with time
            continue
        stat_id = metric.stats[0].id
        if stat_id in clean:
            assert value(points, metric.name) == pytest.approx(clean[stat_id]), metric.name
    total = sum(value(points, "flujo.executor.executions", flujo__execution__outcome=o)
                for o in ("success", "failure"))
    assert total == clean["execution.total_executions"] > 0


def test_every_point_carries_the_executor_name(reader: InMemoryMetricReader) -> None:
    executor = StaticExecutor(full_stats())
    instrument_executor(executor)
    points = collect(reader)
    # 33 metrics; executions has 3 outcome points and the circuit breaker 3 state points.
    assert sum(name.startswith("flujo.executor.") and not name.startswith(
        catalog.THRESHOLD_PREFIX) for name, _ in points) == 37
    for name, attrs in points:
        # Threshold limits are the one exception: a limit that every name shares is
        # exported once, without a name (docs/thresholds.md).
        found = catalog.checked_metric(name)
        if name.startswith("flujo.executor.") and not (found and not found[1]):
            assert dict(attrs)["flujo.executor.name"] == "StaticExecutor"
