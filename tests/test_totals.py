"""Counters summed in the process and observed at collection (otel/totals.py): the flujo
run and spend counters. They must export what the SDK's own Counter exports for the same
adds, in both temporalities, through the plugin's views and without them."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from opentelemetry.sdk.metrics import (
    AlwaysOnExemplarFilter,
    Counter,
    MeterProvider,
    ObservableCounter,
)
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

from opentelemetry.instrumentation.flujo._internal.catalog import (
    PIPELINE_NAME,
    RUNS,
    SCOPE,
    STEP_COST,
    STEP_NAME,
)
from opentelemetry.instrumentation.flujo._internal.config import Config
from opentelemetry.instrumentation.flujo._internal.otel.views import flujo_views
from opentelemetry.instrumentation.flujo._internal.runtime import Runtime

THREADS, ADDS = 4, 2000


def exported(reader: InMemoryMetricReader, name: str) -> list[Any]:
    data = reader.get_metrics_data()
    assert data is not None
    return [m for rm in data.resource_metrics for sm in rm.scope_metrics
            if sm.scope.name == SCOPE for m in sm.metrics if m.name == name]


def points(metric: Any) -> dict[frozenset[tuple[str, Any]], float]:
    return {frozenset(p.attributes.items()): p.value for p in metric.data.data_points}


@pytest.mark.parametrize("temporality", [AggregationTemporality.CUMULATIVE,
                                         AggregationTemporality.DELTA])
@pytest.mark.parametrize("with_views", [True, False])
def test_totals_export_what_the_sdks_counter_exports(
        temporality: AggregationTemporality, with_views: bool) -> None:
    # what OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta asks of both kinds
    preferred = {Counter: temporality, ObservableCounter: temporality}
    ours_reader = InMemoryMetricReader(preferred_temporality=preferred)
    sdk_reader = InMemoryMetricReader(preferred_temporality=preferred)
    views = flujo_views() if with_views else []
    ours_provider = MeterProvider(metric_readers=[ours_reader], views=views)
    sdk_provider = MeterProvider(metric_readers=[sdk_reader])
    runtime = Runtime(Config())
    try:
        binding = runtime.bind(ours_provider)
        assert binding is not None
        totals = binding.total(STEP_COST.name, STEP_COST.unit, STEP_COST.description)
        counter = sdk_provider.get_meter(SCOPE).create_counter(STEP_COST.name)
        # Equal attribute sets in different dicts (two steps past the step cap are both
        # "_other") are one series, as the SDK makes them.
        one = {PIPELINE_NAME: "p", STEP_NAME: "_other"}
        same = dict(one)
        two = {PIPELINE_NAME: "p", STEP_NAME: "b"}

        def add(attributes: dict[str, str], amount: float) -> None:
            for _ in range(ADDS):  # from several threads at once: no add is lost
                totals.add(amount, attributes)
                counter.add(amount, attributes)

        for round_ in range(2):  # the second collection shows the temporality
            threads = [threading.Thread(target=add, args=(attributes, 0.5 + round_))
                       for attributes in (one, same, two, two)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            (ours,), (sdk,) = exported(ours_reader, STEP_COST.name), exported(
                sdk_reader, STEP_COST.name)
            assert points(ours) == points(sdk)
            # two threads' adds each round: 0.5, then 1.5 per add
            expected = {0: ADDS, 1: 3 * ADDS if temporality is AggregationTemporality.DELTA
                        else 4 * ADDS}[round_]
            assert points(ours)[frozenset(two.items())] == expected
            assert ours.data.is_monotonic and ours.data.aggregation_temporality is temporality
            assert ours.unit == STEP_COST.unit and ours.description == STEP_COST.description
    finally:
        runtime.close()
        ours_provider.shutdown()
        sdk_provider.shutdown()


def test_totals_outlive_the_runtime_that_fed_them() -> None:
    # instrument() after uninstrument(): the provider's series go on, as the SDK's would.
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], views=flujo_views())
    attributes = {PIPELINE_NAME: "p"}
    first, second = Runtime(Config()), Runtime(Config())
    try:
        for runtime, runs in ((first, 3), (second, 2)):
            binding = runtime.bind(provider)
            assert binding is not None
            totals = binding.total(RUNS.name, RUNS.unit, RUNS.description)
            for _ in range(runs):
                totals.add(1, attributes)
            if runtime is first:
                (metric,) = exported(reader, RUNS.name)
                assert points(metric) == {frozenset(attributes.items()): 3}
                first.close()
        (metric,) = exported(reader, RUNS.name)
        assert points(metric) == {frozenset(attributes.items()): 5}
    finally:
        second.close()
        provider.shutdown()


def test_observed_totals_carry_no_exemplar_through_the_views() -> None:
    # An always-on filter offers every observed point; without the views a point gets
    # an exemplar with no trace behind it (proof the assertion can fail).
    def exemplars(views: list[Any]) -> int:
        reader = InMemoryMetricReader()
        provider = MeterProvider(metric_readers=[reader], views=views,
                                 exemplar_filter=AlwaysOnExemplarFilter())
        runtime = Runtime(Config())
        try:
            binding = runtime.bind(provider)
            assert binding is not None
            totals = binding.total(RUNS.name, RUNS.unit, RUNS.description)
            with TracerProvider().get_tracer("test").start_as_current_span("run"):
                totals.add(1, {PIPELINE_NAME: "p"})
            (metric,) = exported(reader, RUNS.name)
            return sum(len(p.exemplars) for p in metric.data.data_points)
        finally:
            runtime.close()
            provider.shutdown()

    assert exemplars([]) == 1
    assert exemplars(flujo_views()) == 0
