"""Fault matrix 9: a source whose counters reset (a restart) under delta temporality.

Exported through the real OTLP exporter configured by
OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta to a real receiver.
"""

from __future__ import annotations

from itertools import pairwise

import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

from faults import EXECUTIONS, stats
from opentelemetry.instrumentation.flujo import instrument_executor
from opentelemetry.instrumentation.flujo._internal.runtime import Runtime

from conftest import StaticExecutor
from receivers import GrpcReceiver

# What the executor reports at each export: a restart after 20, another after 8.
RAW = [10, 20, 5, 8, 2, 2, 30]
# What is exported: each reset adds the value before it as an offset.
MONOTONIC = [10, 20, 25, 28, 30, 30, 58]


def test_counter_resets_never_export_a_negative_delta(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta")
    with GrpcReceiver() as receiver:
        exporter = OTLPMetricExporter(endpoint=receiver.endpoint, insecure=True)
        reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
        provider = MeterProvider(metric_readers=[reader])
        runtime.bind(provider)
        executor = StaticExecutor()
        instrument_executor(executor, "restarting")
        # a second executor of the same name that goes away: its total must stay
        leaving = StaticExecutor(stats(100))
        instrument_executor(leaving, "restarting")
        for exported, raw in enumerate(RAW, start=1):
            executor.stats = stats(raw)
            if exported == 4:
                del leaving
            assert provider.force_flush()
            receiver.wait_for(lambda points, n=exported: len(_deltas(points)) == n)
        points = receiver.points()
        provider.shutdown()
    deltas = _deltas(points)
    assert all(p.temporality == AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
               for p in points if p.metric == EXECUTIONS)
    assert all(d >= 0 for d in deltas), deltas
    # the deltas add up to the true total: every execution, counted once
    assert sum(deltas) == MONOTONIC[-1] + 100
    assert deltas == [110] + [b - a for a, b in pairwise(MONOTONIC)]


def _deltas(points: list) -> list[float]:  # type: ignore[type-arg]
    ordered = sorted((p for p in points if p.metric == EXECUTIONS
                      and p.attributes.get("flujo.execution.outcome") == "success"),
                     key=lambda p: p.time_unix_nano)
    return [p.value for p in ordered]
