"""The guide's LiveDashboard and PerformanceMonitor, in process: a rich dashboard of every
instrumented executor, next to the application, with threshold status coloured.

    python examples/live_dashboard.py [seconds]

The dashboard has its own MeterProvider and reader, so it works beside whatever
provider exports your metrics. To watch another process instead, run
``flujo-otel top`` and point the app's OTLP exporter at it (gRPC on 4317 or HTTP on
4318, its defaults).
"""

import asyncio
import contextlib
import sys

from opentelemetry.instrumentation.flujo import instrument_executor
from opentelemetry.instrumentation.flujo.tools.demo import (
    WARM_UP_S,
    ReferenceExecutor,
    run_workload,
)
from opentelemetry.instrumentation.flujo.tools.top import Dashboard


async def main(seconds: float) -> None:
    executor = ReferenceExecutor()
    workload = asyncio.create_task(run_workload(executor, duration_s=seconds))
    # Observed once warm: the first look-ups of a cold cache all miss, a 0 % hit ratio
    # that is a start, not a fault (the threshold would alert on it).
    await asyncio.sleep(min(WARM_UP_S, seconds))
    instrument_executor(executor, name="checkout")
    dashboard = Dashboard(title="live_dashboard.py · Ctrl-C to quit")
    dashboard.start(refresh_s=0.5)  # refreshes in a thread; the app keeps its event loop
    try:
        await workload
    finally:
        dashboard.stop()


if __name__ == "__main__":
    # Ctrl-C: the dashboard's last frame stays on screen, no traceback under it.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0))
