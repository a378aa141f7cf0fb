"""A report over recordings: per series summary, trend, anomalies, breach episodes,
comparison with a baseline, and the recommendations that follow. Pure: no I/O."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from opentelemetry.instrumentation.flujo.tools.analysis.advice import advice
from opentelemetry.instrumentation.flujo.tools.analysis.compare import Comparison, compare
from opentelemetry.instrumentation.flujo.tools.analysis.episodes import (
    Episode,
    episodes,
    point_states,
)
from opentelemetry.instrumentation.flujo.tools.analysis.limits import (
    good_direction,
    state_rule,
    warning_limit,
)
from opentelemetry.instrumentation.flujo.tools.analysis.load import Recording, Series
from opentelemetry.instrumentation.flujo.tools.analysis.stats import (
    ANOMALY_Z,
    Summary,
    fit_line,
    robust_spread,
    summarise,
)

MIN_TREND_POINTS = 10
MIN_ANOMALY_POINTS = 8
MIN_CHART_POINTS = 2  # one point draws a legend and no line
EDGE_SHARE = 0.25  # warm-up and wind-down last at most a quarter of a series each


@dataclass(frozen=True)
class Options:
    alpha: float = 0.01  # significance level of trend and baseline tests
    # The smallest change that counts: against a baseline, this fraction of the
    # baseline's mean; for a trend over the recording and for an anomaly's distance
    # from the expected value, this fraction of the metric's warning limit (of its mean
    # when it has none). Significance alone would report 0.001 ms wobbles.
    tolerance: float = 0.2


@dataclass(frozen=True)
class Trend:
    slope: float  # unit per second
    p_value: float
    change: float  # fitted change over the span
    span: float  # seconds fitted: the recording after its warm-up
    direction: str  # increasing | decreasing | stable
    verdict: str | None  # worsening | improving | None (no good direction, or stable)


@dataclass(frozen=True)
class Anomaly:
    time: float
    value: float
    score: float  # modified z-score


@dataclass
class SeriesReport:
    series: Series
    summary: Summary
    # Leading and trailing points (``settling``) left out of the trend and anomaly search.
    warm_up: int = 0
    wind_down: int = 0
    trend: Trend | None = None
    anomalies: list[Anomaly] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)
    comparison: Comparison | None = None


@dataclass
class Report:
    files: list[str]
    baseline_files: list[str]
    options: Options
    series: list[SeriesReport]
    recommendations: list[str]
    notes: list[str]
    # Why the recording cannot be judged (too few points), said before any finding:
    # "stable" and "no anomalies" mean nothing over one or two collections.
    too_short: str | None = None


def too_short(reports: list[SeriesReport]) -> str | None:
    """The plain warning for a recording whose longest series is too short for a trend."""
    longest = max((len(r.series.values) for r in reports), default=0)
    if longest >= MIN_TREND_POINTS:
        return None
    return (f"too short to judge: at most {longest} point(s) per series, and a trend needs "
            f"{MIN_TREND_POINTS}, an anomaly search {MIN_ANOMALY_POINTS}, a chart "
            f"{MIN_CHART_POINTS}; record for longer or export more often (one point per "
            "export: OTEL_METRIC_EXPORT_INTERVAL, in ms, defaults to 60000)")


def yardstick(series: Series) -> float:
    """What a change of ``series`` is measured against: its warning limit, else its mean."""
    limit = None if series.rate else warning_limit(series.metric)
    return abs(limit) if limit else abs(statistics.fmean(series.values))


def _line(times: list[float], values: list[float]) -> Callable[[float], float]:
    """The least-squares line through the points, or their median when there is none."""
    fit = fit_line(times, values)
    if fit is None:
        median = statistics.median(values)
        return lambda t: median
    return lambda t: fit.intercept + fit.slope * (t - times[0])


def settling(series: Series) -> tuple[int, int]:
    """(warm-up, wind-down): how many leading and trailing points are off the line the
    middle of the series keeps to, as the hit ratio of a cold cache, an average over a
    few samples, or the throughput of the interval in which the application stopped
    are. Each within a quarter of the series, and only runs that reach its ends: a
    series that starts and ends on its line has neither."""
    n = len(series.values)
    edge = int(n * EDGE_SHARE)
    if n < MIN_ANOMALY_POINTS or edge == 0:
        return 0, 0
    times, values = series.times[edge:n - edge], series.values[edge:n - edge]
    line = _line(times, values)
    centre, scale = robust_spread([v - line(t) for t, v in zip(times, values, strict=True)])

    def off(i: int) -> bool:
        return abs(series.values[i] - line(series.times[i]) - centre) > ANOMALY_Z * scale

    head = next((i for i in range(edge) if not off(i)), edge)
    tail = next((i for i in range(edge) if not off(n - 1 - i)), edge)
    return head, tail


def trend(series: Series, options: Options, kept: slice = slice(None)) -> Trend | None:
    """The trend of the ``kept`` points; none for a state (its episodes say it)."""
    times, values = series.times[kept], series.values[kept]
    if len(values) < MIN_TREND_POINTS or state_rule(series.metric) is not None:
        return None
    fit = fit_line(times, values)
    if fit is None:
        return None
    span = times[-1] - times[0]
    change = fit.slope * span
    moving = fit.p_value < options.alpha and abs(change) >= options.tolerance * yardstick(series)
    direction = "stable" if not moving else "increasing" if change > 0 else "decreasing"
    good = None if series.rate else good_direction(series.metric)
    verdict = None
    if moving and good is not None:
        verdict = "improving" if (change < 0) == (good == "lower") else "worsening"
    return Trend(fit.slope, fit.p_value, change, span, direction, verdict)


def anomalies(series: Series, fitted: Trend | None, options: Options,
              kept: slice = slice(None)) -> list[Anomaly]:
    """Robust outliers among the ``kept`` points, measured from the trend line
    when there is a trend (a steady climb is not a string of anomalies), and at least
    ``tolerance`` of the yardstick away. A series of few integer values has none: its
    spread is no yardstick (a 0/1 count's every change would be an outlier)."""
    times, values = series.times[kept], series.values[kept]
    if series.discrete or len(values) < MIN_ANOMALY_POINTS:
        return []
    residuals = values
    if fitted is not None and fitted.direction != "stable":
        # The trend's own line, fitted over these points: its intercept is left out, the
        # median of the residuals (robust_spread's centre) takes it off again.
        residuals = [v - fitted.slope * (t - times[0]) for t, v in zip(times, values, strict=True)]
    centre, scale = robust_spread(residuals)
    smallest = options.tolerance * yardstick(series)
    return [Anomaly(t, v, (r - centre) / scale)
            for t, v, r in zip(times, values, residuals, strict=True)
            if abs(r - centre) > ANOMALY_Z * scale and abs(r - centre) >= smallest]


def _recommendations(reports: list[SeriesReport]) -> list[str]:
    out: dict[str, list[str]] = {}
    for r in reports:
        text = advice(r.series.metric)
        if text is None:
            continue
        why = []
        if r.trend and r.trend.verdict == "worsening":
            why.append(f"{r.trend.direction}")
        if r.episodes:
            why.append(f"{len(r.episodes)} breach episode(s)")
        if r.comparison and r.comparison.verdict == "regression":
            why.append("regressed against the baseline")
        if why:
            out.setdefault(text, []).append(f"{r.series.label} on {r.series.executor or '-'}: "
                                            + ", ".join(why))
    return [f"{text} ({'; '.join(reasons)})" for text, reasons in out.items()]


def build(recording: Recording, files: list[str], baseline: Recording | None = None,
          baseline_files: list[str] | None = None, options: Options | None = None,
          progress: Callable[[int, int], None] = lambda done, total: None) -> Report:
    options = options or Options()
    reports = []
    items = sorted(recording.series.values(), key=lambda s: (s.metric, s.executor, s.attributes))
    notes = []
    for i, series in enumerate(items, 1):
        progress(i, len(items))
        if not series.values:
            continue
        r = SeriesReport(series, summarise(series.values), *settling(series))
        kept = slice(r.warm_up, len(series.values) - r.wind_down)
        r.trend = trend(series, options, kept)
        r.anomalies = anomalies(series, r.trend, options, kept)
        states = point_states(series, recording)
        if states is not None:
            r.episodes = episodes(series, states)
        if baseline is not None:
            other = baseline.series.get(series.key)
            if other is not None and other.values:
                r.comparison = compare(series, other, options.tolerance, options.alpha)
        reports.append(r)
    if recording.skipped:
        notes.append(f"skipped {recording.skipped} malformed row(s); first: "
                     f"{recording.first_skip}")
    if baseline is not None and not any(r.comparison for r in reports):
        notes.append("no series in common with the baseline (executor names differ?)")
    return Report(files, baseline_files or [], options, reports, _recommendations(reports),
                  notes, too_short(reports))
