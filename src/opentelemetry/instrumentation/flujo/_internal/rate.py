"""The rate of a cumulative value, over a real interval.

Every reader's collection takes its own snapshot, so with two readers the snapshots
come in pairs a few milliseconds apart. A rate over such a gap is noise (a handful of
page faults over 2 ms is megabytes per second) and raised alerts on healthy apps. A
rate is therefore only computed over at least MIN_INTERVAL_S; a reading sooner than
that gets the latest rate computed so.
"""

from __future__ import annotations

MIN_INTERVAL_S = 1.0


class Rate:
    """Increase per second of one cumulative value."""

    __slots__ = ("_base", "_last", "_rate", "_since")

    def __init__(self) -> None:
        self._base: float | None = None  # the value the rate is measured from, and when
        self._since = 0.0
        self._last = 0.0  # the latest value, for telling a reset
        self._rate: float | None = None

    def update(self, value: float, now_s: float) -> float | None:
        """The rate at ``now_s`` with the value at ``value``; None before a rate exists
        (a first reading is no evidence), and after a reset (the value went down, or
        time went back), which starts again."""
        base = self._base
        if base is None or value < self._last or now_s < self._since:
            self._base, self._since, self._last, self._rate = value, now_s, value, None
            return None
        self._last = value
        elapsed = now_s - self._since
        if elapsed >= MIN_INTERVAL_S:
            self._rate = (value - base) / elapsed
            self._base, self._since = value, now_s
        return self._rate
