"""``flujo-otel``: the command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from opentelemetry.instrumentation.flujo.tools.cli import dashboard, demo, report, rules, top
from opentelemetry.instrumentation.flujo.tools.cli.errors import UsageError
from opentelemetry.instrumentation.flujo.version import __version__

__all__ = ["UsageError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flujo-otel", description="OpenTelemetry metrics for flujo executors")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo.add_parser(commands)
    top.add_parser(commands)
    report.add_parser(commands)
    rules.add_parser(commands)
    dashboard.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return 130
    except UsageError as error:
        print(f"flujo-otel: error: {error}", file=sys.stderr)
        return 2
