from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from opentelemetry.instrumentation.flujo.runtime import Runtime, reset_runtime

sys.path.insert(0, str(Path(__file__).parent))

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"


def require(available: bool, what: str) -> None:
    """Skip when a component is missing on a developer machine; fail under CI=true."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true")
    pytest.skip(f"{what} is not available")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("OTEL_PYTHON_FLUJO_", "OTEL_EXPORTER_", "OTEL_METRIC")):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    rt = reset_runtime()
    yield rt
    rt.deactivate()
    rt.registry.clear()


@pytest.fixture
def provider_and_reader(runtime: Runtime) -> Iterator[tuple[MeterProvider, InMemoryMetricReader]]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    runtime.bind(provider)
    yield provider, reader
    provider.shutdown()


@pytest.fixture
def reader(provider_and_reader: tuple[MeterProvider, InMemoryMetricReader]) -> InMemoryMetricReader:
    return provider_and_reader[1]


def collect(reader: InMemoryMetricReader) -> dict[tuple[str, frozenset[tuple[str, Any]]], Any]:
    """{(metric name, attributes): value} for one collection (histograms: the point)."""
    data = reader.get_metrics_data()
    out: dict[tuple[str, frozenset[tuple[str, Any]]], Any] = {}
    if data is None:
        return out
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    key = (metric.name, frozenset(point.attributes.items()))
                    out[key] = getattr(point, "value", point)
    return out


def units(reader: InMemoryMetricReader) -> dict[str, tuple[str, str]]:
    """{metric name: (unit, data type name)} for one collection."""
    data = reader.get_metrics_data()
    out = {}
    if data is not None:
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    out[metric.name] = (metric.unit or "", type(metric.data).__name__)
    return out


def value(points: dict[tuple[str, frozenset[tuple[str, Any]]], Any], metric: str,
          **attributes: str) -> Any:
    wanted = {k.replace("__", "."): v for k, v in attributes.items()}
    for (name, attrs), v in points.items():
        if name == metric and wanted.items() <= dict(attrs).items():
            return v
    raise KeyError(f"{metric} {wanted} not in {sorted({n for n, _ in points})}")


class StaticExecutor:
    """A duck-typed executor that reports whatever ``stats`` holds and counts its reads."""

    def __init__(self, stats: Any = None) -> None:
        self.stats = stats if stats is not None else {}
        self.calls = 0

    def get_optimization_stats(self) -> Any:
        self.calls += 1
        return self.stats
