"""``flujo-otel demo``: the reference executor under a synthetic workload, instrumented.

Exports per the standard environment when an OTLP endpoint or exporter is configured;
always shows the metrics in the terminal, so it needs no collector: the live dashboard
in a terminal (with rich installed), plain text otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from opentelemetry.instrumentation.flujo import instrument_executor
from opentelemetry.instrumentation.flujo._internal.otel.sdk_setup import build_meter_provider
from opentelemetry.instrumentation.flujo._internal.samples import from_metrics_data
from opentelemetry.instrumentation.flujo.tools.demo import ReferenceExecutor, run_workload
from opentelemetry.instrumentation.flujo.tools.top.board import Board
from opentelemetry.instrumentation.flujo.tools.top.rows import plain_text

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


def _live_dashboard(view: InMemoryMetricReader, interval: float) -> Any | None:
    """The rich dashboard, started, when stdout is a terminal and rich is installed."""
    if not sys.stdout.isatty():
        return None
    try:
        from opentelemetry.instrumentation.flujo.tools.top import Dashboard
    except ImportError:
        return None
    dashboard = Dashboard(view, title="flujo-otel demo")
    dashboard.start(interval)
    return dashboard


async def _show(view: InMemoryMetricReader, interval: float, until: float) -> None:
    board = Board()
    while time.monotonic() < until:
        await asyncio.sleep(interval)
        board.update(from_metrics_data(view.get_metrics_data()), replace=True)
        print(f"\n--- flujo-otel demo, {time.strftime('%H:%M:%S')} ---")
        print(plain_text(board), flush=True)


async def _main(args: argparse.Namespace) -> int:
    view = InMemoryMetricReader()
    provider = demo_meter_provider(view)
    executor = ReferenceExecutor()
    instrument_executor(executor, "demo", meter_provider=provider)
    until = time.monotonic() + args.duration
    dashboard = _live_dashboard(view, args.interval)
    shower = None if dashboard else asyncio.create_task(_show(view, args.interval, until))
    attempted = await run_workload(executor, args.duration, args.failure_ratio)
    if shower is not None:
        await shower
    if dashboard is not None:
        dashboard.stop()
    provider.shutdown()
    print(f"\n{attempted} executions attempted")
    return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_main(args))
