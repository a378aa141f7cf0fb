"""One stats read per executor per collection; sources that fail, hang or lie."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from opentelemetry.instrumentation.flujo import instrument_executor, uninstrument_executor
from opentelemetry.instrumentation.flujo._internal.collect.snapshot import WARN_EVERY_S
from opentelemetry.instrumentation.flujo._internal.config import Config
from opentelemetry.instrumentation.flujo._internal.runtime import Runtime

from conftest import StaticExecutor, collect, fresh_runtime, full_stats, value


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
    def __init__(self, every: int = 1) -> None:
        self.every, self.calls = every, 0

    def get_optimization_stats(self) -> Any:
        self.calls += 1
        if self.calls % self.every == 0:
            raise RuntimeError("stats backend down")
        return full_stats()


class Sleeping:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.release = threading.Event()

    def get_optimization_stats(self) -> Any:
        self.release.wait(self.seconds)
        return full_stats()


def test_a_raising_source_is_counted_and_the_others_still_arrive(
    reader: InMemoryMetricReader,
) -> None:
    healthy, broken, flaky = StaticExecutor(full_stats()), Raising(), Raising(every=3)
    instrument_executor(healthy, "healthy")
    instrument_executor(broken, "broken")
    instrument_executor(flaky, "flaky")
    for _ in range(3):
        points = collect(reader)
        assert value(points, "flujo.executor.cache.size", flujo__executor__name="healthy") == 50
    # per executor name: broken every time, flaky on its third read
    for name, errors in (("broken", 3), ("flaky", 1)):
        assert value(points, "flujo.otel.collection.errors", reason="raised",
                     flujo__executor__name=name) == errors
    # ... and nothing else carries the broken one's name
    assert {n for n, a in points if dict(a).get("flujo.executor.name") == "broken"} == {
        "flujo.otel.collection.errors"}


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


def test_a_hanging_source_costs_one_budget_and_is_not_called_again_while_stuck() -> None:
    runtime = fresh_runtime({"OTEL_PYTHON_FLUJO_STATS_TIMEOUT": "200"})
    reader = InMemoryMetricReader()
    runtime.bind(MeterProvider(metric_readers=[reader]))
    healthy, stuck = StaticExecutor(full_stats()), Sleeping(30)
    instrument_executor(stuck, "stuck")
    instrument_executor(healthy, "healthy")
    try:
        started = time.monotonic()
        points = collect(reader)
        assert time.monotonic() - started < 2.0
        assert value(points, "flujo.executor.cache.size", flujo__executor__name="healthy") == 50
        assert value(points, "flujo.otel.collection.errors", reason="timeout",
                     flujo__executor__name="stuck") == 1
        started = time.monotonic()
        points = collect(reader)
        assert time.monotonic() - started < 1.0
        assert value(points, "flujo.otel.collection.errors", reason="still_running") == 1
        assert value(points, "flujo.executor.cache.size", flujo__executor__name="healthy") == 50
    finally:
        stuck.release.set()
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
