"""``flujo-otel rules prometheus``: alerting rules (and their promtool tests) from the
effective thresholds."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from opentelemetry.instrumentation.flujo._internal.config import load_config
from opentelemetry.instrumentation.flujo._internal.thresholds.overrides import effective_rules
from opentelemetry.instrumentation.flujo._internal.thresholds.rules import Rule
from opentelemetry.instrumentation.flujo.tools.cli.errors import UsageError
from opentelemetry.instrumentation.flujo.tools.generate import prometheus_rules, promtool_tests
from opentelemetry.instrumentation.flujo.tools.generate.naming import Naming


def threshold_rules() -> tuple[Rule, ...]:
    """The rules every backend generator uses: the defaults with the user's
    OTEL_PYTHON_FLUJO_THRESHOLDS / _FILE overrides, as the threshold engine applies them."""
    return effective_rules(load_config())


def add_naming(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--naming", choices=[n.value for n in Naming], default=Naming.COLLECTOR.value,
        help="series names of the path to Prometheus: 'collector' (OpenTelemetry Collector "
             "prometheus/prometheusremotewrite exporters, Prometheus OTLP receiver; default) "
             "or 'python' (opentelemetry-exporter-prometheus scraped from the app)")


def write(text: str, output: str | None) -> None:
    """``text`` to ``output`` (standard output when None); a path that cannot be written
    is a usage error, not a traceback."""
    if output is None:
        sys.stdout.write(text)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write {output}: {error.strerror}") from None


def generator_parser(commands: Any, command: str, help_text: str, backend: str,
                     backend_help: str) -> argparse.ArgumentParser:
    """``flujo-otel COMMAND BACKEND [-o FILE] [--naming ...]``: the shape every generator
    command shares."""
    group = commands.add_parser(command, help=help_text)
    backends = group.add_subparsers(dest="backend", required=True)
    parser: argparse.ArgumentParser = backends.add_parser(backend, help=backend_help)
    parser.add_argument("-o", "--output", help="write to this file (default: stdout)")
    add_naming(parser)
    return parser


def add_parser(commands: Any) -> None:
    parser = generator_parser(commands, "rules", "generate alerting rules from the thresholds",
                              "prometheus", "Prometheus alerting rules (YAML)")
    parser.add_argument("--for", dest="for_", default=None, metavar="DURATION",
                        help="how long a limit must be exceeded before the alert fires "
                             "(default: OTEL_PYTHON_FLUJO_THRESHOLD_FOR, 0s)")
    parser.add_argument("--keep-firing-for", dest="keep_for", default=None, metavar="DURATION",
                        help="how long an alert keeps firing once back within its limit "
                             "(default: OTEL_PYTHON_FLUJO_THRESHOLD_KEEP_FOR, 0s)")
    parser.add_argument("--rate-window", default="5m", metavar="DURATION",
                        help="window of rate() for counter-rate limits (5m)")
    parser.add_argument("--ratio-window", default=None, metavar="DURATION",
                        help="window of the failure ratio, as the instrumentation's "
                             "(default: OTEL_PYTHON_FLUJO_RATIO_WINDOW, 5m)")
    parser.add_argument("--tests", metavar="FILE",
                        help="also write a `promtool test rules` file for the rules "
                             "(needs -o)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:

    naming = Naming(args.naming)
    rules = threshold_rules()
    try:
        text = prometheus_rules.render(rules, naming, args.for_, args.rate_window,
                                       args.keep_for, args.ratio_window)
    except ValueError as error:
        raise UsageError(str(error)) from error
    if args.tests:
        if args.output is None:
            raise UsageError("--tests needs -o FILE: the tests name the rules file")
        rule_file = os.path.relpath(Path(args.output).resolve(),
                                    Path(args.tests).resolve().parent)
        write(promtool_tests.render(rules, naming, rule_file, args.for_, args.rate_window,
                                    args.keep_for, args.ratio_window), args.tests)
    write(text, args.output)
    return 0
