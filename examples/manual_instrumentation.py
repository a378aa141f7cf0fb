"""Manual instrumentation: your own MeterProvider, your own executor, no collector needed.

    python examples/manual_instrumentation.py

Prints every point of both executors after a short workload, read from an
InMemoryMetricReader: executor, metric{attributes} (an ``executions`` row's outcome, a
circuit-breaker state), value and unit. To send them to a collector instead, give the
MeterProvider a ``PeriodicExportingMetricReader(OTLPMetricExporter())`` (from
``opentelemetry.exporter.otlp.proto.grpc.metric_exporter``).
"""

import asyncio

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from opentelemetry.instrumentation.flujo import (
    FlujoInstrumentor,
    flujo_views,
    instrument_executor,
)
from opentelemetry.instrumentation.flujo.tools.demo import (
    WARM_UP_S,
    ReferenceExecutor,
    run_workload,
)


class MyExecutor:
    """Any object with get_optimization_stats() works; missing stats are simply absent."""

    def get_optimization_stats(self) -> dict[str, dict[str, float]]:
        # Healthy: 380 of 500 entries is under the default warning limit (80 % of capacity).
        return {"cache": {"hit_rate": 87.5, "size": 380, "capacity": 500},
                "execution": {"avg_time_ms": 12.0, "total_executions": 1000,
                              "successful_executions": 990, "failed_executions": 10}}


def main() -> None:
    reader = InMemoryMetricReader()
    # flujo_views(): every name's points kept, no dead exemplar reservoirs (docs/configuration.md).
    provider = MeterProvider(metric_readers=[reader], views=flujo_views())
    FlujoInstrumentor().instrument(meter_provider=provider)

    reference = ReferenceExecutor()
    mine = MyExecutor()
    instrument_executor(reference, name="reference")
    instrument_executor(mine, name="mine")
    # Read once warm: a cold cache's first look-ups all miss (WARM_UP_S says why).
    asyncio.run(run_workload(reference, duration_s=max(1.0, WARM_UP_S)))

    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    attributes = dict(point.attributes or {})
                    name = attributes.pop("flujo.executor.name", "")
                    shown = ",".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in attributes.items())
                    label = f"{metric.name}{{{shown}}}" if shown else metric.name
                    if hasattr(point, "value"):
                        print(f"{name:10} {label:62} {point.value:>12.6g} {metric.unit}")
    provider.shutdown()


if __name__ == "__main__":
    main()
