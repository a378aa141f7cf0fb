"""Histogram points kept for the next collection (otel/pending.py): the flujo execution,
run and GenAI histograms. They must export what the SDK's own Histogram exports for the
same records, in both temporalities, through the plugin's views and without them; keep
every exemplar the SDK would give; and lose no point when the runtime closes or the
reader never collects."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import (
    AlwaysOffExemplarFilter,
    AlwaysOnExemplarFilter,
    Histogram,
    MeterProvider,
)
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import INVALID_SPAN, get_current_span

from opentelemetry.instrumentation.flujo._internal.catalog import (
    EXECUTION_DURATION,
    EXECUTOR_NAME,
    OUTCOME,
    SCOPE,
)
from opentelemetry.instrumentation.flujo._internal.config import Config
from opentelemetry.instrumentation.flujo._internal.otel import pending
from opentelemetry.instrumentation.flujo._internal.otel.binding import Binding
from opentelemetry.instrumentation.flujo._internal.otel.pending import (
    PendingHistogram,
    exemplar_decision,
    never,
    sampled_span,
)
from opentelemetry.instrumentation.flujo._internal.otel.views import flujo_views
from opentelemetry.instrumentation.flujo._internal.runtime import Runtime

THREADS, RECORDS = 4, 1500
METRIC = EXECUTION_DURATION


def exported(reader: InMemoryMetricReader) -> list[Any]:
    data = reader.get_metrics_data()
    if data is None:
        return []
    return [m for rm in data.resource_metrics for sm in rm.scope_metrics
            if sm.scope.name == SCOPE for m in sm.metrics if m.name == METRIC.name]


def shape(metric: Any) -> dict[frozenset[tuple[str, Any]], tuple[Any, ...]]:
    """Each point's count, sum, min, max and buckets: all a histogram point says."""
    return {frozenset(p.attributes.items()): (p.count, round(p.sum, 9), p.min, p.max,
                                              tuple(p.bucket_counts))
            for p in metric.data.data_points}


def bound(runtime: Runtime, provider: MeterProvider) -> tuple[Binding, PendingHistogram]:
    binding = runtime.bind(provider)
    assert binding is not None
    return binding, binding.pending_histogram(METRIC.name, METRIC.unit, METRIC.description,
                                              METRIC.boundaries)


def attributes(name: str, outcome: str = "success") -> dict[str, str]:
    return {EXECUTOR_NAME: name, OUTCOME: outcome}


@pytest.mark.parametrize("temporality", [AggregationTemporality.CUMULATIVE,
                                         AggregationTemporality.DELTA])
@pytest.mark.parametrize("with_views", [True, False])
def test_pending_points_export_what_the_sdks_histogram_exports(
        temporality: AggregationTemporality, with_views: bool) -> None:
    preferred = {Histogram: temporality}
    ours_reader = InMemoryMetricReader(preferred_temporality=preferred)
    sdk_reader = InMemoryMetricReader(preferred_temporality=preferred)
    views = flujo_views() if with_views else []
    ours_provider = MeterProvider(metric_readers=[ours_reader], views=views)
    sdk_provider = MeterProvider(metric_readers=[sdk_reader], views=views)
    runtime = Runtime(Config())
    try:
        _, histogram = bound(runtime, ours_provider)
        sdk = sdk_provider.get_meter(SCOPE).create_histogram(
            METRIC.name, unit=METRIC.unit, description=METRIC.description,
            explicit_bucket_boundaries_advisory=list(METRIC.boundaries))
        # Equal sets in different dicts are one series, as the SDK makes them.
        one, same, two = attributes("a"), attributes("a"), attributes("b", "failure")

        def record(attrs: dict[str, str], base: float) -> None:
            for i in range(RECORDS):  # from several threads at once: no point is lost
                value = base * (i % 97 + 1)  # spread over the buckets
                histogram.record(value, attrs)
                sdk.record(value, attrs)

        for round_ in range(2):  # the second collection shows the temporality
            threads = [threading.Thread(target=record, args=(attrs, 0.001 * (round_ + 1)))
                       for attrs in (one, same, two, two)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            (ours,), (theirs,) = exported(ours_reader), exported(sdk_reader)
            assert shape(ours) == shape(theirs)
            counts = {0: 2 * RECORDS, 1: 2 * RECORDS if temporality is
                      AggregationTemporality.DELTA else 4 * RECORDS}
            assert shape(ours)[frozenset(two.items())][0] == counts[round_]
            assert ours.data.aggregation_temporality is temporality
    finally:
        runtime.close()
        ours_provider.shutdown()
        sdk_provider.shutdown()


class Counting:
    """An SDK histogram's stand-in that counts the records it is given."""

    def __init__(self) -> None:
        self.records: list[tuple[float, Any, Any]] = []

    def record(self, amount: float, attributes: Any = None, context: Any = None) -> None:
        self.records.append((amount, attributes, context))


def test_a_point_waits_for_the_collection_unless_it_would_carry_an_exemplar() -> None:
    sdk = Counting()
    histogram = PendingHistogram(sdk, sampled_span)  # type: ignore[arg-type]
    tracer = TracerProvider().get_tracer("t")
    unsampled = TracerProvider(sampler=ALWAYS_OFF).get_tracer("t")
    histogram.record(1.0, attributes("a"))
    with unsampled.start_as_current_span("not sampled"):
        histogram.record(2.0, attributes("a"))
    assert sdk.records == []  # no exemplar to give: kept for the collection
    with tracer.start_as_current_span("sampled") as span:
        histogram.record(3.0, attributes("a"))
        assert [r[0] for r in sdk.records] == [3.0]  # at once, in the span's context
        histogram.record(4.0, attributes("a"), context=Context())  # the SDK: the current
        assert [r[0] for r in sdk.records] == [3.0, 4.0]
        histogram.drain()  # a collection called from inside the span
    assert [r[0] for r in sdk.records] == [3.0, 4.0, 1.0, 2.0]
    # the drained points carry no span: the collection's is not theirs
    assert all(get_current_span(context) is INVALID_SPAN and context
               for _, _, context in sdk.records[2:])
    assert span.get_span_context().trace_flags.sampled


def test_exemplars_are_the_ones_the_sdk_would_give() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], views=flujo_views())
    runtime = Runtime(Config())
    tracer = TracerProvider().get_tracer("t")
    try:
        _, histogram = bound(runtime, provider)
        histogram.record(0.002, attributes("a"))
        with tracer.start_as_current_span("step") as span:
            histogram.record(0.004, attributes("a"))
            (metric,) = exported(reader)  # collected inside the span
        (point,) = metric.data.data_points
        assert point.count == 2
        (exemplar,) = point.exemplars
        assert exemplar.value == 0.004
        assert exemplar.trace_id == span.get_span_context().trace_id
    finally:
        runtime.close()
        provider.shutdown()


def test_which_providers_keep_points() -> None:
    reader = InMemoryMetricReader()
    with_reader = MeterProvider(metric_readers=[reader])
    assert exemplar_decision(with_reader) is sampled_span  # the SDK's default filter
    off = MeterProvider(metric_readers=[InMemoryMetricReader()],
                        exemplar_filter=AlwaysOffExemplarFilter())
    assert exemplar_decision(off) is never
    # Every point an exemplar candidate: recorded at once, as the SDK samples them.
    on = MeterProvider(metric_readers=[InMemoryMetricReader()],
                       exemplar_filter=AlwaysOnExemplarFilter())
    assert exemplar_decision(on) is None
    assert exemplar_decision(MeterProvider()) is None  # nothing would collect them
    for provider in (with_reader, off, on):
        provider.shutdown()


def test_always_on_exemplars_keep_their_own_time() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], exemplar_filter=AlwaysOnExemplarFilter())
    runtime = Runtime(Config())
    try:
        _, histogram = bound(runtime, provider)
        before = time.time_ns()
        histogram.record(0.002, attributes("a"))
        after = time.time_ns()
        (metric,) = exported(reader)
        (exemplar,) = metric.data.data_points[0].exemplars
        assert before <= exemplar.time_unix_nano <= after
    finally:
        runtime.close()
        provider.shutdown()


def test_past_the_capacity_points_are_recorded_at_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pending, "CAPACITY", 50)
    sdk = Counting()
    histogram = PendingHistogram(sdk, never)  # type: ignore[arg-type]
    for i in range(80):
        histogram.record(float(i), attributes("a"))
    assert [r[0] for r in sdk.records] == [float(i) for i in range(50, 80)]
    histogram.drain()
    assert sorted(r[0] for r in sdk.records) == [float(i) for i in range(80)]
    histogram.record(1.0, attributes("a"))  # room again after the collection
    assert len(sdk.records) == 80


def test_closing_the_runtime_records_what_was_pending() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    first, second = Runtime(Config()), Runtime(Config())
    try:
        _, histogram = bound(first, provider)
        histogram.record(0.5, attributes("a"))
        first.close()  # uninstrument(): nothing left waiting for a collection
        histogram.record(0.25, attributes("a"))  # a wrapper still running: at once
        (metric,) = exported(reader)
        assert shape(metric)[frozenset(attributes("a").items())][:2] == (2, 0.75)
        # A new runtime serving the provider keeps points for its collections again.
        _, again = bound(second, provider)
        assert again is histogram
        sdk = Counting()
        kept = PendingHistogram(sdk, never)  # type: ignore[arg-type]
        kept.drain(stop=True)
        kept.resume()
        kept.record(1.0, attributes("a"))
        assert sdk.records == []
        histogram.record(0.125, attributes("a"))
        (metric,) = exported(reader)
        assert shape(metric)[frozenset(attributes("a").items())][:2] == (3, 0.875)
    finally:
        second.close()
        provider.shutdown()


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_keeps_the_points_and_can_record() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    runtime = Runtime(Config())
    try:
        _, histogram = bound(runtime, provider)
        histogram.record(0.5, attributes("a"))
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: its copy of the pending point, and its own records
            code = 1
            try:
                histogram.record(0.25, attributes("a"))
                (metric,) = exported(reader)
                count = shape(metric)[frozenset(attributes("a").items())][0]
                os.write(write, str(count).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        _, status = os.waitpid(pid, 0)
        assert os.read(read, 100) == b"2" and os.waitstatus_to_exitcode(status) == 0
        os.close(read)
        (metric,) = exported(reader)  # the parent's own, once
        assert shape(metric)[frozenset(attributes("a").items())][0] == 1
    finally:
        runtime.close()
        provider.shutdown()


def test_points_reach_the_export_when_no_observable_is_reported() -> None:
    # The points are drained by the binding's callbacks: they must be recorded whether
    # or not a callback has anything to report, and at once where there is no callback.
    everything = Config(excluded_metrics=("*",))
    readers = InMemoryMetricReader(), InMemoryMetricReader()
    served_before = MeterProvider(metric_readers=[readers[0]])
    never_served = MeterProvider(metric_readers=[readers[1]])
    first, second, bare = Runtime(Config()), Runtime(everything), Runtime(everything)
    try:
        bound(first, served_before)  # its callbacks stay on the provider
        first.close()
        _, kept = bound(second, served_before)  # observes nothing, drains all the same
        _, direct = bound(bare, never_served)  # no callback at all
        sdk = Counting()
        assert PendingHistogram(sdk, None).deferring is False
        for histogram, reader in zip((kept, direct), readers, strict=True):
            histogram.record(0.5, attributes("a"))
            (metric,) = exported(reader)
            assert shape(metric)[frozenset(attributes("a").items())][:2] == (1, 0.5)
        assert kept.deferring and not direct.deferring
    finally:
        for runtime in (second, bare):
            runtime.close()
        served_before.shutdown()
        never_served.shutdown()
