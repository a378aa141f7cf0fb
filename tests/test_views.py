"""flujo_views(): every name's threshold-status points get through the SDK's
cardinality limit, observable instruments carry no exemplar reservoirs, and no
instrument is exported twice."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from opentelemetry.sdk.metrics import AlwaysOnExemplarFilter, MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

from opentelemetry.instrumentation.flujo import instrument_executor
from opentelemetry.instrumentation.flujo._internal.catalog import (
    EXECUTION_DURATION,
    SCOPE,
    THRESHOLD_STATUS,
)
from opentelemetry.instrumentation.flujo._internal.otel.sdk_setup import build_meter_provider
from opentelemetry.instrumentation.flujo._internal.otel.views import CARDINALITY_LIMITS as LIMITED
from opentelemetry.instrumentation.flujo._internal.otel.views import flujo_views
from opentelemetry.instrumentation.flujo._internal.runtime import Runtime

from conftest import StaticExecutor, full_stats

NAMES = 40  # 40 names x 63 status points = 2,520 > the SDK's default 2,000


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


def test_the_duration_view_exists_where_the_sdk_has_a_limit() -> None:
    # three observable-instrument views everywhere, the histogram's with a limit only
    assert len(flujo_views()) == 3 + LIMITED


def exported(runtime: Runtime, views: list[Any]) -> list[Any]:
    """Our scope's metrics after two collections with an always-on exemplar filter,
    an executor, and one duration-histogram record inside a sampled span."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], views=views,
                             exemplar_filter=AlwaysOnExemplarFilter())
    runtime.bind(provider)
    executor = StaticExecutor(full_stats())
    instrument_executor(executor, "views")
    histogram = provider.get_meter(SCOPE).create_histogram(EXECUTION_DURATION.name, unit="s")
    try:
        reader.get_metrics_data()
        # after the first collection: a collection hands out and resets the exemplars
        with TracerProvider().get_tracer("test").start_as_current_span("step"):
            histogram.record(0.25, {"flujo.executor.name": "views"})
        data = reader.get_metrics_data()
        assert data is not None
        return [m for rm in data.resource_metrics for sm in rm.scope_metrics
                if sm.scope.name == SCOPE for m in sm.metrics]
    finally:
        provider.shutdown()


def with_exemplars(metrics: list[Any]) -> set[str]:
    return {m.name for m in metrics for p in m.data.data_points if p.exemplars}


def test_observable_instruments_keep_no_exemplars_the_histograms_do(
        runtime: Runtime) -> None:
    # Without the views an always-on filter gives every observed point an exemplar
    # (a value without a trace): proof the assertion below can fail.
    assert len(with_exemplars(exported(runtime, []))) > 30
    # The synchronous ones keep the SDK's reservoirs (self-telemetry's: a few series).
    assert with_exemplars(exported(runtime, flujo_views())) == {
        EXECUTION_DURATION.name, "flujo.otel.collection.duration"}


def test_no_instrument_is_exported_twice(runtime: Runtime) -> None:
    without = Counter(m.name for m in exported(runtime, []))
    assert Counter(m.name for m in exported(runtime, flujo_views())) == without
    assert max(without.values()) == 1
