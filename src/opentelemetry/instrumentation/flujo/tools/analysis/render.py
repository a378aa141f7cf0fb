"""A ``Report`` as Markdown (default), HTML or JSON. Markdown and HTML show the same
sections in human units; JSON carries the numbers in the metrics' own units."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from opentelemetry.instrumentation.flujo._internal.formatting import human, number
from opentelemetry.instrumentation.flujo.tools.analysis.report import (
    MIN_TREND_POINTS,
    Report,
    SeriesReport,
)

MAX_ANOMALIES_SHOWN = 3


@dataclass
class Section:
    title: str
    headers: tuple[str, ...] = ()
    rows: list[tuple[str, ...]] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)


def when(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def duration(seconds: float) -> str:
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h {m:02d}m {s:02d}s" if h else f"{m}m {s:02d}s" if m else f"{s}s"


def _signed(value: float, unit: str) -> str:
    sign = "+" if value > 0 else ""
    if unit == "1":  # a change of a ratio is in percentage points, not percent
        return f"{sign}{number(value * 100)} pp"
    return sign + human(value, unit)


_RATE_UNITS = ((86400.0, " per day"), (3600.0, " per h"), (60.0, " per min"), (1.0, " per s"))


def rate_unit(span: float) -> tuple[float, str]:
    """(seconds, suffix) of the largest unit of time ``span`` seconds cover: a slope
    over 30 s is shown per second, never per hour."""
    return next(((s, u) for s, u in _RATE_UNITS if span >= s), _RATE_UNITS[-1])


def _tolerance(report: Report) -> str:
    return f"{report.options.tolerance:.0%} of the warning limit (of the mean without one)"


def _p(p: float | None) -> str:
    return "-" if p is None else "<0.001" if p < 0.001 else f"{p:.3f}"


def _who(r: SeriesReport) -> tuple[str, str]:
    return r.series.executor or "-", r.series.label


def sections(report: Report) -> list[Section]:
    out = []
    if report.recommendations:
        out.append(Section("Recommendations", bullets=report.recommendations))
    if report.baseline_files:
        compared = [r for r in report.series if r.comparison]
        s = Section("Against the baseline",
                    ("executor", "metric", "baseline", "now", "change", "p", "verdict"))
        for r in compared:
            c, unit = r.comparison, r.series.unit
            if c is None or c.verdict == "unchanged":
                continue
            rel = "" if c.relative is None else f" ({c.relative:+.0%})"
            s.rows.append((*_who(r), human(c.baseline_mean, unit), human(c.mean, unit),
                           _signed(c.change, unit) + rel, _p(c.p_value), c.verdict))
        unchanged = sum(1 for r in compared if r.comparison and
                        r.comparison.verdict == "unchanged")
        s.bullets.append(f"{unchanged} of {len(compared)} compared series unchanged "
                         f"(tolerance {report.options.tolerance:.0%}, alpha "
                         f"{report.options.alpha:g})")
        out.append(s)
    s = Section("Threshold breach episodes",
                ("executor", "metric", "level", "start", "end", "duration", "worst"))
    for r in report.series:
        for e in r.episodes:
            s.rows.append((*_who(r), e.level, when(e.start),
                           when(e.end) + (" (ongoing)" if e.ongoing else ""),
                           duration(e.duration_s), human(e.worst, r.series.unit)))
    out.append(s)
    short = sum(1 for r in report.series if len(r.series.values) < MIN_TREND_POINTS)
    s = Section("Trends", ("executor", "metric", "direction", "change", "over", "rate", "p",
                           "verdict"))
    for r in report.series:
        t = r.trend
        if t is not None and t.direction != "stable":
            seconds, per = rate_unit(t.span)
            s.rows.append((*_who(r), t.direction, _signed(t.change, r.series.unit),
                           duration(t.span), _signed(t.slope * seconds, r.series.unit) + per,
                           _p(t.p_value), t.verdict or "-"))
    s.bullets.append(f"least-squares slope, two-sided t-test, alpha {report.options.alpha:g}; "
                     f"the change over the recording is at least {_tolerance(report)}; "
                     "the rate is per the largest unit the recording spans (never "
                     "extrapolated); the other series are stable"
                     + (f", but for {short} of fewer than {MIN_TREND_POINTS} points: not judged"
                        if short else ""))
    out.append(s)
    s = Section("Anomalies", ("executor", "metric", "count", "examples"))
    for r in report.series:
        if r.anomalies:
            shown = sorted(r.anomalies, key=lambda a: -abs(a.score))[:MAX_ANOMALIES_SHOWN]
            s.rows.append((*_who(r), str(len(r.anomalies)), "; ".join(
                f"{when(a.time)} {human(a.value, r.series.unit)} (z {a.score:+.1f})"
                for a in shown)))
    settled = sum(1 for r in report.series if r.warm_up or r.wind_down)
    s.bullets.append("modified z-score (median/MAD) beyond 3.5, from the trend line where "
                     f"there is a trend, and at least {_tolerance(report)} away from it")
    s.bullets.append(f"not searched: warm-up and wind-down, points at the start or end of "
                     f"{settled} series off the line their middle keeps to; states and counts "
                     "of a few integer values (their limits judge them)")
    out.append(s)
    s = Section("Summary", ("executor", "metric", "points", "mean", "min", "max", "p95"))
    for r in report.series:
        m, unit = r.summary, r.series.unit
        s.rows.append((*_who(r), str(m.count), *(human(v, unit)
                       for v in (m.mean, m.min, m.max, m.p95))))
    s.bullets.append("counters are shown as per-second rates")
    out.append(s)
    if report.notes:
        out.append(Section("Notes", bullets=report.notes))
    return out


def _intro(report: Report) -> list[str]:
    times = [t for r in report.series for t in (r.series.times[0], r.series.times[-1])]
    lines = [f"Recordings: {', '.join(report.files)}"]
    if report.too_short:
        lines.insert(0, report.too_short[0].upper() + report.too_short[1:])
    if report.baseline_files:
        lines.append(f"Baseline: {', '.join(report.baseline_files)}")
    if times:
        lines.append(f"From {when(min(times))} to {when(max(times))}, "
                     f"{len(report.series)} series")
    return lines


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(report: Report) -> str:
    out = ["# flujo performance report", "", *(f"- {line}" for line in _intro(report))]
    for s in sections(report):
        out += ["", f"## {s.title}", ""]
        if s.headers:
            if s.rows:
                out.append("| " + " | ".join(s.headers) + " |")
                out.append("|" + "---|" * len(s.headers))
                out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in s.rows]
            else:
                out.append("None.")
            if s.bullets:
                out.append("")
        out += [f"- {_md_cell(b)}" for b in s.bullets]
    return "\n".join(out).rstrip() + "\n"


_CSS = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
        "padding:.2em .6em;text-align:left}th{background:#eee}"
        ".regression,.critical,.worsening{color:#b00;font-weight:bold}"
        ".warning{color:#a60}.improvement,.improving{color:#070}")


def page(report: Report, images: list[str] | None = None) -> str:
    e = html.escape
    out = ["<!doctype html><html><head><meta charset='utf-8'>",
           f"<title>flujo performance report</title><style>{_CSS}</style></head><body>",
           "<h1>flujo performance report</h1><ul>",
           *(f"<li>{e(line)}</li>" for line in _intro(report)), "</ul>"]
    for s in sections(report):
        out.append(f"<h2>{e(s.title)}</h2>")
        if s.headers:
            if s.rows:
                out.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in s.headers)
                           + "</tr>")
                out += ["<tr>" + "".join(f"<td class='{e(c)}'>{e(c)}</td>" for c in row)
                        + "</tr>" for row in s.rows]
                out.append("</table>")
            else:
                out.append("<p>None.</p>")
        if s.bullets:
            out.append("<ul>" + "".join(f"<li>{e(b)}</li>" for b in s.bullets) + "</ul>")
    for image in images or []:
        out.append(f"<p><img src='{e(image)}' alt='{e(image)}'></p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _series(r: SeriesReport) -> dict[str, Any]:
    s = r.series
    return {
        "executor": s.executor, "metric": s.metric, "attributes": dict(s.attributes),
        "unit": s.unit, "rate": s.rate, "summary": vars(r.summary),
        "trend": vars(r.trend) if r.trend else None,
        "anomalies": [vars(a) for a in r.anomalies],
        "episodes": [{**vars(e), "duration_s": e.duration_s} for e in r.episodes],
        "comparison": vars(r.comparison) if r.comparison else None,
    }


def to_json(report: Report) -> str:
    return json.dumps({
        "files": report.files, "baseline_files": report.baseline_files,
        "options": vars(report.options), "recommendations": report.recommendations,
        "notes": report.notes, "too_short": report.too_short,
        "series": [_series(r) for r in report.series],
    }, indent=2) + "\n"
