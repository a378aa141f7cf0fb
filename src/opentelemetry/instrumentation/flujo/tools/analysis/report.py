"""A report over recordings: per series summary, trend, anomalies, breach episodes,
comparison with a baseline, and the recommendations that follow. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from opentelemetry.instrumentation.flujo.tools.analysis.advice import advice
from opentelemetry.instrumentation.flujo.tools.analysis.compare import Comparison, compare
from opentelemetry.instrumentation.flujo.tools.analysis.episodes import (
    Episode,
    episodes,
    point_states,
)
from opentelemetry.instrumentation.flujo.tools.analysis.limits import good_direction
from opentelemetry.instrumentation.flujo.tools.analysis.load import Recording, Series
from opentelemetry.instrumentation.flujo.tools.analysis.stats import (
    ANOMALY_Z,
    Summary,
    fit_line,
    modified_z,
    summarise,
)

MIN_TREND_POINTS = 10
MIN_ANOMALY_POINTS = 8


@dataclass(frozen=True)
class Options:
    alpha: float = 0.01  # significance level of trend and baseline tests
    min_change: float = 0.05  # a trend must move the mean by this fraction over the window
    tolerance: float = 0.2  # relative change against the baseline that counts


@dataclass(frozen=True)
class Trend:
    slope: float  # unit per second
    p_value: float
    change: float  # fitted change over the recording
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


def trend(series: Series, options: Options) -> Trend | None:
    if len(series.values) < MIN_TREND_POINTS:
        return None
    fit = fit_line(series.times, series.values)
    if fit is None:
        return None
    change = fit.slope * (series.times[-1] - series.times[0])
    level = max(abs(sum(series.values) / len(series.values)), 1e-12)
    moving = fit.p_value < options.alpha and abs(change) >= options.min_change * level
    direction = "stable" if not moving else "increasing" if change > 0 else "decreasing"
    good = None if series.rate else good_direction(series.metric)
    verdict = None
    if moving and good is not None:
        verdict = "improving" if (change < 0) == (good == "lower") else "worsening"
    return Trend(fit.slope, fit.p_value, change, direction, verdict)


def anomalies(series: Series, fitted: Trend | None) -> list[Anomaly]:
    """Robust outliers, measured from the trend line when there is a trend (a steady
    climb is not a string of anomalies)."""
    if len(series.values) < MIN_ANOMALY_POINTS:
        return []
    residuals = series.values
    if fitted is not None and fitted.direction != "stable":
        fit = fit_line(series.times, series.values)
        if fit is not None:
            t0 = series.times[0]
            residuals = [v - fit.intercept - fit.slope * (t - t0)
                         for t, v in zip(series.times, series.values, strict=True)]
    scores = modified_z(residuals)
    return [Anomaly(t, v, z) for t, v, z in zip(series.times, series.values, scores, strict=True)
            if abs(z) > ANOMALY_Z]


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
        r = SeriesReport(series, summarise(series.values))
        r.trend = trend(series, options)
        r.anomalies = anomalies(series, r.trend)
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
                  notes)
