"""Manual instrumentation: your own MeterProvider, your own executor, no collector needed.

    python examples/manual_instrumentation.py

Prints every metric of the reference executor after a short workload. Swap the
ConsoleMetricExporter for an OTLPMetricExporter to send them to a collector.
"""

import asyncio

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from opentelemetry.instrumentation.flujo import (
    FlujoInstrumentor,
    flujo_views,
    instrument_executor,
)
from opentelemetry.instrumentation.flujo.tools.demo import ReferenceExecutor, run_workload


class MyExecutor:
    """Any object with get_optimization_stats() works; missing stats are simply absent."""

    def get_optimization_stats(self) -> dict[str, dict[str, float]]:
        return {"cache": {"hit_rate": 87.5, "size": 420, "capacity": 500},
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
    asyncio.run(run_workload(reference, duration_s=1.0))

    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    name = point.attributes.get("flujo.executor.name", "")
                    if hasattr(point, "value"):
                        print(f"{name:10} {metric.name:50} {point.value:>16.6g} {metric.unit}")
    provider.shutdown()


if __name__ == "__main__":
    main()
