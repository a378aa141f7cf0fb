"""Threshold metrics over real OTLP/HTTP: names, units, kinds and attributes on the wire,
and the series economy of issue 12: every name's points through SDK defaults (no views,
as under ``opentelemetry-instrument``), at most 60 points and 4 KB per name."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, PeriodicExportingMetricReader

from opentelemetry.instrumentation.flujo._internal.catalog import (
    EXECUTOR_NAME,
    MIB,
    THRESHOLD_PREFIX,
    THRESHOLD_STATUS_PREFIX,
    THRESHOLD_STATUS_UNIT,
)
from opentelemetry.instrumentation.flujo._internal.config import Config, load_config
from opentelemetry.instrumentation.flujo._internal.runtime import Runtime
from opentelemetry.instrumentation.flujo._internal.thresholds.rules import default_rules

from conftest import StaticExecutor, full_stats, with_runs
from receivers import HttpReceiver, Point, latest

NAMES = 100  # the default cap (OTEL_PYTHON_FLUJO_MAX_EXECUTOR_NAMES)


def over_otlp(runtime: Runtime, collections: int,
              until: Callable[[list[Point]], bool]) -> list[Point]:
    """The points a real OTLP/HTTP receiver got from ``collections`` exports of
    ``runtime`` on a provider with SDK defaults (no views)."""
    with HttpReceiver() as receiver:
        reader = PeriodicExportingMetricReader(
            OTLPMetricExporter(endpoint=receiver.endpoint + "/v1/metrics"),
            export_interval_millis=60_000)
        provider = MeterProvider(metric_readers=[reader])
        runtime.bind(provider)
        for _ in range(collections):
            provider.force_flush()
        points = receiver.wait_for(until)
        provider.shutdown()
    runtime.close()
    return points


def test_threshold_metrics_arrive_over_otlp() -> None:
    # The second collection has a window for the rate rule: a second later on the
    # runtime's clock (a rate is only measured over a real interval).
    seconds = itertools.count()
    runtime = Runtime(load_config(
        {"OTEL_PYTHON_FLUJO_THRESHOLDS": "cache.evictions: warning>5/s"}),
        lambda: next(seconds) * 10**9)
    executor = StaticExecutor({"memory": {"usage_mb": 900}, "cache": {
        "hit_rate": 20, "size": 50, "capacity": 100, "evictions": 3}})
    runtime.registry.add(executor, "api")
    points = over_otlp(runtime, 2, lambda ps: any(
        p.metric == THRESHOLD_STATUS_PREFIX + "cache.evictions" for p in ps))
    last = max(p.time_unix_nano for p in points)

    def one(metric: str, **attributes: str) -> Point:
        return latest(points, metric, **attributes)

    # Fixed limits: once, without an executor name; relative ones per name.
    usage = one(THRESHOLD_PREFIX + "memory.usage", **{"flujo.threshold.level": "critical"})
    assert (usage.unit, usage.kind, usage.value) == ("By", "gauge", 800 * MIB)
    assert EXECUTOR_NAME not in usage.attributes
    hit = one(THRESHOLD_PREFIX + "cache.hit_ratio", **{"flujo.threshold.level": "warning"})
    assert (hit.unit, hit.value) == ("1", 0.3)
    size = one(THRESHOLD_PREFIX + "cache.size",
               **{EXECUTOR_NAME: "api", "flujo.threshold.level": "warning"})
    assert (size.unit, size.value) == ("{entry}", 80.0)  # 0.8 x cache.max, multiplied out
    rate = one(THRESHOLD_PREFIX + "cache.evictions", **{"flujo.threshold.level": "warning"})
    assert (rate.unit, rate.value) == ("{eviction}/s", 5.0)

    status = {p.metric.removeprefix(THRESHOLD_STATUS_PREFIX): p.value for p in points
              if p.metric.startswith(THRESHOLD_STATUS_PREFIX) and p.time_unix_nano == last}
    assert status == {"memory.usage": 2, "cache.hit_ratio": 1, "cache.size": 0,
                      "cache.evictions": 0}  # 0 per second since; absent metrics: no point
    st = one(THRESHOLD_STATUS_PREFIX + "memory.usage", **{EXECUTOR_NAME: "api"})
    assert (st.unit, st.kind, st.attributes) == (THRESHOLD_STATUS_UNIT, "gauge",
                                                 {EXECUTOR_NAME: "api"})


def test_sdk_defaults_keep_every_names_points_at_the_name_cap() -> None:
    """The zero-code configuration: a provider with no views and the SDK's default
    cardinality limit (2,000 per metric since 1.44), 100 names, every stat present and
    every default rule on, over real OTLP: nothing folded into ``otel.metric.overflow``."""
    runtime = Runtime(Config())
    # every stat: a flujo pipeline's spend and UsageLimits use too
    executors = [StaticExecutor(with_runs(full_stats())) for _ in range(NAMES)]
    for i, executor in enumerate(executors):
        runtime.registry.add(executor, f"pipeline-{i:03d}")
    points = over_otlp(runtime, 1, lambda ps: len(ps) > NAMES * 50)
    assert not [p for p in points if p.attributes.get("otel.metric.overflow")]
    per_name = Counter(p.attributes.get(EXECUTOR_NAME) for p in points)
    assert set(per_name) - {None} == {f"pipeline-{i:03d}" for i in range(NAMES)}
    assert max(n for name, n in per_name.items() if name) <= 64
    checked = {r.metric for r in default_rules()}
    for i in range(NAMES):
        name = f"pipeline-{i:03d}"
        assert {p.metric for p in points if p.attributes.get(EXECUTOR_NAME) == name and
                p.metric.startswith(THRESHOLD_STATUS_PREFIX)} == {
            THRESHOLD_STATUS_PREFIX + m.removeprefix("flujo.executor.") for m in checked}


def _export_bytes(names: int) -> int:
    try:
        from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
    except ImportError:  # older releases: the private path the exporters use
        from opentelemetry.exporter.otlp.proto.common._internal.metrics_encoder import (
            encode_metrics,
        )
    runtime = Runtime(Config())
    # The bench's executor (bench/subjects.py): every stat, executions all success or
    # failure. An executor that also reports an "other" outcome adds that point (~108 B).
    executors = [StaticExecutor(full_stats(execution__successful_executions=90,
                                           execution__failed_executions=10))
                 for _ in range(names)]
    for i, executor in enumerate(executors):
        runtime.registry.add(executor, f"executor-{i:05d}")
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    runtime.bind(provider)
    try:
        data = reader.get_metrics_data()
        return len(encode_metrics(data).SerializeToString())
    finally:
        runtime.close()
        provider.shutdown()


def test_at_most_4_kib_of_otlp_per_name_per_export() -> None:
    assert (_export_bytes(21) - _export_bytes(1)) / 20 <= 4096
