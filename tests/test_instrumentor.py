"""FlujoInstrumentor in contrib style, without flujo installed in this environment."""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from opentelemetry.instrumentation.flujo import FlujoInstrumentor, instrument_executor
from opentelemetry.instrumentation.flujo._internal.runtime import Runtime

from conftest import StaticExecutor, collect, full_stats


def test_entry_points_are_registered() -> None:
    instrumentors = {ep.name: ep.value for ep in entry_points(group="opentelemetry_instrumentor")}
    assert instrumentors["flujo"] == "opentelemetry.instrumentation.flujo:FlujoInstrumentor"
    variables = {ep.name: ep.value
                 for ep in entry_points(group="opentelemetry_environment_variables")}
    assert variables["flujo"] == "opentelemetry.instrumentation.flujo.environment_variables"
    assert list(FlujoInstrumentor().instrumentation_dependencies()) == ["flujo >= 0.6, < 0.7"]


def test_instrument_without_flujo_serves_instrument_executor(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    instrumentor = FlujoInstrumentor()
    with caplog.at_level(logging.WARNING):
        instrumentor.instrument(meter_provider=provider)
    try:
        assert caplog.text == ""  # a missing flujo is not worth a warning
        executor = StaticExecutor(full_stats())
        instrument_executor(executor, "x")
        assert any(n == "flujo.executor.cache.size" for n, _ in collect(reader))
        instrumentor.uninstrument()
        # Nothing observed: only the cumulative histogram of the one collection made
        # while instrumented is left
        (((name, _), duration),) = collect(reader).items()
        assert (name, duration.count) == ("flujo.otel.collection.duration", 1)
        assert not instrument_executor(executor, "x")  # refused while uninstrumented
        instrumentor.instrument(meter_provider=provider)  # a fresh runtime
        assert instrument_executor(executor, "x")
        assert any(n == "flujo.executor.cache.size" for n, _ in collect(reader))
        assert executor.calls == 2  # nothing read while uninstrumented
    finally:
        instrumentor.uninstrument()
