"""Threshold-breach episodes: maximal runs of points out of ``ok``, with durations.

Each point's state is, in order of preference: the threshold state recorded with it
(the threshold engine's, its alert timing included); else the level of its value
against the limits the engine recorded at that time (the name's own, else the ones
every name shares); else against the catalog's default limits
(``limits.default_limits``). A gap in the data longer than five typical intervals
ends an episode at its last breaching point: nothing is known about the gap.
"""

from __future__ import annotations

import bisect
import itertools
import statistics
from dataclasses import dataclass

from opentelemetry.instrumentation.flujo._internal.catalog import THRESHOLD_SEVERITY
from opentelemetry.instrumentation.flujo._internal.samples import levels_for
from opentelemetry.instrumentation.flujo.tools.analysis.limits import (
    default_limits,
    good_direction,
    level_of,
    recorded_limits,
    state_rule,
)
from opentelemetry.instrumentation.flujo.tools.analysis.load import Recording, Series

_GAP_INTERVALS = 5


@dataclass(frozen=True)
class Episode:
    level: str  # the worst level reached
    start: float
    end: float
    ongoing: bool  # still breaching at the end of the recording
    worst: float  # the value furthest beyond the limits

    @property
    def duration_s(self) -> float:
        return self.end - self.start


def _at(points: list[tuple[float, float]], time: float) -> float | None:
    """The newest (time, value) at or before ``time``; the first one before it starts."""
    if not points:
        return None
    i = bisect.bisect_right(points, (time, float("inf")))
    return points[max(i - 1, 0)][1]


def point_states(series: Series, recording: Recording) -> list[str] | None:
    """The state of each point, or None when the metric has no threshold."""
    rule = state_rule(series.metric)
    if rule is not None:
        # State-set metric: only the series of the alerting state carries the breach.
        if rule.state not in dict(series.attributes).values():
            return None
        return [s or ("critical" if v >= 1 else "ok")
                for v, s in zip(series.values, series.states, strict=True)]
    if series.rate:
        return None
    recorded = levels_for(recording.limits, series.executor, series.metric)
    # The other unattributed series of this executor that a relative limit reads
    # (e.g. cache size vs capacity), paired up on first use only.
    others: dict[str, list[tuple[float, float]]] = {}

    def points_of(other: str) -> list[tuple[float, float]]:
        if other not in others:
            found = recording.series.get((series.executor, other, ()))
            others[other] = list(zip(found.times, found.values, strict=True)) if found else []
        return others[other]

    states = []
    any_limits = False
    for t, v, s in zip(series.times, series.values, series.states, strict=True):
        if s:
            states.append(s)
            any_limits = True
            continue
        def at_t(other: str, t: float = t) -> float | None:
            return _at(points_of(other), t)

        limits = (recorded_limits(series.metric,
                                  {lv: x for lv, pts in recorded.items()
                                   if (x := _at(pts, t)) is not None})
                  or default_limits(series.metric, at_t))
        any_limits |= limits is not None
        states.append(level_of(v, limits) if limits else "ok")
    return states if any_limits else None


def episodes(series: Series, states: list[str]) -> list[Episode]:
    times, values = series.times, series.values
    gaps = [b - a for a, b in itertools.pairwise(times)]
    gap_limit = _GAP_INTERVALS * statistics.median(gaps) if gaps else float("inf")
    found: list[Episode] = []
    lower_breaches = good_direction(series.metric) == "higher"
    start = None
    level, worst = "ok", 0.0
    last = 0.0
    for i, (t, state) in enumerate(zip(times, states, strict=True)):
        if start is not None and (state == "ok" or t - last > gap_limit):
            found.append(Episode(level, start, t if state == "ok" else last, False, worst))
            start = None
        if state != "ok":
            if start is None:
                start, level, worst = t, state, values[i]
            if THRESHOLD_SEVERITY.get(state, 0) > THRESHOLD_SEVERITY.get(level, 0):
                level = state
            worst = min(worst, values[i]) if lower_breaches else max(worst, values[i])
            last = t
    if start is not None:
        found.append(Episode(level, start, times[-1], True, worst))
    return found
