"""``flujo-otel top``: the live dashboard, fed by its own OTLP receivers: gRPC on 4317
and HTTP on 4318, the SDK's defaults, so an app that exports to a collector on
localhost (``OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317``) is watched as it is.

A collector's otlp or otlphttp exporter can point at it too. For a dashboard inside the
app itself, use ``opentelemetry.instrumentation.flujo.tools.top.Dashboard``.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from opentelemetry.instrumentation.flujo.tools.cli.demo import QUIT_HINT
from opentelemetry.instrumentation.flujo.tools.cli.errors import UsageError, require_extra

if TYPE_CHECKING:
    from opentelemetry.instrumentation.flujo.tools.top.board import Board


def parse_listen(raw: str) -> tuple[str, int]:
    host, sep, port = raw.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"{raw!r} is not HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


def parse_grpc_listen(raw: str) -> tuple[str, int] | None:
    return None if raw.strip().lower() == "off" else parse_listen(raw)


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "top", help="live dashboard of the metrics an app sends over OTLP (gRPC or HTTP)")
    parser.add_argument("--listen", type=parse_listen, default=("127.0.0.1", 4318),
                        metavar="HOST:PORT", help="where to receive OTLP/HTTP (127.0.0.1:4318)")
    parser.add_argument("--grpc-listen", type=parse_grpc_listen, default=("127.0.0.1", 4317),
                        metavar="HOST:PORT|off",
                        help="where to receive OTLP/gRPC (127.0.0.1:4317); off: HTTP only")
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
    from opentelemetry.instrumentation.flujo.tools.top.board import Board

    board = Board()
    try:
        return _serve(args, board)
    except KeyboardInterrupt:  # the way to quit, even before the first frame: no failure
        print(f"flujo-otel top: {board.updates} OTLP exports received, "
              f"{board.rejected} rejected", file=sys.stderr)
        return 0


def _serve(args: argparse.Namespace, board: Board) -> int:
    from rich.console import Console

    from opentelemetry.instrumentation.flujo.tools.top import Dashboard
    from opentelemetry.instrumentation.flujo.tools.top.grpc_receiver import GrpcReceiver
    from opentelemetry.instrumentation.flujo.tools.top.receiver import Receiver, is_loopback

    with ExitStack() as stack:
        endpoints = []
        for protocol, listen in (("HTTP", args.listen), ("gRPC", args.grpc_listen)):
            if listen is None:
                continue
            host, port = listen
            try:
                receiver: Any = (Receiver if protocol == "HTTP" else GrpcReceiver)(
                    board, host, port, max_body=args.max_body)
            except OSError as error:
                hint = "; --grpc-listen off receives OTLP/HTTP only" if protocol == "gRPC" else ""
                raise UsageError(f"cannot listen on {host}:{port} (OTLP/{protocol}): "
                                 f"{error.strerror or error}{hint}") from None
            if not is_loopback(host):
                print(f"flujo-otel: warning: listening on {host}, not loopback: anyone who "
                      "can reach it can send metrics (no TLS, no authentication)",
                      file=sys.stderr)
            stack.enter_context(receiver)
            endpoints.append(f"{receiver.endpoint} ({protocol})")
        where = ", ".join(endpoints)
        print(f"flujo-otel top: receiving OTLP on {where}; {QUIT_HINT}", file=sys.stderr,
              flush=True)
        # A pipe gets a wide page rather than rich's 80 columns: rows must not wrap.
        console = Console() if sys.stdout.isatty() else Console(width=160)
        dashboard = Dashboard(board=board, console=console,
                              title=f"flujo-otel top on {where} · {QUIT_HINT}")
        if args.once:
            if not board.wait(args.wait):
                print(f"flujo-otel: no data on {where} within {args.wait:g}s",
                      file=sys.stderr)
                return 1
            dashboard.print()
            return 0
        dashboard.run(args.refresh)  # until Ctrl-C
    return 0
