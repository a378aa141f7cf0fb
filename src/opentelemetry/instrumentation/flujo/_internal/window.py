"""What cumulative counts grew by over a sliding window: the one ratio definition.

The ratios that alert (``execution.failure_ratio``, and for flujo's measured executors
``error.ratio``, ``error.recovery_ratio``, ``cache.hit_ratio``) are computed over the
last ``OTEL_PYTHON_FLUJO_RATIO_WINDOW`` (5 minutes by default), exactly as the
generated Prometheus rule computes the failure ratio from the exported counter:
``x - (x offset <window> or x * 0)``. The baseline is the latest sample taken at or
before *now - window*; without one (a process younger than the window), zero: counts
start at zero with the process. A ratio whose denominator did not grow in the window
is absent (no evidence), not 0.
"""

from __future__ import annotations

from collections import deque
from operator import sub


class SlidingCounts:
    """Samples of some cumulative counts, kept for one window. Owned by whoever reads
    the counts each collection (collect/snapshot.py per executor name, flujo_hooks'
    ``Measured``), on the runtime's clock."""

    __slots__ = ("_samples", "_window_s", "_zero")

    def __init__(self, window_s: float, width: int) -> None:
        self._window_s = window_s
        self._zero = (0.0,) * width
        self._samples: deque[tuple[float, tuple[float, ...]]] = deque()

    def growth(self, now_s: float, counts: tuple[float, ...]) -> tuple[float, ...]:
        """What ``counts`` (taken at ``now_s``) grew by since the window began."""
        cutoff = now_s - self._window_s
        samples = self._samples
        # A sample at or before the cutoff is the baseline only until a later one is.
        while len(samples) > 1 and samples[1][0] <= cutoff:
            samples.popleft()
        base = samples[0][1] if samples and samples[0][0] <= cutoff else self._zero
        samples.append((now_s, counts))
        # map, not a generator expression: ~3x less per call (once per name and
        # collection); both tuples have the window's width.
        return tuple(map(sub, counts, base))


def ratio(part: float, whole: float) -> float | None:
    """``part / whole`` in [0, 1]; None (absent) when ``whole`` did not grow."""
    return min(part / whole, 1.0) if whole > 0 else None
