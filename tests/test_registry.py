"""Names, same-name combining, retirement of collected executors, the name cap."""

from __future__ import annotations

import gc
import logging
import tracemalloc

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from opentelemetry.instrumentation.flujo import instrument_executor
from opentelemetry.instrumentation.flujo._internal.collect.registry import (
    MAX_NAME_LENGTH,
    Registry,
)

from conftest import StaticExecutor, collect, fresh_runtime, full_stats, value


def test_same_name_instances_are_combined(reader: InMemoryMetricReader) -> None:
    a = StaticExecutor(full_stats(execution__total_executions=100, execution__avg_time_ms=100,
                                  execution__min_time_ms=5, execution__max_time_ms=900,
                                  cache__size=10, error_handling__failure_count=1,
                                  error_handling__circuit_breaker_state="CLOSED"))
    b = StaticExecutor(full_stats(execution__total_executions=300, execution__avg_time_ms=200,
                                  execution__min_time_ms=2, execution__max_time_ms=400,
                                  execution__successful_executions=280,
                                  execution__failed_executions=20,
                                  cache__size=30, error_handling__failure_count=4,
                                  error_handling__circuit_breaker_state="OPEN"))
    instrument_executor(a, "svc")
    instrument_executor(b, "svc")
    points = collect(reader)
    assert value(points, "flujo.executor.cache.size") == 40  # levels summed
    assert value(points, "flujo.executor.execution.min_duration") == pytest.approx(0.002)
    assert value(points, "flujo.executor.execution.max_duration") == pytest.approx(0.9)
    # weighted by executions: (100*0.1 + 300*0.2) / 400
    assert value(points, "flujo.executor.execution.avg_duration") == pytest.approx(0.175)
    assert value(points, "flujo.executor.executions", flujo__execution__outcome="success") == 370
    assert value(points, "flujo.executor.execution.failure_ratio") == pytest.approx(28 / 400)
    assert value(points, "flujo.executor.error.consecutive_failures") == 4
    assert value(points, "flujo.executor.circuit_breaker.status",
                 flujo__circuit_breaker__state="open") == 1
    assert value(points, "flujo.otel.executors") == 2


def test_a_collected_executor_keeps_its_counters_in_the_name_totals(
    reader: InMemoryMetricReader,
) -> None:
    keep = StaticExecutor(full_stats(cache__misses=10))
    gone = StaticExecutor(full_stats(cache__misses=7))
    instrument_executor(keep, "svc")
    instrument_executor(gone, "svc")
    assert value(collect(reader), "flujo.executor.cache.misses") == 17
    del gone
    gc.collect()
    points = collect(reader)
    assert value(points, "flujo.executor.cache.misses") == 17
    assert value(points, "flujo.executor.cache.size") == 50  # only the live one's level
    assert value(points, "flujo.otel.executors") == 1
    keep.stats["cache"]["misses"] = 12
    assert value(collect(reader), "flujo.executor.cache.misses") == 19


def test_counters_never_go_backwards_when_a_source_resets(reader: InMemoryMetricReader) -> None:
    executor = StaticExecutor(full_stats(cache__evictions=50))
    instrument_executor(executor, "svc")
    seen = []
    for raw in (50, 60, 5, 8, None, 9):
        executor.stats["cache"]["evictions"] = raw
        seen.append(value(collect(reader), "flujo.executor.cache.evictions"))
    assert seen == [50, 60, 65, 68, 68, 69]


def test_names_past_the_cap_go_to_other_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runtime = fresh_runtime({"OTEL_PYTHON_FLUJO_MAX_EXECUTOR_NAMES": "2"})
    reader = InMemoryMetricReader()
    runtime.bind(MeterProvider(metric_readers=[reader]))
    executors = [StaticExecutor(full_stats()) for _ in range(5)]
    with caplog.at_level(logging.WARNING):
        for i, executor in enumerate(executors):
            instrument_executor(executor, f"name{i}")
    points = collect(reader)
    names = {dict(a).get("flujo.executor.name") for n, a in points
             if n == "flujo.executor.cache.size"}
    assert names == {"name0", "name1", "_other"}
    # the three past the cap are one name: levels and counters summed
    assert value(points, "flujo.executor.cache.size", flujo__executor__name="_other") == 150
    assert value(points, "flujo.executor.executions", flujo__executor__name="_other",
                 flujo__execution__outcome="success") == 270
    registry_log = [r.getMessage() for r in caplog.records if r.name.endswith(".registry")]
    assert " ".join(registry_log).count("_other") == 1
    runtime.close()


def test_default_name_is_the_class_name_and_long_names_are_cut(
    reader: InMemoryMetricReader,
) -> None:
    # Executor names are the only free-form attribute value this package exports.
    long_class = type("C" * 1000, (StaticExecutor,), {})
    executors = [
        (StaticExecutor(full_stats()), None),
        (StaticExecutor(full_stats()), "n" * 100_000),
        (StaticExecutor(full_stats()), 12345),  # not a string: the class name is used
        (long_class(full_stats()), None),
        (StaticExecutor(full_stats()), "  \t "),  # blank: the class name
    ]
    for executor, name in executors:
        assert instrument_executor(executor, name)  # type: ignore[arg-type]
    names = {dict(attrs)["flujo.executor.name"] for n, attrs in collect(reader)
             if n == "flujo.executor.cache.size"}
    assert names == {"StaticExecutor", "n" * MAX_NAME_LENGTH, "C" * MAX_NAME_LENGTH}


def test_tables_shrink_after_a_burst_of_executors_died() -> None:
    # A dict keeps the table it grew to: without a rebuild, 10,000 short-lived
    # executors would hold ~300 KiB of empty slots for the life of the process.
    tracemalloc.start()
    try:
        registry = Registry()
        kept = StaticExecutor({})
        registry.add(kept, "svc")
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        burst = [StaticExecutor({}) for _ in range(5000)]
        for executor in burst:
            registry.add(executor, "svc")
        grown = tracemalloc.get_traced_memory()[0] - before
        del burst, executor
        gc.collect()
        registry.purge()
        left = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert [entry.executor() for entry in registry.entries()] == [kept]
    # ~2 MiB while the burst lived; ~10 KiB once purged (~300 KiB without the rebuild)
    assert grown > 1024 * 1024, grown
    assert left < 100 * 1024, left
