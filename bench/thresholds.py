"""Shares of a full collection: the threshold layer's, and all of the plugin's code.

Measured through the public runtime hooks: every listener and observer a hook adds
is timed, and a hook that registers ``flujo.executor.threshold.*`` metrics is the
threshold layer's. The plugin's share adds every hook and the snapshot; what is left
is the SDK's. Unlike the floor ratio, which also sees what the plugin's allocations
do to the SDK's caches, this is a sum of the plugin's own time: steadier on a noisy
machine, and a lower bound.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from bench.report import Figure
from bench.subjects import HookTimer, Plugin, named_executors
from bench.timing import timed

SHARE_GOAL = 0.10


def _median_share(plugin: Plugin, n: int, rounds: int, reset: Callable[[], None],
                  own_ns: Callable[[], int]) -> tuple[float, float]:
    """Median over rounds of own_ns() over a whole collection, and the median collection."""
    plugin.collect()
    assert plugin.binding.snapshot.executors == n, "executors collected: not held alive"
    shares, totals = [], []
    for _ in range(rounds):
        reset()
        seconds = timed(plugin.collect, 1)[0]
        totals.append(seconds)
        shares.append(own_ns() / 1e9 / seconds)
    return statistics.median(shares), statistics.median(totals)


def share(n: int, rounds: int) -> Figure:
    timer = HookTimer()
    executors = named_executors(n)  # held here: the registry's references are weak
    plugin = Plugin(executors, timer)
    try:
        if not timer.threshold_hooks:
            return Figure("thresholds.share", "threshold evaluation share of a collection",
                          None, "%", goal="<= 10%",
                          note="threshold layer not present")
        value, seconds = _median_share(plugin, n, rounds, timer.reset, timer.threshold_ns)
    finally:
        plugin.close()
    return Figure(
        "thresholds.share", f"threshold evaluation share of a collection (N={n})",
        value * 100, "%", goal="<= 10%", met=value <= SHARE_GOAL,
        detail={"collection_ms": seconds * 1e3, "executors": n})


def plugin_share(n: int, rounds: int) -> Figure:
    timer = HookTimer()
    executors = named_executors(n)  # held here: the registry's references are weak
    plugin = Plugin(executors, timer)
    taker = plugin.runtime.taker
    take: Callable[[float | None], object] = taker.take
    spent = [0]

    def timed_take(budget_s: float | None = None) -> object:
        start = time.perf_counter_ns()
        try:
            return take(budget_s)
        finally:
            spent[0] += time.perf_counter_ns() - start

    def reset() -> None:
        timer.reset()
        spent[0] = 0

    taker.take = timed_take  # type: ignore[method-assign]
    try:
        value, seconds = _median_share(plugin, n, rounds, reset,
                                       lambda: sum(timer.ns.values()) + spent[0])
    finally:
        plugin.close()
    return Figure(
        "plugin.share", f"plugin code's share of a collection (N={n})", value * 100, "%",
        detail={"collection_ms": seconds * 1e3, "executors": n})
