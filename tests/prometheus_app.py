"""The application of the end-to-end Prometheus test, run as a subprocess.

Two instrumented executors, exposed at /metrics by opentelemetry-exporter-prometheus:
``static`` reports the stats in STATS_FILE (the test rewrites it), ``reference`` is
the ReferenceExecutor under a workload whose failure ratio is read from
CONTROL_FILE. Prints the HTTP port, then runs until terminated.

    python prometheus_app.py STATS_FILE CONTROL_FILE
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import start_http_server

from opentelemetry.instrumentation.flujo import instrument_executor
from opentelemetry.instrumentation.flujo.tools.demo import ReferenceExecutor, run_workload


class FileExecutor:
    def __init__(self, path: Path) -> None:
        self.path = path

    def get_optimization_stats(self) -> Any:
        return json.loads(self.path.read_text(encoding="utf-8"))


async def drive(executor: ReferenceExecutor, control: Path) -> None:
    while True:
        failure_ratio = json.loads(control.read_text(encoding="utf-8"))["failure_ratio"]
        await run_workload(executor, 0.2, failure_ratio, burst=4)
        await asyncio.sleep(0.05)


def main() -> None:
    stats, control = Path(sys.argv[1]), Path(sys.argv[2])
    provider = MeterProvider(metric_readers=[PrometheusMetricReader()])
    # Executors are held by weak reference: keep both alive.
    static, reference = FileExecutor(stats), ReferenceExecutor()
    instrument_executor(static, "static", meter_provider=provider)
    instrument_executor(reference, "reference", meter_provider=provider)
    server, _ = start_http_server(0, addr="127.0.0.1")
    print(server.server_port, flush=True)
    asyncio.run(drive(reference, control))


if __name__ == "__main__":
    main()
