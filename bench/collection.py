"""Collection figures: plugin vs the SDK floor, stats calls, naive design, prometheus_client."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.metrics.view import View

from bench.report import Figure
from bench.subjects import (
    Executor,
    Floor,
    Naive,
    ObservationRecorder,
    Plugin,
    Shape,
    named_executors,
    prometheus_registry,
    shape,
)
from bench.timing import interleaved, linear_fit

FLOOR_GOAL = 1.10
NAIVE_GOAL = 25.0


class ZeroCodePlugin(Plugin):
    """The plugin on a provider without its views: ``opentelemetry-instrument`` with a
    configurator builds the MeterProvider, and nobody hands it ``flujo_views()``."""

    def views(self) -> list[View]:
        return []


class ZeroCodeFloor(Floor):
    """The SDK floor on the same provider without views."""

    def views(self) -> list[View]:
        return []


def _floor(executors: list[tuple[Executor, str]], zero_code: bool = False
           ) -> tuple[Floor, Shape, int]:
    """The SDK floor for ``executors``: what the plugin's observers hand the SDK.

    A probe plugin, on the same executors, records the observations (the timed plugin
    runs unwrapped); three collections reach steady state (a rate threshold has no
    value before its second snapshot). Returns the floor, the plugin's exported shape
    and the number of observations.
    """
    recorder = ObservationRecorder()
    probe = (ZeroCodePlugin if zero_code else Plugin)(executors, recorder)
    for _ in range(2):
        probe.collect()
    like = shape(probe.collect())
    probe.close()
    observations = sum(len(obs) for obs in recorder.observed.values())
    floor = (ZeroCodeFloor if zero_code else Floor)(like, recorder.observed)
    return floor, like, observations


def floor_ratio(n: int, rounds: int, zero_code: bool = False) -> tuple[Figure, float]:
    """One full collection, plugin vs the SDK floor for the same observations; with
    ``zero_code``, both on a provider without the plugin's views."""
    executors = named_executors(n)
    floor, like, observations = _floor(executors, zero_code)
    plugin = (ZeroCodePlugin if zero_code else Plugin)(executors)
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
    path = "zero-code, no views" if zero_code else "views"
    figure = Figure(
        f"collection{'.zero_code' if zero_code else ''}.n{n}",
        f"full collection N={n} ({path}): plugin / SDK floor", ratio, "x",
        goal=f"<= {FLOOR_GOAL:.2f}", met=ratio <= FLOOR_GOAL,
        detail={"plugin_cpu_ms": medians["plugin"] * 1e3, "floor_cpu_ms": medians["floor"] * 1e3,
                "plugin_wall_ms": wall["plugin"] * 1e3, "floor_wall_ms": wall["floor"] * 1e3,
                "wall_ratio": m.ratio("plugin", "floor", "wall"),
                "round_ratios": sorted(p / f for p, f in zip(
                    m.rounds["cpu"]["plugin"], m.rounds["cpu"]["floor"], strict=True)),
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
    executors = named_executors(n)
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


def naive_ratio(rounds: int, n: int = 10, cost_s: float = 0.001) -> list[Figure]:
    """Naive / plugin, and the ceiling any one-read-per-executor design has.

    A design that reads each executor once still pays the reads and the SDK's cost
    of the data points: naive / (reads + SDK floor) is as high as naive / plugin
    can go, whatever the plugin does.
    """
    executors = named_executors(n, cost_s)
    floor = _floor(executors)[0]
    plugin, naive = Plugin(executors), Naive(executors)
    try:
        # The plugin reads a source inline once it has answered fast a few times.
        for _ in range(4):
            plugin.collect()
        m = interleaved({"plugin": plugin.collect, "naive": naive.collect,
                         "floor": floor.collect}, rounds)
    finally:
        plugin.close()
        naive.close()
        floor.close()
    # Elapsed time: the stats call's 1 ms is what the naive design repeats.
    medians = m.wall
    ratio = m.ratio("naive", "plugin", "wall")
    reads = n * cost_s
    rounds_wall = m.rounds["wall"]
    ceiling = statistics.median(
        naive / (reads + floor_s)
        for naive, floor_s in zip(rounds_wall["naive"], rounds_wall["floor"], strict=True))
    detail = {"plugin_ms": medians["plugin"] * 1e3, "naive_ms": medians["naive"] * 1e3,
              "floor_ms": medians["floor"] * 1e3, "reads_ms": reads * 1e3}
    return [
        Figure("naive", f"{n} executors, 1 ms stats call: naive / plugin", ratio, "x",
               goal=f">= {NAIVE_GOAL:.0f}", met=ratio >= NAIVE_GOAL, detail=detail),
        Figure("naive.ceiling", "  its ceiling: naive / (reads + SDK floor)", ceiling, "x",
               detail={**detail, "plugin_share_of_ceiling": ratio / ceiling}),
    ]


def prometheus_ratio(rounds: int, n: int = 100) -> Figure:
    """The peer's reference point: prometheus_client scraping the same values."""
    try:
        from prometheus_client import generate_latest
    except ImportError:
        return Figure("prometheus", "prometheus_client / plugin", None, "x",
                      note="prometheus_client not installed")
    executors = named_executors(n)
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
