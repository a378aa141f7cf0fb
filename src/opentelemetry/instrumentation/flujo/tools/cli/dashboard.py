"""``flujo-otel dashboard grafana``: a Grafana dashboard from the catalog and thresholds."""

from __future__ import annotations

import argparse
from typing import Any

from opentelemetry.instrumentation.flujo.tools.cli.rules import (
    generator_parser,
    threshold_rules,
    write,
)
from opentelemetry.instrumentation.flujo.tools.generate import grafana
from opentelemetry.instrumentation.flujo.tools.generate.naming import Naming


def add_parser(commands: Any) -> None:
    parser = generator_parser(commands, "dashboard", "generate dashboards", "grafana",
                              "Grafana dashboard (JSON)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    write(grafana.render(threshold_rules(), Naming(args.naming)), args.output)
    return 0
