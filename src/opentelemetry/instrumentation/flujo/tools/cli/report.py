"""``flujo-otel report FILE... [--baseline FILE]...``: what the recordings say.

Reads ``flujo_csv`` / ``flujo_jsonl`` recordings; writes Markdown (default), HTML or
JSON to stdout or ``--output``; ``--plots DIR`` also draws one PNG per metric.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from opentelemetry.instrumentation.flujo.tools.analysis import load as loading
from opentelemetry.instrumentation.flujo.tools.analysis import render
from opentelemetry.instrumentation.flujo.tools.analysis.report import (
    MIN_CHART_POINTS,
    Options,
    build,
)
from opentelemetry.instrumentation.flujo.tools.cli.errors import UsageError, require_extra
from opentelemetry.instrumentation.flujo.tools.cli.progress import progress
from opentelemetry.instrumentation.flujo.tools.cli.rules import write


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("report", help="summary, trends, anomalies, breaches and "
                                 "regressions from flujo_csv / flujo_jsonl recordings")
    parser.add_argument("files", nargs="+", metavar="FILE", help="recordings (CSV or JSONL)")
    # One file per --baseline (repeatable), so `--baseline old.csv new.csv` reads as
    # the baseline then the recording, as `new.csv --baseline old.csv` does.
    parser.add_argument("--baseline", action="append", default=[], metavar="FILE",
                        help="a recording of the baseline to compare with (repeatable)")
    parser.add_argument("--format", choices=("markdown", "html", "json"), default="markdown")
    parser.add_argument("--output", "-o", metavar="FILE", help="write here, not to stdout")
    parser.add_argument("--metric", action="append", default=[], metavar="NAME",
                        help="only this metric (repeatable; with or without flujo.executor.)")
    parser.add_argument("--executor", action="append", default=[], metavar="NAME",
                        help="only this executor (repeatable)")
    parser.add_argument("--plots", metavar="DIR", help="also draw one PNG per metric here")
    parser.add_argument("--alpha", type=float, default=Options.alpha,
                        help=f"significance level of the tests ({Options.alpha})")
    parser.add_argument("--tolerance", type=float, default=Options.tolerance,
                        help=f"smallest change that counts ({Options.tolerance}): against "
                             "the baseline, this fraction of its mean; for trends and "
                             "anomalies, of the warning limit (of the mean without one)")
    parser.set_defaults(run=run)


def _load(files: list[str], args: argparse.Namespace, step: Any, phase: str
          ) -> loading.Recording:
    done = iter(range(1, len(files) + 1))
    recording = loading.load(files, lambda name: step(f"{phase} {name}", next(done),
                                                      len(files)))
    loading.select(recording, args.metric, args.executor)
    return recording


def run(args: argparse.Namespace) -> int:
    if args.plots:
        require_extra("--plots", "plots", "matplotlib")
    options = Options(alpha=args.alpha, tolerance=args.tolerance)
    with progress() as step:
        try:
            recording = _load(args.files, args, step, "reading")
            baseline = _load(args.baseline, args, step, "baseline") if args.baseline else None
        except loading.RecordingError as error:
            raise UsageError(str(error)) from None
        report = build(recording, args.files, baseline, args.baseline, options,
                       lambda done, total: step("analysing", done, total))
        images = []
        if args.plots:
            from opentelemetry.instrumentation.flujo.tools.analysis.plots import plot

            images = [str(p) for p in plot(report, recording, args.plots)]
            if not images:
                print(f"flujo-otel: no charts drawn: no series has {MIN_CHART_POINTS} points",
                      file=sys.stderr)
    if args.format == "json":
        text = render.to_json(report)
    elif args.format == "html":
        text = render.page(report, images)
    else:
        text = render.markdown(report) + "".join(f"\n![{Path(i).stem}]({i})\n"
                                                 for i in images)
    write(text, args.output or None)
    return 0
