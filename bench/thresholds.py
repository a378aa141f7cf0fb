"""The threshold layer's share of a full collection.

Measured through the public runtime hooks: every listener and observer a hook adds
is timed, and a hook that registers ``flujo.executor.threshold.*`` metrics is the
threshold layer's. Its share is its time over the whole collection's.
"""

from __future__ import annotations

import statistics

from bench.report import Figure
from bench.subjects import Executor, HookTimer, Plugin, names
from bench.timing import timed

SHARE_GOAL = 0.10


def share(n: int, rounds: int) -> Figure:
    timer = HookTimer()
    executors = [(Executor(), name) for name in names(n)]
    plugin = Plugin(executors, timer)
    try:
        if not timer.threshold_hooks:
            return Figure("thresholds.share", "threshold evaluation share of a collection",
                          None, "%", goal="<= 10%",
                          note="threshold layer not present")
        plugin.collect()
        shares, totals = [], []
        for _ in range(rounds):
            timer.reset()
            seconds = timed(plugin.collect, 1)[0]
            totals.append(seconds)
            shares.append(timer.threshold_ns() / 1e9 / seconds)
    finally:
        plugin.close()
    value = statistics.median(shares)
    return Figure(
        "thresholds.share", f"threshold evaluation share of a collection (N={n})",
        value * 100, "%", goal="<= 10%", met=value <= SHARE_GOAL,
        detail={"collection_ms": statistics.median(totals) * 1e3, "executors": n})
