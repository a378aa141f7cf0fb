"""Fault matrix 11: instrument twice, uninstrument twice, instrument after uninstrument,
two MeterProviders. (Executor names' length limit and cap: tests/test_registry.py.)"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from faults import EXECUTIONS, stats
from opentelemetry.instrumentation.flujo import FlujoInstrumentor, instrument_executor
from opentelemetry.instrumentation.flujo._internal.runtime import Runtime, get_runtime

from conftest import StaticExecutor, collect, value


@pytest.fixture
def instrumentor(runtime: Runtime) -> Iterator[FlujoInstrumentor]:
    instrumentor = FlujoInstrumentor()
    yield instrumentor
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


def _provider() -> tuple[MeterProvider, InMemoryMetricReader]:
    reader = InMemoryMetricReader()
    return MeterProvider(metric_readers=[reader]), reader


def _success(reader: InMemoryMetricReader, name: str = "svc") -> Any:
    points = collect(reader)
    try:
        return value(points, EXECUTIONS, flujo__executor__name=name,
                     flujo__execution__outcome="success")
    except KeyError:
        return None


def test_instrument_uninstrument_cycles(
    instrumentor: FlujoInstrumentor, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    provider, reader = _provider()
    executor = StaticExecutor(stats(3))
    with caplog.at_level(logging.DEBUG):
        instrumentor.instrument(meter_provider=provider)
        instrumentor.instrument(meter_provider=provider)  # second: no-op
        instrument_executor(executor, "svc")
        assert _success(reader) == 3
        assert len(runtime.bindings()) == 1  # instruments created once

        instrumentor.uninstrument()
        instrumentor.uninstrument()  # second: no-op
        calls = executor.calls
        assert _success(reader) is None  # nothing observed while uninstrumented
        assert executor.calls == calls  # and no stats read either

        assert runtime.closed  # uninstrument() ended it: its executors went with it
        executor.stats = stats(8)
        instrumentor.instrument(meter_provider=provider)  # a fresh runtime: works again
        assert _success(reader) is None
        assert instrument_executor(executor, "svc")
        assert _success(reader) == 8
        assert get_runtime() is not runtime and len(get_runtime().bindings()) == 1
    # no duplicate-instrument warnings from the SDK, nothing raised into the host
    assert not [r for r in caplog.records
                if r.levelno >= logging.WARNING and "already" not in r.getMessage()]
    provider.shutdown()


def test_two_meter_providers_each_get_every_point(
    instrumentor: FlujoInstrumentor, runtime: Runtime
) -> None:
    (first, first_reader), (second, second_reader) = _provider(), _provider()
    executor = StaticExecutor(stats(4))
    instrumentor.instrument(meter_provider=first)
    instrument_executor(executor, "svc", meter_provider=second)
    assert _success(first_reader) == 4
    assert _success(second_reader) == 4
    assert executor.calls == 2  # one read per reader's collection, never a stale one
    executor.stats = stats(9)
    assert _success(second_reader) == 9
    assert _success(first_reader) == 9
    first.shutdown()
    second.shutdown()
