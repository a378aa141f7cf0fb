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
from opentelemetry.instrumentation.flujo._internal.otel.sdk_setup import (
    build_meter_provider,
    missing_exporters,
)
from opentelemetry.instrumentation.flujo._internal.runtime import get_runtime
from opentelemetry.instrumentation.flujo._internal.samples import from_metrics_data
from opentelemetry.instrumentation.flujo.tools.cli.errors import UsageError
from opentelemetry.instrumentation.flujo.tools.demo import (
    WARM_UP_S,
    ReferenceExecutor,
    Tally,
    run_workload,
)
from opentelemetry.instrumentation.flujo.tools.demo.workload import HEALTHY_FAILURE_RATIO
from opentelemetry.instrumentation.flujo.tools.top.board import Board
from opentelemetry.instrumentation.flujo.tools.top.rows import plain_text

# One point per export: at the SDK's 60 s default a short demo records only the export
# at exit, and `flujo-otel report` can judge nothing from one point.
DEMO_EXPORT_INTERVAL_MS = "1000"
QUIT_HINT = "Ctrl-C to quit"
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
    parser.add_argument("--failure-ratio", type=float, default=HEALTHY_FAILURE_RATIO,
                        help=f"fraction of attempts that fail ({HEALTHY_FAILURE_RATIO:g}); "
                             "raise it to set off error alerts on purpose")
    parser.set_defaults(run=run)


def headline(failure_ratio: float) -> str:
    """What the demo does, so an alert it causes on purpose is not taken for a fault."""
    if failure_ratio <= HEALTHY_FAILURE_RATIO:
        return f"flujo-otel demo (healthy: {failure_ratio:.0%} of attempts fail, most retried)"
    return f"flujo-otel demo ({failure_ratio:.0%} of attempts fail on purpose: alerts ahead)"


def demo_meter_provider(view: InMemoryMetricReader) -> MeterProvider:
    exporting = any(os.environ.get(name) for name in _EXPORT_VARIABLES)
    environ = dict(os.environ) if exporting else {"OTEL_METRICS_EXPORTER": "none"}
    missing = missing_exporters(environ)
    if missing:  # asked to export, and cannot: say so rather than run without it
        raise UsageError(missing[0])
    if exporting:  # this process's own environment: the SDK's reader reads os.environ
        os.environ.setdefault("OTEL_METRIC_EXPORT_INTERVAL", DEMO_EXPORT_INTERVAL_MS)
    return build_meter_provider(get_runtime().config, environ, extra_readers=[view])


def _live_dashboard(view: InMemoryMetricReader, interval: float, title: str) -> Any | None:
    """The rich dashboard, started, when stdout is a terminal and rich is installed."""
    if not sys.stdout.isatty():
        return None
    try:
        from opentelemetry.instrumentation.flujo.tools.top import Dashboard
    except ImportError:
        return None
    dashboard = Dashboard(view, title=title)
    dashboard.start(interval)
    return dashboard


async def _show(view: InMemoryMetricReader, interval: float, until: float,
                title: str) -> None:
    board = Board()
    while time.monotonic() < until:
        await asyncio.sleep(interval)
        board.update(from_metrics_data(view.get_metrics_data()), replace=True)
        print(f"\n--- {title}, {time.strftime('%H:%M:%S')} ---")
        print(plain_text(board), flush=True)


def summary(tally: Tally, execution: dict[str, Any]) -> str:
    """The workload's own counts, reconciled with the exported ``executions``: requests
    answered from the cache or refused by the circuit breaker never execute."""
    ok, failed = execution.get("successful_executions", 0), execution.get("failed_executions", 0)
    return (f"{tally.requests} requests: {tally.cached} answered from the cache, "
            f"{tally.refused} refused by the circuit breaker,\n"
            f"{tally.executed} executed: {ok} succeeded, {failed} failed "
            "(as the executions rows count them)")


async def _main(args: argparse.Namespace) -> int:
    executor = ReferenceExecutor()
    title = f"{headline(args.failure_ratio)} · {QUIT_HINT}"
    until = time.monotonic() + args.duration
    tally = Tally()
    workload = asyncio.create_task(
        run_workload(executor, args.duration, args.failure_ratio, tally=tally))
    provider: MeterProvider | None = None
    dashboard: Any | None = None
    shower: asyncio.Task[None] | None = None
    try:
        # Readings (the dashboard's and any exporter's) start once the cache and the
        # object pool are warm (WARM_UP_S says why).
        await asyncio.sleep(min(WARM_UP_S, args.duration))
        view = InMemoryMetricReader()
        provider = demo_meter_provider(view)
        instrument_executor(executor, "demo", meter_provider=provider)
        dashboard = _live_dashboard(view, args.interval, title)
        if dashboard is None:
            shower = asyncio.create_task(_show(view, args.interval, until, title))
        await workload
        if shower is not None:
            await shower
    # Ctrl-C, the normal way to end it early: Python >= 3.11 cancels this task, 3.10
    # raises KeyboardInterrupt wherever it runs.
    except (asyncio.CancelledError, KeyboardInterrupt):
        for task in (workload, shower):
            if task is not None:
                task.cancel()
        # The burst in flight is cancelled: its executions are in the stats, not the tally.
        print("interrupted: the last burst's requests were cancelled mid-flight")
    finally:
        if dashboard is not None:
            dashboard.stop()  # after a last refresh: its counts are the final ones
        if provider is not None:
            provider.shutdown()
    print(summary(tally, executor.get_optimization_stats()["execution"]))
    return 0


def run(args: argparse.Namespace) -> int:
    """0 when Ctrl-C ends the demo early too (after the closing counts): quitting is
    not a failure, and `make demo` then prints no "Error 130"."""
    try:
        return asyncio.run(_main(args))
    except KeyboardInterrupt:  # Python 3.10: asyncio.run re-raises after _main's cleanup
        return 0
