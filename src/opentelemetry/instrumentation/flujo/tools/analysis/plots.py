"""``--plots DIR``: one PNG per metric, every executor's series over time, the threshold
lines, and the breach episodes shaded. Needs the ``plots`` extra (matplotlib).

Time runs from the start of the recording in the unit its span calls for (a 30 s
recording in seconds, a day in hours); a state-set metric (the circuit breaker) is one
step line per executor over its named states, and a count of a few integer values is
drawn in steps too; legends sit to the right of the data, never over it.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from opentelemetry.instrumentation.flujo._internal.catalog import PREFIX
from opentelemetry.instrumentation.flujo._internal.formatting import display
from opentelemetry.instrumentation.flujo.tools.analysis.limits import default_limits, state_rule
from opentelemetry.instrumentation.flujo.tools.analysis.load import Recording
from opentelemetry.instrumentation.flujo.tools.analysis.render import when
from opentelemetry.instrumentation.flujo.tools.analysis.report import (
    MIN_CHART_POINTS,
    Report,
    SeriesReport,
)

_LEVEL_COLOURS = {"warning": "#e69f00", "critical": "#d55e00"}
# (seconds, axis label): the largest unit of which the recording spans at least two.
_TIME_UNITS = ((86400.0, "days"), (3600.0, "hours"), (60.0, "minutes"), (1.0, "seconds"))


class Clock:
    """Seconds since the epoch -> time since the recording's start, in one unit."""

    def __init__(self, start: float, end: float) -> None:
        self.start = start
        self.seconds, self.unit = next(((s, u) for s, u in _TIME_UNITS if end - start >= 2 * s),
                                       _TIME_UNITS[-1])

    def __call__(self, times: list[float]) -> list[float]:
        return [(t - self.start) / self.seconds for t in times]

    @property
    def label(self) -> str:
        return f"{self.unit} since {when(self.start)}"


def _unit_label(unit: str) -> str:
    # "{execution}/s" -> "execution/s": the thing counted names the axis.
    if unit.startswith("{"):
        return unit.replace("{", "").replace("}", "")
    return display(unit)[1] or unit


def _states(ax: Any, metric: str, group: list[SeriesReport], clock: Clock) -> None:
    """One step line per executor through the state whose point is 1, the alerting state
    on top so a breach reads as a rise."""
    rule = state_rule(metric)
    names = sorted({v for r in group for _, v in r.series.attributes})
    names.sort(key=lambda name: rule is not None and name == rule.state)
    by_executor: dict[str, dict[float, str]] = defaultdict(dict)
    for r in group:
        state = next(v for _, v in r.series.attributes)
        for t, v in zip(r.series.times, r.series.values, strict=True):
            if v >= 1:
                by_executor[r.series.executor][t] = state
    for executor, timeline in sorted(by_executor.items()):
        times = sorted(timeline)
        ax.step(clock(times), [names.index(timeline[t]) for t in times], where="post",
                lw=1.6, label=executor or "-")
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(-0.5, len(names) - 0.5)


def _values(ax: Any, metric: str, group: list[SeriesReport], recording: Recording,
            clock: Clock) -> None:
    factor, _ = display(group[0].series.unit)
    for r in group:
        s = r.series
        label = s.executor or "-"
        if s.attributes:
            label += " " + ",".join(v for _, v in s.attributes)
        ax.plot(clock(s.times), [v * factor for v in s.values], label=label, lw=1.4,
                drawstyle="steps-post" if s.discrete else "default")
    drawn = set()
    for (_, m, level), points in recording.limits.items():
        if m == metric and level in _LEVEL_COLOURS and points:
            times, values = zip(*sorted(points), strict=True)
            ax.step(clock(list(times)), [v * factor for v in values], where="post",
                    ls="--", color=_LEVEL_COLOURS[level],
                    label=None if level in drawn else f"{level} limit")
            drawn.add(level)
    # Recorded limits replace the defaults entirely (the engine may have dropped a level).
    defaults = default_limits(metric, lambda _: None)
    if defaults is not None and not drawn and not group[0].series.rate:
        for level, limit in defaults.levels.items():
            ax.axhline(limit * factor, ls="--", color=_LEVEL_COLOURS[level],
                       label=f"{level} limit")
    ax.set_ylabel(_unit_label(group[0].series.unit))


def figure(metric: str, group: list[SeriesReport], recording: Recording, clock: Clock) -> Any:
    """The matplotlib figure of one metric (the caller closes it)."""
    import matplotlib.pyplot as plt

    # Constrained layout makes room for the legend outside the axes at a fixed size.
    fig, ax = plt.subplots(figsize=(11, 5), dpi=100, layout="constrained")
    if state_rule(metric) is not None:
        _states(ax, metric, group, clock)
    else:
        _values(ax, metric, group, recording, clock)
    shaded = set()
    for r in group:
        for e in r.episodes:
            ax.axvspan(*clock([e.start, e.end]), color=_LEVEL_COLOURS[e.level],
                       alpha=0.18 if e.level == "warning" else 0.28, lw=0,
                       label=None if e.level in shaded else f"{e.level} episode")
            shaded.add(e.level)
    ax.set_title(metric.removeprefix(PREFIX) + (" (rate)" if group[0].series.rate else ""))
    ax.set_xlabel(clock.label)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0,
              fontsize="small")
    return fig


def clock_of(report: Report) -> Clock:
    """One time axis for every plot of ``report``: from its first point to its last."""
    times = [t for r in report.series for t in (r.series.times[0], r.series.times[-1])]
    return Clock(min(times, default=0.0), max(times, default=0.0))


def plot(report: Report, recording: Recording, directory: str) -> list[Path]:
    """Write one PNG per metric into ``directory``; returns the files written. A metric
    none of whose series has ``MIN_CHART_POINTS`` is not drawn (a legend and no line)."""
    import matplotlib

    matplotlib.use("Agg")
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[SeriesReport]] = defaultdict(list)
    for r in report.series:
        groups[r.series.metric].append(r)
    groups = {metric: group for metric, group in groups.items()
              if any(len(r.series.values) >= MIN_CHART_POINTS for r in group)}
    if not groups:
        return []
    import matplotlib.pyplot as plt

    clock = clock_of(report)
    written = []
    for metric, group in sorted(groups.items()):
        path = out_dir / f"{metric.removeprefix(PREFIX)}.png"
        fig = figure(metric, group, recording, clock)
        try:
            fig.savefig(path, format="png")
        finally:
            plt.close(fig)
        written.append(path)
    return written
