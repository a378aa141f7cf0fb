"""The guide's LiveDashboard and PerformanceMonitor, in process: a rich dashboard of every
instrumented executor, next to the application, with threshold status coloured.

    python examples/live_dashboard.py [seconds]

The dashboard has its own MeterProvider and reader, so it works beside whatever
provider exports your metrics. To watch another process instead, run
``flujo-otel top`` and point its OTLP/HTTP exporter at it.
"""

import asyncio
import sys

from opentelemetry.instrumentation.flujo import instrument_executor
from opentelemetry.instrumentation.flujo.tools.demo import ReferenceExecutor, run_workload
from opentelemetry.instrumentation.flujo.tools.top import Dashboard


async def main(seconds: float) -> None:
    executor = ReferenceExecutor()
    instrument_executor(executor, name="checkout")
    dashboard = Dashboard(title="live_dashboard.py")
    dashboard.start(refresh_s=0.5)  # refreshes in a thread; the app keeps its event loop
    try:
        await run_workload(executor, duration_s=seconds)
    finally:
        dashboard.stop()


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0))
