"""Custom thresholds and a custom alert handler: the monitoring guide's PerformanceMonitor,
AlertManager and AlertHandler, without a polling loop of your own.

    python examples/custom_thresholds.py

The guide polls get_optimization_stats() every 10 s and compares by hand; here the
thresholds are evaluated on every metric collection, exported as metrics
(flujo.executor.threshold.*), and each state change calls your handler on its own thread.
"""

import logging
import time

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from opentelemetry.instrumentation.flujo import (
    AlertEvent,
    FlujoInstrumentor,
    add_alert_handler,
    flujo_views,
    instrument_executor,
    set_thresholds,
)


class MyExecutor:
    """Reports what the guide's examples report; the test below drives its memory."""

    def __init__(self) -> None:
        self.usage_mb = 300.0

    def get_optimization_stats(self) -> dict[str, dict[str, float]]:
        return {"memory": {"usage_mb": self.usage_mb},
                "cache": {"hit_rate": 85.0},
                "error_handling": {"error_rate": 2.0}}


# The guide's AlertManager levels, stricter for memory, in the guide's own units.
# (The same text works as OTEL_PYTHON_FLUJO_THRESHOLDS, or as a TOML file.)
set_thresholds("memory.usage: warning>400MB, critical>600MB; "
               "execution.avg_duration: warning>1000ms, critical>5000ms; "
               "cache.hit_ratio: warning<30%, critical<10%")


@add_alert_handler
def reduce_concurrency(event: AlertEvent) -> None:
    """The guide's custom handler: act on critical memory pressure."""
    print(f"handler: {event.message}")
    if event.new_state == "critical" and event.metric == "flujo.executor.memory.usage":
        print("handler: reducing concurrency (memory pressure)")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    reader = InMemoryMetricReader()  # stands in for the periodic OTLP exporter
    provider = MeterProvider(metric_readers=[reader], views=flujo_views())
    FlujoInstrumentor().instrument(meter_provider=provider)
    executor = MyExecutor()
    instrument_executor(executor, name="api")

    for usage_mb in (300, 450, 700, 350):  # ok -> warning -> critical -> ok
        executor.usage_mb = usage_mb
        reader.get_metrics_data()  # one collection: evaluated, alerts raised
        time.sleep(0.1)  # handlers run on their own threads
    provider.shutdown()


if __name__ == "__main__":
    main()
