"""``--plots DIR``: one PNG per metric, every executor's series over time, the threshold
lines, and the breach episodes shaded. Needs the ``plots`` extra (matplotlib)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from opentelemetry.instrumentation.flujo._internal.catalog import PREFIX
from opentelemetry.instrumentation.flujo._internal.formatting import display
from opentelemetry.instrumentation.flujo.tools.analysis.limits import default_limits
from opentelemetry.instrumentation.flujo.tools.analysis.load import Recording
from opentelemetry.instrumentation.flujo.tools.analysis.report import Report, SeriesReport

_LEVEL_COLOURS = {"warning": "#e69f00", "critical": "#d55e00"}


def _dates(times: list[float]) -> list[datetime]:
    return [datetime.fromtimestamp(t, tz=timezone.utc) for t in times]


def _draw(path: Path, metric: str, group: list[SeriesReport], recording: Recording) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    unit = group[0].series.unit
    factor, shown = display(unit)
    fig, axes = plt.subplots(figsize=(11, 5), dpi=100)
    ax: Any = axes  # matplotlib's stubs reject datetimes, which it plots fine
    try:
        for r in group:
            s = r.series
            label = s.executor or "-"
            if s.attributes:
                label += " " + ",".join(v for _, v in s.attributes)
            ax.plot(_dates(s.times), [v * factor for v in s.values], label=label, lw=1.4)
            for e in r.episodes:
                ax.axvspan(*_dates([e.start, e.end]), color=_LEVEL_COLOURS[e.level],
                           alpha=0.18 if e.level == "warning" else 0.28, lw=0)
        drawn = set()
        for (_, m, level), points in recording.limits.items():
            if m == metric and level in _LEVEL_COLOURS and points:
                times, values = zip(*sorted(points), strict=True)
                ax.step(_dates(list(times)), [v * factor for v in values], where="post",
                        ls="--", color=_LEVEL_COLOURS[level],
                        label=None if level in drawn else f"{level} limit")
                drawn.add(level)
        # Recorded limits replace the defaults entirely (the view may have dropped a level).
        defaults = default_limits(metric, lambda _: None)
        if defaults is not None and not drawn and not group[0].series.rate:
            for level, limit in defaults.levels.items():
                ax.axhline(limit * factor, ls="--", color=_LEVEL_COLOURS[level],
                               label=f"{level} limit")
        short = metric.removeprefix(PREFIX)
        ax.set_title(f"{short}" + (" (rate)" if group[0].series.rate else ""))
        ax.set_ylabel(shown or unit)
        ax.set_xlabel("UTC")
        locator = AutoDateLocator()  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize="small", ncol=2)
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)


def plot(report: Report, recording: Recording, directory: str) -> list[Path]:
    """Write one PNG per metric into ``directory``; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[SeriesReport]] = defaultdict(list)
    for r in report.series:
        groups[r.series.metric].append(r)
    written = []
    for metric, group in sorted(groups.items()):
        path = out_dir / f"{metric.removeprefix(PREFIX)}.png"
        _draw(path, metric, group, recording)
        written.append(path)
    return written
