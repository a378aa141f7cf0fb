"""Regressions and improvements against a baseline recording.

A change counts when it is both material and significant: relative change of the
mean at least ``tolerance`` (the guide's 20 %) and Welch's t-test p below ``alpha``
(when both sides have two or more points). Its verdict follows the metric's good
direction (``limits.good_direction``): worse is a regression, better an improvement,
and a metric without a clear direction is only "changed".

Zero baseline: a relative change from (almost) nothing is meaningless, so when the
baseline mean is below 1 % of the metric's warning limit (or exactly 0 for a metric
without limits) the absolute change is compared with ``tolerance`` x the limit
instead; without a limit, any significant change from 0 is "changed".
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from opentelemetry.instrumentation.flujo.tools.analysis.limits import good_direction, warning_limit
from opentelemetry.instrumentation.flujo.tools.analysis.load import Series
from opentelemetry.instrumentation.flujo.tools.analysis.stats import welch_p

_ZERO = 0.01


@dataclass(frozen=True)
class Comparison:
    baseline_mean: float
    mean: float
    change: float  # mean - baseline_mean
    relative: float | None  # change / baseline_mean; None for a zero baseline
    p_value: float | None
    good: str | None  # "lower" | "higher" | None
    verdict: str  # regression | improvement | changed | unchanged


def compare(series: Series, baseline: Series, tolerance: float = 0.2,
            alpha: float = 0.01) -> Comparison:
    base = statistics.fmean(baseline.values)
    mean = statistics.fmean(series.values)
    change = mean - base
    limit = None if series.rate else warning_limit(series.metric)
    zero = abs(base) <= (_ZERO * abs(limit) if limit else 0.0)
    relative = None if zero else change / abs(base)
    if relative is not None:
        material = abs(relative) >= tolerance
    elif limit:
        material = abs(change) >= tolerance * abs(limit)
    else:
        material = change != 0
    p = welch_p(series.values, baseline.values)
    significant = p is None or p < alpha
    good = None if series.rate else good_direction(series.metric)
    if not (material and significant):
        verdict = "unchanged"
    elif good is None:
        verdict = "changed"
    else:
        better = change < 0 if good == "lower" else change > 0
        verdict = "improvement" if better else "regression"
    return Comparison(base, mean, change, relative, p, good, verdict)
