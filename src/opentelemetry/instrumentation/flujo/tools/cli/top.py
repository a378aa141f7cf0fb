"""``flujo-otel top``: the live dashboard, fed by its own OTLP/HTTP receiver.

Point an app (``OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=http://127.0.0.1:4318/v1/metrics``,
``OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=http/protobuf``) or a collector's otlphttp
exporter at it. For a dashboard inside the app itself, use
``opentelemetry.instrumentation.flujo.tools.top.Dashboard``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from opentelemetry.instrumentation.flujo.tools.cli.errors import UsageError, require_extra


def parse_listen(raw: str) -> tuple[str, int]:
    host, sep, port = raw.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"{raw!r} is not HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "top", help="live dashboard of the metrics an app sends over OTLP/HTTP")
    parser.add_argument("--listen", type=parse_listen, default=("127.0.0.1", 4318),
                        metavar="HOST:PORT", help="where to receive OTLP/HTTP (127.0.0.1:4318)")
    parser.add_argument("--once", action="store_true",
                        help="print one snapshot once data has arrived, then exit")
    parser.add_argument("--wait", type=float, default=30.0,
                        help="with --once: seconds to wait for the first data (30)")
    parser.add_argument("--refresh", type=float, default=1.0,
                        help="seconds between screen refreshes (1)")
    parser.add_argument("--max-body", type=int, default=4 * 1024 * 1024,
                        help="largest request body accepted, in bytes (4 MiB)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    require_extra("flujo-otel top", "cli", "rich", "opentelemetry.proto")
    from rich.console import Console

    from opentelemetry.instrumentation.flujo.tools.top import Dashboard
    from opentelemetry.instrumentation.flujo.tools.top.board import Board
    from opentelemetry.instrumentation.flujo.tools.top.receiver import Receiver, is_loopback

    host, port = args.listen
    board = Board()
    try:
        receiver = Receiver(board, host, port, max_body=args.max_body)
    except OSError as error:
        raise UsageError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    if not is_loopback(host):
        print(f"flujo-otel: warning: listening on {host}, not loopback: anyone who can "
              "reach it can send metrics (no TLS, no authentication)", file=sys.stderr)
    with receiver:
        print(f"flujo-otel top: receiving OTLP/HTTP on {receiver.endpoint}", file=sys.stderr,
              flush=True)
        title = f"flujo-otel top on {receiver.endpoint}"
        # A pipe gets a wide page rather than rich's 80 columns: rows must not wrap.
        console = Console() if sys.stdout.isatty() else Console(width=160)
        dashboard = Dashboard(board=board, console=console, title=title)
        if args.once:
            if not board.wait(args.wait):
                print(f"flujo-otel: no data on {receiver.endpoint} within {args.wait:g}s",
                      file=sys.stderr)
                return 1
            dashboard.print()
            return 0
        dashboard.run(args.refresh)
    return 0
