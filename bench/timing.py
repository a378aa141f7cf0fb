"""Side-by-side timing on a shared, noisy machine.

Subjects are interleaved (the order rotates every round) so a burst of load from a
neighbour hits every subject alike; each figure is a median over rounds, and a ratio
is the median of the rounds' ratios: two subjects timed back to back share the
machine's state of the moment, which a ratio of two medians taken from different
moments does not. CPU-bound figures are timed in process CPU time
(``time.process_time_ns``; elapsed ``perf_counter_ns`` is kept alongside), which a
neighbour's load does not inflate. The garbage collector is off inside a timed section and run
before it, so one subject does not pay for another's garbage.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass


def timed(fn: Callable[[], object], inner: int) -> tuple[float, float]:
    """(elapsed, CPU) seconds per call of ``fn``, over ``inner`` calls, collector off.

    CPU is the process's CPU time: time the scheduler gave to other processes on a
    shared machine is not in it.
    """
    gc.collect()
    gc.disable()
    try:
        wall, cpu = time.perf_counter_ns(), time.process_time_ns()
        for _ in range(inner):
            fn()
        cpu, wall = time.process_time_ns() - cpu, time.perf_counter_ns() - wall
        return wall / inner / 1e9, cpu / inner / 1e9
    finally:
        gc.enable()


@dataclass(frozen=True)
class Medians:
    wall: dict[str, float]
    cpu: dict[str, float]
    # Every round's seconds per call, by clock, then subject.
    rounds: dict[str, dict[str, list[float]]]

    def ratio(self, a: str, b: str, clock: str = "cpu") -> float:
        """Median over rounds of ``a`` / ``b`` timed in the same round."""
        samples = self.rounds[clock]
        return statistics.median(x / y for x, y in zip(samples[a], samples[b], strict=True))

    def difference(self, a: str, b: str, clock: str = "cpu") -> float:
        """Median over rounds of ``a`` - ``b`` timed in the same round."""
        samples = self.rounds[clock]
        return statistics.median(x - y for x, y in zip(samples[a], samples[b], strict=True))


def interleaved(
    subjects: Mapping[str, Callable[[], object]], rounds: int, sample_s: float = 0.03
) -> Medians:
    """Median seconds per call of each subject (both clocks), the subjects taking turns.

    Each sample repeats a call for about ``sample_s`` so that a fast call is not
    lost in timer and scheduler noise.
    """
    names = list(subjects)
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    inner = {}
    for name in names:  # warm-up (first-call allocations, lazy imports) and sizing
        first = timed(subjects[name], 1)[0]
        inner[name] = max(1, math.ceil(sample_s / max(first, 1e-9)))
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            w, c = timed(subjects[name], inner[name])
            wall[name].append(w)
            cpu[name].append(c)
    return Medians({n: statistics.median(v) for n, v in wall.items()},
                   {n: statistics.median(v) for n, v in cpu.items()},
                   {"wall": wall, "cpu": cpu})


def linear_fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least-squares slope, intercept and r^2 of ys against xs."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    syy = sum((y - my) ** 2 for y in ys)
    slope = sxy / sxx
    intercept = my - slope * mx
    r2 = (sxy * sxy) / (sxx * syy) if syy else 1.0
    return slope, intercept, r2
