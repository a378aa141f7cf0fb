"""Threshold metrics over real OTLP/HTTP: names, units, kinds and attributes on the wire."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

from opentelemetry.instrumentation.flujo._internal.catalog import (
    MIB,
    THRESHOLD_PREFIX,
    THRESHOLD_STATUS,
)
from opentelemetry.instrumentation.flujo._internal.config import load_config
from opentelemetry.instrumentation.flujo._internal.runtime import reset_runtime

from conftest import StaticExecutor
from receivers import HttpReceiver, Point, latest


def test_threshold_metrics_arrive_over_otlp() -> None:
    runtime = reset_runtime(load_config(
        {"OTEL_PYTHON_FLUJO_THRESHOLDS": "cache.evictions: warning>5/s"}))
    executor = StaticExecutor({"memory": {"usage_mb": 900}, "cache": {
        "hit_rate": 20, "size": 50, "capacity": 100, "evictions": 3}})
    runtime.registry.add(executor, "api")
    with HttpReceiver() as receiver:
        reader = PeriodicExportingMetricReader(
            OTLPMetricExporter(endpoint=receiver.endpoint + "/v1/metrics"),
            export_interval_millis=60_000)
        provider = MeterProvider(metric_readers=[reader])
        runtime.bind(provider)
        provider.force_flush()
        provider.force_flush()  # the second collection has a window for the rate rule
        points = receiver.wait_for(lambda ps: sum(p.metric == THRESHOLD_STATUS for p in ps) > 12)
        provider.shutdown()
    runtime.deactivate()

    def one(metric: str, **attributes: str) -> Point:
        return latest(points, metric, **{"flujo.executor.name": "api", **attributes})

    usage = one(THRESHOLD_PREFIX + "memory.usage", **{"flujo.threshold.level": "critical"})
    assert (usage.unit, usage.kind, usage.value) == ("By", "gauge", 800 * MIB)
    hit = one(THRESHOLD_PREFIX + "cache.hit_ratio", **{"flujo.threshold.level": "warning"})
    assert (hit.unit, hit.value) == ("1", 0.3)
    size = one(THRESHOLD_PREFIX + "cache.size", **{"flujo.threshold.level": "warning"})
    assert (size.unit, size.value) == ("{entry}", 80.0)  # 0.8 x cache.max, multiplied out
    rate = one(THRESHOLD_PREFIX + "cache.evictions", **{"flujo.threshold.level": "warning"})
    assert (rate.unit, rate.value) == ("{eviction}/s", 5.0)

    status = {(p.attributes["flujo.threshold.metric"], p.attributes["flujo.threshold.state"]):
              p.value for p in points if p.metric == THRESHOLD_STATUS
              and p.time_unix_nano == max(q.time_unix_nano for q in points)}
    assert status[("flujo.executor.memory.usage", "critical")] == 1
    assert status[("flujo.executor.memory.usage", "ok")] == 0
    assert status[("flujo.executor.cache.hit_ratio", "warning")] == 1
    assert status[("flujo.executor.cache.size", "ok")] == 1
    assert status[("flujo.executor.cache.evictions", "ok")] == 1  # 0 per second since
    assert ("flujo.executor.queue.size", "ok") not in status  # absent: no status point
    st = one(THRESHOLD_STATUS, **{"flujo.threshold.metric": "flujo.executor.memory.usage",
                                  "flujo.threshold.state": "critical"})
    assert (st.unit, st.kind, st.is_monotonic) == ("1", "sum", False)
