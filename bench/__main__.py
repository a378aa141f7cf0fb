"""``python -m bench [--quick] [--flujo | --fleet] [--output PATH]``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from opentelemetry.instrumentation.flujo._internal.alerts.dispatch import ALERT_LOGGER

from bench import collection, fleet, flujo_wrapper, memory, otlp, shape, thresholds
from bench.report import RESULTS, Figure, table, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="few rounds, under a minute (CI: every figure, no timing asserted)")
    parser.add_argument("--smoke", action="store_true",
                        help="one round, small sizes: only proves every figure is produced")
    parser.add_argument("--flujo", action="store_true",
                        help="only the flujo wrapper figures (Python 3.13 with flujo)")
    parser.add_argument("--fleet", action="store_true",
                        help="only the fleet through rotel (Python 3.13 with flujo and rotel)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    # The bench executors breach thresholds on purpose; their alert records would
    # drown the table (Python's last-resort handler prints warnings to stderr).
    ALERT_LOGGER.disabled = True
    started = time.perf_counter()
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    if args.fleet:
        figures = fleet.figures(mode != "full")
    elif args.flujo:
        figures = flujo_wrapper.run(mode != "full")
    else:
        figures = run(mode)
    print(table(figures))
    write(figures, mode, time.perf_counter() - started, args.output)
    print(f"\nwritten to {args.output} in {time.perf_counter() - started:.0f} s")
    return 0


# mode -> (rounds, executors per memory figure, executors churned)
MODES = {"smoke": (1, 200, 2_000), "quick": (5, 1000, 10_000), "full": (21, 1000, 10_000)}


def run(mode: str) -> list[Figure]:
    rounds, per_executor, churned = MODES[mode]
    ns = [1, 10, 100, 300, 1000] if mode == "full" else [1, 10, 100, 1000]
    figures: list[Figure] = []
    seconds = []
    for n in ns:
        # Every round at N=1000 too in full mode: its ratio moves most between runs.
        full_rounds = n < 1000 or mode == "full"
        figure, plugin_s = collection.floor_ratio(n, rounds if full_rounds else max(1, rounds // 2))
        seconds.append(plugin_s)
        if n != 300:
            figures.append(figure)
    figures.append(collection.slope(ns, seconds))
    # The zero-code path (opentelemetry-instrument's provider: no views).
    figures.extend(collection.floor_ratio(n, rounds, zero_code=True)[0] for n in (10, 100))
    figures.append(collection.stats_calls())
    figures.extend(collection.naive_ratio(rounds))
    figures.append(thresholds.share(100, rounds))
    figures.append(thresholds.plugin_share(1000 if mode != "smoke" else 100,
                                           max(3, rounds // 4)))
    figures.append(collection.prometheus_ratio(rounds))
    figures.extend(memory.per_executor(per_executor))
    figures.append(memory.churn(churned))
    figures.extend(otlp.bytes_per_executor())
    figures.extend(shape.figures(100 if mode != "smoke" else 10, rounds))
    figures.extend(flujo_wrapper.run(mode != "full"))
    return figures


if __name__ == "__main__":
    raise SystemExit(main())
