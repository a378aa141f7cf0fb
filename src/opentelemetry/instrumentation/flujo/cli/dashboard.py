"""``flujo-otel dashboard grafana``: a Grafana dashboard from the catalog and thresholds."""

from __future__ import annotations

import argparse
from typing import Any

from opentelemetry.instrumentation.flujo.cli.rules import add_naming, threshold_rules, write
from opentelemetry.instrumentation.flujo.generate import grafana
from opentelemetry.instrumentation.flujo.generate.naming import Naming


def add_parser(commands: Any) -> None:
    dashboard = commands.add_parser("dashboard", help="generate dashboards")
    backends = dashboard.add_subparsers(dest="backend", required=True)
    parser = backends.add_parser("grafana", help="Grafana dashboard (JSON)")
    parser.add_argument("-o", "--output", help="write to this file (default: stdout)")
    add_naming(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    write(grafana.render(threshold_rules(), Naming(args.naming)), args.output)
    return 0
