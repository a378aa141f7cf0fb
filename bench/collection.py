"""Collection figures: plugin vs the SDK floor, stats calls, naive design, prometheus_client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.report import Figure
from bench.subjects import (
    Executor,
    Floor,
    Naive,
    ObservationRecorder,
    Plugin,
    names,
    prometheus_registry,
    shape,
)
from bench.timing import interleaved, linear_fit

FLOOR_GOAL = 1.10
NAIVE_GOAL = 25.0


def _executors(n: int, cost_s: float = 0.0) -> list[tuple[Executor, str]]:
    return [(Executor(cost_s), name) for name in names(n)]


def floor_ratio(n: int, rounds: int) -> tuple[Figure, float]:
    """One full collection, plugin vs the SDK floor for the same observations."""
    executors = _executors(n)
    # A second plugin, on the same executors, records what the observers hand the
    # SDK (the timed plugin runs unwrapped); three collections reach steady state
    # (a rate threshold has no value before its second snapshot).
    recorder = ObservationRecorder()
    probe = Plugin(executors, recorder)
    for _ in range(2):
        probe.collect()
    like = shape(probe.collect())
    probe.close()
    observations = sum(len(obs) for obs in recorder.observed.values())
    plugin = Plugin(executors)
    floor = Floor(like, recorder.observed)
    try:
        for _ in range(2):
            plugin.collect()
        assert shape(plugin.collect()).layout == like.layout
        assert shape(floor.collect()).points == like.points
        m = interleaved({"plugin": plugin.collect, "floor": floor.collect}, rounds)
    finally:
        plugin.close()
        floor.close()
    medians, wall = m.cpu, m.wall
    ratio = m.ratio("plugin", "floor")
    figure = Figure(
        f"collection.n{n}", f"full collection N={n}: plugin / SDK floor", ratio, "x",
        goal=f"<= {FLOOR_GOAL:.2f}", met=ratio <= FLOOR_GOAL,
        detail={"plugin_cpu_ms": medians["plugin"] * 1e3, "floor_cpu_ms": medians["floor"] * 1e3,
                "plugin_wall_ms": wall["plugin"] * 1e3, "floor_wall_ms": wall["floor"] * 1e3,
                "wall_ratio": m.ratio("plugin", "floor", "wall"),
                "data_points": like.points, "observations": observations,
                "rounds": rounds},
    )
    return figure, medians["plugin"]


def slope(ns: list[int], seconds: list[float]) -> Figure:
    per, intercept, r2 = linear_fit([float(n) for n in ns], seconds)
    return Figure(
        "collection.slope", "collection time per executor (linear fit)", per * 1e6, "us",
        goal="linear (r^2 >= 0.99)", met=r2 >= 0.99,
        note=f"r^2 = {r2:.4f}",
        detail={"r2": r2, "intercept_ms": intercept * 1e3, "n": ns,
                "plugin_cpu_ms": [s * 1e3 for s in seconds]},
    )


def stats_calls(n: int = 10, collections: int = 5) -> Figure:
    executors = _executors(n)
    plugin = Plugin(executors)
    try:
        for _ in range(collections):
            plugin.collect()
    finally:
        plugin.close()
    calls = [executor.calls for executor, _ in executors]
    per = sum(calls) / (n * collections)
    return Figure(
        "stats_calls", "get_optimization_stats calls per executor per collection", per, "",
        goal="exactly 1", met=all(c == collections for c in calls),
        detail={"executors": n, "collections": collections, "calls": calls},
    )


def naive_ratio(rounds: int, n: int = 10, cost_s: float = 0.001) -> Figure:
    executors = _executors(n, cost_s)
    plugin, naive = Plugin(executors), Naive(executors)
    try:
        # The plugin reads a source inline once it has answered fast a few times.
        for _ in range(4):
            plugin.collect()
        m = interleaved({"plugin": plugin.collect, "naive": naive.collect}, rounds)
    finally:
        plugin.close()
        naive.close()
    # Elapsed time: the stats call's 1 ms is what the naive design repeats.
    medians = m.wall
    ratio = m.ratio("naive", "plugin", "wall")
    return Figure(
        "naive", f"{n} executors, 1 ms stats call: naive / plugin", ratio, "x",
        goal=f">= {NAIVE_GOAL:.0f}", met=ratio >= NAIVE_GOAL,
        detail={"plugin_ms": medians["plugin"] * 1e3, "naive_ms": medians["naive"] * 1e3},
    )


def prometheus_ratio(rounds: int, n: int = 100) -> Figure:
    """The peer's reference point: prometheus_client scraping the same values."""
    try:
        from prometheus_client import generate_latest
    except ImportError:
        return Figure("prometheus", "prometheus_client / plugin", None, "x",
                      note="prometheus_client not installed")
    executors = _executors(n)
    plugin = Plugin(executors)
    registry = prometheus_registry(executors)
    scrape: Callable[[], Any] = lambda: generate_latest(registry)  # noqa: E731
    try:
        m = interleaved({"plugin": plugin.collect, "prometheus": scrape}, rounds)
    finally:
        plugin.close()
    medians = m.cpu
    return Figure(
        "prometheus", f"N={n}: prometheus_client scrape / plugin collection",
        m.ratio("prometheus", "plugin"), "x",
        detail={"plugin_cpu_ms": medians["plugin"] * 1e3,
                "prometheus_cpu_ms": medians["prometheus"] * 1e3},
    )
