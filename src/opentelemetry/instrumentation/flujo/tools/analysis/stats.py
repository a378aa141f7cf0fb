"""Summary statistics, least-squares trends with a t-test, Welch's test, robust anomalies.

Standard library only. The Student t distribution's tail comes from the regularized
incomplete beta function (continued fraction, as in Numerical Recipes 6.4), exact
enough for p-values at every sample size, so no normal approximation is needed.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

# Iglewicz and Hoaglin: |modified z| > 3.5 marks a potential outlier.
ANOMALY_Z = 3.5
_MAD_Z = 0.6745  # Phi^-1(0.75): makes the MAD a consistent estimator of sigma
_MEANAD_Z = 1.253314  # sqrt(pi/2): the same for the mean absolute deviation


def _betacf(a: float, b: float, x: float) -> float:
    tiny, eps = 1e-300, 1e-15
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with ``df`` degrees of freedom."""
    if math.isinf(t):
        return 0.0
    return betainc(df / 2.0, 0.5, df / (df + t * t))


@dataclass(frozen=True)
class Summary:
    count: int
    mean: float
    min: float
    max: float
    p95: float


def summarise(values: Sequence[float]) -> Summary:
    p95 = (statistics.quantiles(values, n=20, method="inclusive")[-1]
           if len(values) > 1 else values[0])
    return Summary(len(values), statistics.fmean(values), min(values), max(values), p95)


@dataclass(frozen=True)
class Fit:
    slope: float  # value units per second
    intercept: float
    p_value: float  # H0: slope = 0


def fit_line(times: Sequence[float], values: Sequence[float]) -> Fit | None:
    """Least squares ``value = intercept + slope * (time - times[0])`` and the slope's
    two-sided t-test (n - 2 degrees of freedom). None with fewer than 3 distinct times."""
    n = len(values)
    if n < 3:
        return None
    xs = [t - times[0] for t in times]
    mx, my = statistics.fmean(xs), statistics.fmean(values)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx <= 0:
        return None
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, values, strict=True)) / sxx
    intercept = my - slope * mx
    sse = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, values, strict=True))
    se = math.sqrt(sse / (n - 2) / sxx)
    if se == 0:
        return Fit(slope, intercept, 0.0 if slope else 1.0)
    return Fit(slope, intercept, t_two_sided_p(slope / se, n - 2))


def welch_p(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided p-value of Welch's t-test for equal means; None with fewer than 2 each."""
    if len(a) < 2 or len(b) < 2:
        return None
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    diff = statistics.fmean(a) - statistics.fmean(b)
    if va + vb == 0:
        return 0.0 if diff else 1.0
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return t_two_sided_p(diff / math.sqrt(va + vb), df)


def robust_spread(values: Sequence[float]) -> tuple[float, float]:
    """(median, scale) for modified z-scores: ``z = (v - median) / scale``. The scale is
    MAD / 0.6745 (Iglewicz and Hoaglin); when more than half the values are equal (MAD 0)
    the mean absolute deviation stands in; 0 for a constant series."""
    median = statistics.median(values)
    deviations = [abs(v - median) for v in values]
    mad = statistics.median(deviations)
    if mad > 0:
        return median, mad / _MAD_Z
    return median, _MEANAD_Z * statistics.fmean(deviations)
