"""One stats read per executor per collection; sources that fail or lie. (Raising and
hanging sources next to healthy ones: tests/test_faults_sources.py.)"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from opentelemetry.instrumentation.flujo import instrument_executor, uninstrument_executor
from opentelemetry.instrumentation.flujo._internal.collect.snapshot import WARN_EVERY_S
from opentelemetry.instrumentation.flujo._internal.config import Config
from opentelemetry.instrumentation.flujo._internal.runtime import Runtime

from conftest import StaticExecutor, collect, full_stats, value


def test_one_stats_call_per_executor_per_collection(reader: InMemoryMetricReader) -> None:
    executors = [StaticExecutor(full_stats()) for _ in range(3)]
    for i, executor in enumerate(executors):
        instrument_executor(executor, f"e{i}")
    for n in range(1, 6):
        collect(reader)
        assert [e.calls for e in executors] == [n, n, n]


def test_two_readers_each_collect_once_and_see_fresh_values(runtime: Runtime) -> None:
    first, second = InMemoryMetricReader(), InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[first, second])
    runtime.bind(provider)
    executor = StaticExecutor(full_stats())
    instrument_executor(executor, "e")
    for n in range(1, 4):
        executor.stats["cache"]["size"] = n
        assert value(collect(first), "flujo.executor.cache.size") == n
        executor.stats["cache"]["size"] = n + 100
        assert value(collect(second), "flujo.executor.cache.size") == n + 100
        assert executor.calls == 2 * n
    provider.shutdown()


class Raising:
    def get_optimization_stats(self) -> Any:
        raise RuntimeError("stats backend down")


def test_a_failing_source_is_logged_once_per_name_per_ten_minutes(
    caplog: pytest.LogCaptureFixture
) -> None:
    now = [0]
    runtime = Runtime(Config(), clock=lambda: now[0])  # the runtime's clock, driven here
    reader = InMemoryMetricReader()
    runtime.bind(MeterProvider(metric_readers=[reader]))
    broken = Raising()
    runtime.registry.add(broken, "broken")
    try:
        with caplog.at_level(logging.WARNING):
            for _ in range(3):
                collect(reader)
                now[0] += 10**9
            assert runtime.alerts.flush()  # logged on the dispatcher's thread
            assert len(caplog.records) == 1
            assert caplog.records[0].getMessage().startswith(
                "no stats from executor 'broken': get_optimization_stats() raised "
                "RuntimeError; ")
            now[0] += WARN_EVERY_S * 10**9  # ten minutes later
            collect(reader)
            collect(reader)
            assert runtime.alerts.flush()
        assert len(caplog.records) == 2
    finally:
        runtime.close()


def test_bad_values_are_dropped_counted_and_the_rest_exported(
    reader: InMemoryMetricReader,
) -> None:
    executor = StaticExecutor(full_stats(
        memory__usage_mb="N/A", cache__hit_rate=None, execution__avg_time_ms=float("nan"),
        concurrency__queue_size=True, cache__evictions=-3,
        error_handling__circuit_breaker_state="weird"))
    instrument_executor(executor, "bad")
    points = collect(reader)
    for metric in ("memory.usage", "cache.hit_ratio", "execution.avg_duration", "queue.size",
                   "cache.evictions", "circuit_breaker.status"):
        with pytest.raises(KeyError):
            value(points, "flujo.executor." + metric)
    assert value(points, "flujo.executor.cache.size") == 50
    dropped = {dict(a)["reason"]: v for (n, a), v in points.items()
               if n == "flujo.otel.stats.dropped"}
    assert dropped == {"not_a_number": 1, "null": 1, "non_finite": 1, "bool": 1,
                       "negative": 1, "unknown_state": 1}


def test_uninstrument_executor_stops_its_reads(reader: InMemoryMetricReader) -> None:
    executor = StaticExecutor(full_stats())
    instrument_executor(executor, "e")
    collect(reader)
    assert uninstrument_executor(executor)
    assert not uninstrument_executor(executor)
    collect(reader)
    assert executor.calls == 1


def test_an_object_without_stats_is_refused_with_a_warning(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    assert not instrument_executor(object())
    assert "get_optimization_stats" in caplog.text


def test_collection_duration_has_second_sized_buckets(reader: InMemoryMetricReader) -> None:
    executor = StaticExecutor(full_stats())
    instrument_executor(executor, "e")
    point = value(collect(reader), "flujo.otel.collection.duration")
    assert point.explicit_bounds[0] == 0.0001
    assert 1.0 in point.explicit_bounds
    assert point.explicit_bounds[-1] == 10.0
