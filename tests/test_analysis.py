"""The report's statistics on synthetic recordings with known answers."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from opentelemetry.instrumentation.flujo._internal.catalog import BY_NAME, MIB, PREFIX
from opentelemetry.instrumentation.flujo.tools.analysis.advice import ADVICE
from opentelemetry.instrumentation.flujo.tools.analysis.load import load
from opentelemetry.instrumentation.flujo.tools.analysis.render import markdown
from opentelemetry.instrumentation.flujo.tools.analysis.report import Report, SeriesReport, build
from opentelemetry.instrumentation.flujo.tools.analysis.stats import (
    fit_line,
    robust_spread,
    t_two_sided_p,
    welch_p,
)
from recordings import T0, row, write

N, STEP = 120, 10.0  # 120 collections ten seconds apart: 20 minutes


def test_student_t_p_values_match_tables() -> None:
    assert t_two_sided_p(2.228, 10) == pytest.approx(0.05, abs=1e-4)
    assert t_two_sided_p(12.706, 1) == pytest.approx(0.05, abs=1e-4)
    assert t_two_sided_p(2.0, 10) == pytest.approx(0.0734, abs=1e-4)
    assert t_two_sided_p(1.96, 10**7) == pytest.approx(0.05, abs=1e-4)
    assert t_two_sided_p(0.0, 5) == 1.0


def test_least_squares_recovers_a_known_slope() -> None:
    rng = random.Random(1)
    times = [T0 + i * STEP for i in range(50)]
    fit = fit_line(times, [3.0 + 0.5 * (t - T0) + rng.gauss(0, 1) for t in times])
    assert fit is not None
    assert fit.slope == pytest.approx(0.5, abs=0.01) and fit.p_value < 1e-10
    assert welch_p([1.0, 1.0], [1.0, 1.0]) == 1.0


def test_modified_z_flags_only_the_outlier() -> None:
    values = [10, 11, 9, 10, 12, 10, 11, 9, 50]
    median, scale = robust_spread(values)
    assert [abs(v - median) / scale > 3.5 for v in values] == [False] * 8 + [True]
    assert robust_spread([5.0] * 6) == (5.0, 0.0)


def _series(rng: random.Random, executor: str, short: str, values: list[float],
            states: list[str] | None = None) -> list[dict[str, object]]:
    return [row(T0 + i * STEP, executor, short, v, (states or [""] * N)[i])
            for i, v in enumerate(values)]


def _current(tmp_path: Path) -> Path:
    rng = random.Random(42)
    rows: list[dict[str, object]] = []
    # Known slope: memory climbs 300 -> 450 MiB over the recording, small noise.
    rows += _series(rng, "api", "memory.usage",
                    [(300 + 150 * i / N + rng.uniform(-5, 5)) * MIB for i in range(N)])
    # The threshold engine recorded a 350 MiB warning limit (the default is 500 MiB).
    rows += [row(T0 + i * STEP, "api", "threshold.memory.usage", 350 * MIB, unit="By",
                 flujo__threshold__level="warning") for i in range(N)]
    # Noise around 0.2 s with two known spikes (beyond the 1 s warning limit).
    durations = [0.2 + rng.uniform(-0.02, 0.02) for _ in range(N)]
    durations[40], durations[90] = 1.5, 2.0
    rows += _series(rng, "api", "execution.avg_duration", durations)
    rows += _series(rng, "api", "cache.hit_ratio", [0.6 + rng.uniform(-0.02, 0.02)
                                                     for _ in range(N)])
    rows += _series(rng, "api", "error.ratio", [rng.uniform(0, 0.001) for _ in range(N)])
    rows += _series(rng, "api", "execution.failure_ratio", [0.08 + rng.uniform(-0.01, 0.01)
                                                             for _ in range(N)])
    # Recorded state wins: "warning" for 10 points though 0.1 is under the 0.2 limit.
    states = ["warning" if 50 <= i < 60 else "ok" for i in range(N)]
    rows += _series(rng, "api", "concurrency.contention_ratio", [0.1] * N, states)
    # Pure noise on twenty executors: no trend, no anomaly may be reported.
    for k in range(20):
        rows += _series(rng, f"noise-{k}", "queue.size", [10 + rng.uniform(-3, 3)
                                                          for _ in range(N)])
    # A counter, restarted half-way: 5 executions per second throughout.
    rows += [row(T0 + i * STEP, "api", "executions", 5 * STEP * (i % 60),
                 flujo__execution__outcome="success") for i in range(N)]
    return write(tmp_path / "current.csv", rows)


def _baseline(tmp_path: Path) -> Path:
    rng = random.Random(7)
    rows: list[dict[str, object]] = []
    rows += _series(rng, "api", "memory.usage", [(300 + rng.uniform(-5, 5)) * MIB
                                                 for _ in range(N)])
    rows += _series(rng, "api", "execution.avg_duration", [0.1 + rng.uniform(-0.02, 0.02)
                                                           for _ in range(N)])
    rows += _series(rng, "api", "cache.hit_ratio", [0.4 + rng.uniform(-0.02, 0.02)
                                                     for _ in range(N)])
    rows += _series(rng, "api", "error.ratio", [0.0] * N)
    rows += _series(rng, "api", "execution.failure_ratio", [0.0] * N)
    for k in range(20):
        rows += _series(rng, f"noise-{k}", "queue.size", [10 + rng.uniform(-3, 3)
                                                          for _ in range(N)])
    return write(tmp_path / "baseline.jsonl", rows)


@pytest.fixture
def report(tmp_path: Path) -> Report:
    current, baseline = _current(tmp_path), _baseline(tmp_path)
    return build(load([str(current)]), [str(current)], load([str(baseline)]), [str(baseline)])


def _one(report: Report, executor: str, short: str) -> SeriesReport:
    return next(r for r in report.series
                if r.series.executor == executor and r.series.metric == PREFIX + short)


def test_known_trend_is_found_and_noise_has_none(report: Report) -> None:
    trending = {(r.series.executor, r.series.label) for r in report.series
                if r.trend and r.trend.direction != "stable"}
    assert trending == {("api", "memory.usage")}
    memory = _one(report, "api", "memory.usage").trend
    assert memory is not None and memory.verdict == "worsening"
    assert memory.slope == pytest.approx(150 * MIB / (N * STEP), rel=0.05)


def test_known_anomalies_are_found_and_none_invented(report: Report) -> None:
    found = {(r.series.executor, r.series.label): [a.value for a in r.anomalies]
             for r in report.series if r.anomalies}
    assert found == {("api", "execution.avg_duration"): [1.5, 2.0]}


def test_breach_episodes_with_durations(report: Report) -> None:
    spikes = _one(report, "api", "execution.avg_duration").episodes
    # 1.5 s and 2 s: beyond the 1 s warning, under the 5 s critical; over at the next point.
    assert [(e.level, e.start - T0, e.duration_s, e.worst) for e in spikes] == [
        ("warning", 40 * STEP, STEP, 1.5), ("warning", 90 * STEP, STEP, 2.0)]
    contention = _one(report, "api", "concurrency.contention_ratio").episodes
    assert [(e.start - T0, e.duration_s, e.ongoing) for e in contention] == [
        (50 * STEP, 10 * STEP, False)]
    # Against the recorded 350 MiB limit (not the 500 MiB default), open at the end.
    memory = _one(report, "api", "memory.usage").episodes
    assert memory and memory[-1].ongoing and memory[-1].level == "warning"
    assert sum(e.duration_s for e in memory) == pytest.approx((N - 1) * STEP * 2 / 3,
                                                               rel=0.1)
    assert all(not r.episodes for r in report.series if r.series.executor.startswith("noise"))


def test_regressions_know_the_good_direction_and_the_zero_baseline(report: Report) -> None:
    verdicts = {(r.series.executor, r.series.label): r.comparison.verdict
                for r in report.series if r.comparison}
    assert verdicts.pop(("api", "memory.usage")) == "regression"
    assert verdicts.pop(("api", "execution.avg_duration")) == "regression"
    assert verdicts.pop(("api", "cache.hit_ratio")) == "improvement"  # higher is better
    assert verdicts.pop(("api", "execution.failure_ratio")) == "regression"  # 0 -> 8 %
    assert verdicts.pop(("api", "error.ratio")) == "unchanged"  # 0 -> 0.05 %: noise
    assert set(verdicts.values()) == {"unchanged"}  # the twenty noise series
    failure = _one(report, "api", "execution.failure_ratio").comparison
    assert failure is not None and failure.relative is None  # no ratio to a zero baseline


def test_counters_become_rates_across_a_restart(report: Report) -> None:
    executions = _one(report, "api", "executions")
    assert executions.series.rate and executions.series.unit == "{execution}/s"
    assert set(executions.series.values) == {5.0}
    assert len(executions.series.values) == N - 2  # the first point and the restart


def test_recommendations_follow_the_findings(report: Report) -> None:
    text = "\n".join(report.recommendations)
    assert "object pool" in text and "memory.usage on api" in text
    assert "bottlenecks" in text  # breach episodes and regression of avg_duration
    assert "cache size" not in text  # the hit ratio improved and never breached


def test_every_advice_names_a_catalog_metric() -> None:
    assert set(ADVICE) <= set(BY_NAME)


def _short_recording(tmp_path: Path) -> Report:
    """30 one-second points of a healthy start-up: what a 30 s demo recording holds."""
    rng = random.Random(3)
    n = 30
    rows: list[dict[str, object]] = []

    def add(short: str, values: list[float], **attributes: str) -> None:
        rows.extend(row(T0 + i, "app", short, v, **attributes) for i, v in enumerate(values))

    # A cold cache warming up: 50 %, 75 %, 85 %, then a slow climb with noise.
    add("cache.hit_ratio", [0.5, 0.75, 0.85] + [0.9 + 0.002 * i + rng.uniform(-0.002, 0.002)
                                                for i in range(n - 3)])
    # Microsecond wobbles far below the 10 ms limit, with one sharp but tiny outlier.
    overhead = [1e-6 + rng.uniform(-1e-8, 1e-8) for _ in range(n)]
    overhead[15] = 3e-6
    add("telemetry.overhead", overhead)
    # A planted spike in the middle: far beyond the noise and a sizeable part of the limit.
    durations = [0.2 + rng.uniform(-0.01, 0.01) for _ in range(n)]
    durations[12] = 0.9
    add("execution.avg_duration", durations)
    # 0/1 counts and states: every change is a "z-score" of thousands, and none matters.
    add("error.cached_patterns", [float(i % 7 != 3) for i in range(n)])
    for state in ("closed", "open", "half_open"):
        add("circuit_breaker.status", [float((state == "open") == (10 <= i < 12))
                                       for i in range(n)], flujo__circuit_breaker__state=state)
    # A throughput counter that stops with the application: the last interval is empty.
    done = [150.0 * i + rng.uniform(0, 10) for i in range(n - 1)]
    add("executions", [*done, done[-1]], flujo__execution__outcome="success")
    path = write(tmp_path / "short.csv", rows)
    return build(load([str(path)]), [str(path)])


def test_warm_up_wind_down_tiny_wobbles_and_states_are_not_anomalies(tmp_path: Path) -> None:
    report = _short_recording(tmp_path)
    found = {r.series.label: [round(a.value, 6) for a in r.anomalies]
             for r in report.series if r.anomalies}
    assert found == {"execution.avg_duration": [0.9]}
    assert _one(report, "app", "cache.hit_ratio").warm_up == 3
    assert _one(report, "app", "executions").wind_down == 1
    assert all(not (r.trend and r.trend.verdict == "worsening") for r in report.series)
    assert all(r.trend is None for r in report.series
               if r.series.metric.endswith("circuit_breaker.status"))


def test_a_short_recording_has_no_hourly_rates(tmp_path: Path) -> None:
    rows = [row(T0 + i, "app", "memory.usage", (100 + 5 * i) * MIB) for i in range(30)]
    path = write(tmp_path / "climb.csv", rows)
    report = build(load([str(path)]), [str(path)])
    text = markdown(report)
    line = next(ln for ln in text.splitlines() if "| memory.usage | increasing |" in ln)
    assert "+145 MiB | 29s | +5 MiB per s |" in line, line
    assert " per h" not in text and " per min" not in text
