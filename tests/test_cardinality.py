"""Every name's threshold-status points get through the SDK's cardinality limit."""

from __future__ import annotations

import inspect

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.metrics.view import View

from opentelemetry.instrumentation.flujo import instrument_executor
from opentelemetry.instrumentation.flujo.cardinality import flujo_views
from opentelemetry.instrumentation.flujo.catalog import THRESHOLD_STATUS
from opentelemetry.instrumentation.flujo.runtime import Runtime
from opentelemetry.instrumentation.flujo.sdk_setup import build_meter_provider

from conftest import StaticExecutor, full_stats

NAMES = 40  # 40 names x 63 status points = 2,520 > the SDK's default 2,000
LIMITED = "aggregation_cardinality_limit" in inspect.signature(View.__init__).parameters


def status_points(reader: InMemoryMetricReader) -> int:
    data = reader.get_metrics_data()
    assert data is not None
    return sum(len(m.data.data_points) for rm in data.resource_metrics
               for sm in rm.scope_metrics for m in sm.metrics if m.name == THRESHOLD_STATUS)


def run(runtime: Runtime, provider: MeterProvider, reader: InMemoryMetricReader) -> int:
    runtime.bind(provider)
    executors = [StaticExecutor(full_stats()) for _ in range(NAMES)]
    for i, executor in enumerate(executors):
        instrument_executor(executor, f"pipeline-{i}")
    try:
        return status_points(reader)
    finally:
        provider.shutdown()


def test_providers_we_build_keep_every_names_status(runtime: Runtime) -> None:
    reader = InMemoryMetricReader()
    provider = build_meter_provider({"OTEL_METRICS_EXPORTER": "none"}, extra_readers=[reader])
    assert run(runtime, provider, reader) == NAMES * 63  # 21 checked metrics x 3 states


@pytest.mark.skipif(not LIMITED, reason="this SDK has no cardinality limit to exceed")
def test_without_the_views_the_sdk_would_fold_names_away(runtime: Runtime) -> None:
    reader = InMemoryMetricReader()
    assert run(runtime, MeterProvider(metric_readers=[reader]), reader) < NAMES * 63


def test_views_are_empty_where_the_sdk_has_no_limit() -> None:
    assert bool(flujo_views()) == LIMITED
