"""Series names: the Python exporter's checked against the real exporter, the
Collector's against the translator's rules (pkg/translator/prometheus,
normalize_name.go, read for these cases)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from opentelemetry.instrumentation.flujo import instrument_executor
from opentelemetry.instrumentation.flujo._internal.catalog import (
    METRICS,
    MIB,
    SCOPE,
    SYNC_METRICS,
    Kind,
)
from opentelemetry.instrumentation.flujo._internal.runtime import Runtime
from opentelemetry.instrumentation.flujo.tools.generate.naming import (
    Naming,
    label,
    metric_series,
    series_name,
)

EVERY_STAT = {
    "memory": {"object_pool_utilization": 50, "objects_in_pool": 7, "pool_hit_rate": 60,
               "pool_miss_rate": 40, "usage_mb": 100, "pressure_level": 0.25,
               "allocation_rate_mb_s": 2, "cleanup_events": 3},
    "execution": {"total_executions": 100, "successful_executions": 90,
                  "failed_executions": 10, "avg_time_ms": 250, "min_time_ms": 10,
                  "max_time_ms": 900},
    "cache": {"hit_rate": 70, "size": 40, "capacity": 100, "utilization": 40, "evictions": 5,
              "misses": 30},
    "concurrency": {"current_level": 2, "max_level": 8, "avg_wait_time_ms": 20,
                    "contention_rate": 10, "queue_size": 3},
    "error_handling": {"error_rate": 10, "recovery_success_rate": 80, "cached_patterns": 4,
                       "circuit_breaker_state": "CLOSED", "failure_count": 1},
    "telemetry": {"batch_size": 32, "flush_rate": 2.5, "overhead_ms": 1.5,
                  "metrics_collected": 1000},
    "pipeline": {"cost_usd": 1.5, "tokens": 300, "usage_limit_utilization": 0.5},
}


class Executor:
    def get_optimization_stats(self) -> object:
        return EVERY_STAT


@pytest.fixture
def exposition(runtime: Runtime) -> Iterator[dict[str, float]]:
    """{sample name + labels: value} as the real exporter serves them at /metrics."""
    reader = PrometheusMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    executor = Executor()
    instrument_executor(executor, "x", meter_provider=provider)
    try:
        text = generate_latest(REGISTRY).decode()
        samples = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                samples[s.name] = s.value
        yield samples
    finally:
        provider.shutdown()


def test_every_catalog_metric_has_its_documented_python_name(
        exposition: dict[str, float]) -> None:
    names = {metric.name: metric_series(metric, Naming.PYTHON) for metric in METRICS}
    missing = {otel: name for otel, name in names.items() if name not in exposition}
    assert missing == {}
    assert exposition[names["flujo.executor.memory.usage"]] == 100 * MIB


def test_every_synchronous_instrument_has_its_documented_python_name(runtime: Runtime) -> None:
    reader = PrometheusMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter(SCOPE)
    try:
        for metric in SYNC_METRICS:
            attributes = dict.fromkeys(metric.attributes, "x")
            if metric.kind is Kind.HISTOGRAM:
                meter.create_histogram(metric.name, unit=metric.unit).record(1.0, attributes)
            else:
                meter.create_counter(metric.name, unit=metric.unit).add(2, attributes)
        text = generate_latest(REGISTRY).decode()
        served = {s.name for family in text_string_to_metric_families(text)
                  for s in family.samples}
    finally:
        provider.shutdown()
    for metric in SYNC_METRICS:
        name = series_name(metric.name, metric.unit, metric.kind, Naming.PYTHON)
        assert (name + "_count" if metric.kind is Kind.HISTOGRAM else name) in served, name


def test_python_names_differ_from_the_collector_names_where_documented(
        exposition: dict[str, float]) -> None:
    # The test can fail: the Collector's name for a ratio gauge is not what the
    # Python exporter serves.
    ratio = next(m for m in METRICS if m.name == "flujo.executor.memory.pressure")
    assert metric_series(ratio, Naming.COLLECTOR) not in exposition
    assert metric_series(ratio, Naming.PYTHON) in exposition


@pytest.mark.parametrize(("name", "unit", "kind", "expected"), [
    # Gauge with unit 1 gets _ratio, once.
    ("flujo.executor.memory.pressure", "1", "Gauge", "flujo_executor_memory_pressure_ratio"),
    ("flujo.executor.cache.hit_ratio", "1", "Gauge", "flujo_executor_cache_hit_ratio"),
    # ... a non-monotonic sum with unit 1 does not.
    ("flujo.executor.circuit_breaker.status", "1", "UpDownCounter",
     "flujo_executor_circuit_breaker_status"),
    ("flujo.executor.memory.usage", "By", "UpDownCounter", "flujo_executor_memory_usage_bytes"),
    ("flujo.executor.memory.allocation_rate", "By/s", "Gauge",
     "flujo_executor_memory_allocation_rate_bytes_per_second"),
    ("flujo.executor.telemetry.flush_rate", "{flush}/s", "Gauge",
     "flujo_executor_telemetry_flush_rate_per_second"),
    ("flujo.executor.execution.avg_duration", "s", "Gauge",
     "flujo_executor_execution_avg_duration_seconds"),
    ("flujo.executor.executions", "{execution}", "Counter", "flujo_executor_executions_total"),
    ("flujo.executor.queue.size", "{execution}", "UpDownCounter", "flujo_executor_queue_size"),
    # Words are tokens: a unit word already in the name is not repeated, "total" moves
    # to the end, and runs of separators collapse.
    ("http.server.seconds.taken", "s", "Gauge", "http_server_seconds_taken"),
    ("jobs.total.done", "{job}", "Counter", "jobs_done_total"),
    ("a..b", "ms", "Histogram", "a_b_milliseconds"),
])
def test_collector_names_follow_the_translator(name: str, unit: str, kind: str,
                                               expected: str) -> None:
    assert series_name(name, unit, Kind(kind), Naming.COLLECTOR) == expected


def test_python_names_append_the_unit_unless_the_name_ends_with_it() -> None:
    assert series_name("a.time_seconds", "s", Kind.GAUGE, Naming.PYTHON) == "a_time_seconds"
    assert series_name("a.seconds.taken", "s", Kind.GAUGE, Naming.PYTHON) == \
        "a_seconds_taken_seconds"
    assert series_name("jobs_total", "{job}", Kind.COUNTER, Naming.PYTHON) == "jobs_total"


def test_attribute_labels() -> None:
    assert label("flujo.executor.name") == "flujo_executor_name"
    assert label("flujo.circuit_breaker.state") == "flujo_circuit_breaker_state"
