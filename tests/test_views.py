"""flujo_views(): what the views still buy. Observable instruments carry no exemplar
reservoirs, the duration histogram's step dimension gets through the SDK's cardinality
limit, no instrument is exported twice; and every name's threshold points get through
with or without them (docs/thresholds.md)."""

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
    SYNC_METRICS,
    THRESHOLD_STATUS_PREFIX,
    Kind,
)
from opentelemetry.instrumentation.flujo._internal.config import Config
from opentelemetry.instrumentation.flujo._internal.otel.sdk_setup import build_meter_provider
from opentelemetry.instrumentation.flujo._internal.otel.views import CARDINALITY_LIMITS as LIMITED
from opentelemetry.instrumentation.flujo._internal.otel.views import flujo_views
from opentelemetry.instrumentation.flujo._internal.runtime import Runtime
from opentelemetry.instrumentation.flujo._internal.thresholds.rules import default_rules

from conftest import StaticExecutor, full_stats, with_runs

NAMES = 100  # the default name cap


def status_points(reader: InMemoryMetricReader) -> int:
    data = reader.get_metrics_data()
    assert data is not None
    return sum(len(m.data.data_points) for rm in data.resource_metrics
               for sm in rm.scope_metrics for m in sm.metrics
               if m.name.startswith(THRESHOLD_STATUS_PREFIX))


def run(runtime: Runtime, provider: MeterProvider, reader: InMemoryMetricReader) -> int:
    runtime.bind(provider)
    # every checked metric: flujo's runs' usage_limit.utilization too
    executors = [StaticExecutor(with_runs(full_stats())) for _ in range(NAMES)]
    for i, executor in enumerate(executors):
        instrument_executor(executor, f"pipeline-{i}")
    try:
        return status_points(reader)
    finally:
        provider.shutdown()


CHECKED = len({rule.metric for rule in default_rules()})


def test_providers_we_build_keep_every_names_status(runtime: Runtime) -> None:
    reader = InMemoryMetricReader()
    provider = build_meter_provider(Config(), {"OTEL_METRICS_EXPORTER": "none"},
                                extra_readers=[reader])
    assert run(runtime, provider, reader) == NAMES * CHECKED


def test_without_the_views_nothing_is_folded_away(runtime: Runtime) -> None:
    # The zero-code path: SDK defaults, one status point per name and checked metric.
    reader = InMemoryMetricReader()
    assert run(runtime, MeterProvider(metric_readers=[reader]), reader) == NAMES * CHECKED


@pytest.mark.skipif(not LIMITED, reason="this SDK has no cardinality limit to exceed")
def test_a_raised_name_cap_gets_the_views_limit_raised_with_it() -> None:
    # 700 names x 3 circuit-breaker states = 2,100 attribute sets: past the SDK's 2,000.
    config = Config(max_executor_names=700)
    executors = [StaticExecutor(full_stats()) for _ in range(700)]

    def circuit_points(views: list[Any]) -> int:
        runtime = Runtime(config)
        reader = InMemoryMetricReader()
        provider = MeterProvider(metric_readers=[reader], views=views)
        runtime.bind(provider)
        for i, executor in enumerate(executors):
            runtime.registry.add(executor, f"pipeline-{i}")
        try:
            data = reader.get_metrics_data()
            assert data is not None
            return sum(len(m.data.data_points) for rm in data.resource_metrics
                       for sm in rm.scope_metrics for m in sm.metrics
                       if m.name == "flujo.executor.circuit_breaker.status")
        finally:
            runtime.close()
            provider.shutdown()

    assert circuit_points([]) == 2001  # 2,000 kept, the rest folded into one overflow point
    assert circuit_points(flujo_views(config)) == 2100


def test_the_flujo_wrappers_views_exist_where_they_set_something() -> None:
    # three observable-instrument views everywhere; one per flujo wrapper metric where
    # the SDK has cardinality limits (the execution and run histograms, the run and
    # spend counters), else one per counter only (observed: its exemplars are off)
    counters = [m for m in SYNC_METRICS if m.kind is Kind.COUNTER]
    assert len(counters) == 3
    assert len(flujo_views()) == 3 + (len(SYNC_METRICS) if LIMITED else len(counters))


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


def test_the_public_views_follow_the_environments_name_cap(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry.instrumentation.flujo import flujo_views as public_views

    from conftest import fresh_runtime

    fresh_runtime({"OTEL_PYTHON_FLUJO_MAX_EXECUTOR_NAMES": "1000"})  # read from the environment

    def limits(views: list[Any]) -> list[Any]:
        return [getattr(view, "_aggregation_cardinality_limit", None) for view in views]

    assert limits(public_views()) == limits(flujo_views(Config(max_executor_names=1000)))
    if LIMITED:  # an SDK with cardinality limits: the cap raised them
        assert limits(public_views()) != limits(flujo_views())
