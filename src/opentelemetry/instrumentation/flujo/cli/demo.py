"""``flujo-otel demo``: the reference executor under a synthetic workload, instrumented.

Exports per the standard environment when an OTLP endpoint or exporter is configured;
always shows the metrics in the terminal, so it needs no collector.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from opentelemetry.instrumentation.flujo.cli.render import table
from opentelemetry.instrumentation.flujo.demo import ReferenceExecutor, run_workload
from opentelemetry.instrumentation.flujo.runtime import instrument_executor
from opentelemetry.instrumentation.flujo.sdk_setup import build_meter_provider

_EXPORT_VARIABLES = (
    "OTEL_METRICS_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
)


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("demo", help="run the reference executor, instrumented")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds to run (10)")
    parser.add_argument("--interval", type=float, default=2.0,
                        help="seconds between terminal refreshes (2)")
    parser.add_argument("--failure-ratio", type=float, default=0.05)
    parser.set_defaults(run=run)


def demo_meter_provider(view: InMemoryMetricReader) -> MeterProvider:
    exporting = any(os.environ.get(name) for name in _EXPORT_VARIABLES)
    environ = dict(os.environ) if exporting else {"OTEL_METRICS_EXPORTER": "none"}
    return build_meter_provider(environ, extra_readers=[view])


async def _show(view: InMemoryMetricReader, interval: float, until: float) -> None:
    while time.monotonic() < until:
        await asyncio.sleep(interval)
        print(f"\n--- flujo-otel demo, {time.strftime('%H:%M:%S')} ---")
        print(table(view.get_metrics_data()), flush=True)


async def _main(args: argparse.Namespace) -> int:
    view = InMemoryMetricReader()
    provider = demo_meter_provider(view)
    executor = ReferenceExecutor()
    instrument_executor(executor, "demo", meter_provider=provider)
    until = time.monotonic() + args.duration
    shower = asyncio.create_task(_show(view, args.interval, until))
    attempted = await run_workload(executor, args.duration, args.failure_ratio)
    await shower
    provider.shutdown()
    print(f"\n{attempted} executions attempted")
    return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_main(args))
