"""``flujo-otel report``: formats, plots and one-line errors."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from opentelemetry.instrumentation.flujo._internal.catalog import MIB, PREFIX
from opentelemetry.instrumentation.flujo.tools.analysis.load import load
from opentelemetry.instrumentation.flujo.tools.analysis.report import build
from opentelemetry.instrumentation.flujo.tools.cli import main
from recordings import T0, row, write

from conftest import require

CLI = "from opentelemetry.instrumentation.flujo.tools.cli import main; raise SystemExit(main())"


def _recording(path: Path, memory_mib: float = 300.0) -> Path:
    rows = []
    for i in range(30):
        t = T0 + 10 * i
        rows.append(row(t, "api", "memory.usage", (memory_mib + (400 if i == 20 else 0)) * MIB))
        rows.append(row(t, "api", "cache.hit_ratio", 0.5 + 0.001 * (i % 3)))
        rows.append(row(t, "worker", "execution.avg_duration", 0.25))
    return write(path, rows)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_markdown_is_the_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "report", str(_recording(tmp_path / "r.csv")))
    assert code == 0
    assert out.startswith("# flujo performance report")
    assert "| api | memory.usage | warning |" in out  # the 700 MiB point
    assert "| worker | execution.avg_duration | 30 | 250 ms |" in out


def test_json_and_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    current = str(_recording(tmp_path / "r.jsonl", 400.0))
    baseline = str(_recording(tmp_path / "b.csv"))
    code, out, _ = _run(capsys, "report", current, "--baseline", baseline, "--format", "json")
    assert code == 0
    data = json.loads(out)
    memory = next(s for s in data["series"] if s["metric"].endswith("memory.usage"))
    assert memory["comparison"]["verdict"] == "regression"
    assert memory["comparison"]["good"] == "lower"
    assert memory["unit"] == "By" and memory["summary"]["count"] == 30
    code, out, _ = _run(capsys, "report", current, "--baseline", baseline, "--format",
                        "html", "--output", str(tmp_path / "r.html"))
    page = (tmp_path / "r.html").read_text()
    assert code == 0 and out == ""
    assert page.startswith("<!doctype html>") and "<td class='regression'>regression</td>" in page


def test_plots_one_png_per_metric(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        import matplotlib.image
    except ImportError:
        matplotlib = None
    require(matplotlib is not None, "matplotlib")
    code, out, _ = _run(capsys, "report", str(_recording(tmp_path / "r.csv")),
                        "--plots", str(tmp_path / "plots"))
    assert code == 0
    pngs = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert pngs == ["cache.hit_ratio.png", "execution.avg_duration.png", "memory.usage.png"]
    for name in pngs:
        path = tmp_path / "plots" / name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        height, width, _ = matplotlib.image.imread(path).shape
        assert (width, height) == (1100, 500)
        assert f"]({path})" in out  # linked from the Markdown


@pytest.mark.parametrize(("setup", "argv", "message"), [
    (lambda d: None, ["missing.csv"], "cannot read {d}/missing.csv: No such file or directory"),
    (lambda d: (d / "e.csv").write_text("timestamp,executor,metric,value,unit\n"),
     ["e.csv"], "{d}/e.csv has no data rows"),
    (lambda d: (d / "x.csv").write_text("a,b\n1,2\n"), ["x.csv"],
     "{d}/x.csv is not a flujo recording (no column timestamp, executor, metric, value, unit)"),
    (lambda d: _recording(d / "r.csv"), ["r.csv", "--metric", "memory.usgae"],
     "unknown metric 'memory.usgae' (did you mean 'memory.usage'?); recorded: cache.hit_ratio, execution.avg_duration, "
     "memory.usage"),
    (lambda d: (_recording(d / "r.csv"), write(d / "m.csv", [
        row(T0, "api", "memory.usage", 300, unit="MiB")])), ["r.csv", "m.csv"],
     "flujo.executor.memory.usage is recorded in two units ('By' and 'MiB'); report on "
     "recordings of one version"),
])
def test_clear_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], setup: object,
                               argv: list[str], message: str) -> None:
    setup(tmp_path)  # type: ignore[operator]
    files = [str(tmp_path / a) if a.endswith(".csv") else a for a in argv]
    code, out, err = _run(capsys, "report", *files)
    assert code == 2 and out == ""
    assert err == f"flujo-otel: error: {message.format(d=tmp_path)}\n"


def test_metric_filter_accepts_short_names(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "report", str(_recording(tmp_path / "r.csv")), "--metric",
                        "cache.hit_ratio", "--format", "json")
    assert code == 0
    assert {s["metric"] for s in json.loads(out)["series"]} == {"flujo.executor.cache.hit_ratio"}


@pytest.mark.slow
def test_a_healthy_demo_recording_reports_nothing_wrong(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    """30 s of the real demo through the flujo_csv exporter: no alert while it runs, and
    the report finds no anomaly, no worsening trend and no breach in it."""
    recording = tmp_path / "demo.csv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(OTEL_METRICS_EXPORTER="flujo_csv", OTEL_METRIC_EXPORT_INTERVAL="1000",
               OTEL_PYTHON_FLUJO_CSV_PATH=str(recording))
    demo = subprocess.run([sys.executable, "-c", CLI, "demo", "--duration", "30"], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert demo.returncode == 0, demo.stderr
    assert "ALERT" not in demo.stdout + demo.stderr
    code, out, _ = _run(capsys, "report", str(recording), "--format", "json")
    assert code == 0
    series = json.loads(out)["series"]
    assert len(series) > 30 and max(s["summary"]["count"] for s in series) >= 25
    # The demo's throughput follows the CPU the machine gives it: on a loaded machine
    # a dip in executions per second is a true anomaly of that recording (the
    # known-answer tests prove such dips are found), not a false one of the report.
    throughput = {"flujo.executor.executions"}
    assert [s["metric"] for s in series
            if s["anomalies"] and s["metric"] not in throughput] == []
    assert [s["metric"] for s in series if s["trend"] and s["trend"]["verdict"] == "worsening"
            ] == []
    assert [s["metric"] for s in series if s["episodes"]] == []


def _figure(tmp_path: Path, short: str, rows: list[dict[str, object]]) -> Any:
    require(importlib.util.find_spec("matplotlib") is not None, "matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from opentelemetry.instrumentation.flujo.tools.analysis.plots import clock_of, figure

    path = write(tmp_path / f"{short}.csv", rows)
    recording = load([str(path)])
    report = build(recording, [str(path)])
    fig = figure(PREFIX + short, report.series, recording, clock_of(report))
    fig.canvas.draw()
    return fig


def test_plots_draw_states_as_named_steps_on_a_time_axis_with_its_unit(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    # 30 s: closed, open for 5 s, half_open for 2 s, closed again.
    timeline = ["closed"] * 10 + ["open"] * 5 + ["half_open"] * 2 + ["closed"] * 13
    rows = [row(T0 + i, "api", "circuit_breaker.status", float(state == current),
                flujo__circuit_breaker__state=state)
            for i, current in enumerate(timeline) for state in ("closed", "open", "half_open")]
    fig = _figure(tmp_path, "circuit_breaker.status", rows)
    try:
        ax = fig.axes[0]
        assert [t.get_text() for t in ax.get_yticklabels()] == ["closed", "half_open", "open"]
        assert ax.get_ylabel() == ""  # states, not "%"
        (line,) = ax.get_lines()
        # half_open is its own step between open and closed, not hidden under open.
        assert list(line.get_ydata()) == [{"closed": 0, "half_open": 1, "open": 2}[s]
                                          for s in timeline]
        assert list(line.get_xdata()) == list(range(30))
        assert ax.get_xlabel() == "seconds since 2023-11-14 22:13:20Z"
        legend, axes = ax.get_legend().get_window_extent(), ax.get_window_extent()
        assert legend.x0 >= axes.x1  # beside the data, not over it
    finally:
        plt.close(fig)


def test_plots_of_hours_count_hours_and_keep_limits_in_the_legend(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    rows = [row(T0 + 600 * i, "api", "cache.hit_ratio", 0.5) for i in range(30)]  # 4 h 50 min
    fig = _figure(tmp_path, "cache.hit_ratio", rows)
    try:
        ax = fig.axes[0]
        assert ax.get_xlabel().startswith("hours since ")
        assert max(ax.get_lines()[0].get_xdata()) == pytest.approx(29 * 600 / 3600)
        assert ax.get_ylabel() == "%"
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels == ["api", "warning limit", "critical limit"]
        assert ax.get_legend().get_window_extent().x0 >= ax.get_window_extent().x1
    finally:
        plt.close(fig)


def test_baseline_first_or_last_reads_the_same(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    current = str(_recording(tmp_path / "new.csv", 400.0))
    baseline = str(_recording(tmp_path / "old.csv"))
    _, after, _ = _run(capsys, "report", current, "--baseline", baseline, "--format", "json")
    code, before, err = _run(capsys, "report", "--baseline", baseline, current,
                             "--format", "json")
    assert code == 0, err
    assert json.loads(before) == json.loads(after)
    assert json.loads(before)["baseline_files"] == [baseline]


def test_a_recording_too_short_to_judge_says_so_and_draws_no_chart(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One collection (a 30 s demo at the default 60 s export interval): no "stable", no
    chart of a legend without a line."""
    require(importlib.util.find_spec("matplotlib") is not None, "matplotlib")
    path = write(tmp_path / "one.csv", [row(T0, "demo", "memory.usage", 300 * MIB),
                                        row(T0, "demo", "cache.hit_ratio", 0.9)])
    code, out, err = _run(capsys, "report", str(path), "--plots", str(tmp_path / "plots"))
    assert code == 0
    intro = out.split("\n## ", 1)[0]
    assert "Too short to judge: at most 1 point(s) per series" in intro
    assert "OTEL_METRIC_EXPORT_INTERVAL" in intro
    assert "2 of fewer than 10 points: not judged" in out
    assert not list((tmp_path / "plots").glob("*.png"))
    assert "no charts drawn" in err
    # Long enough: no warning.
    code, out, _ = _run(capsys, "report", str(_recording(tmp_path / "long.csv")))
    assert "too short" not in out.lower()


def test_a_short_demo_recording_holds_more_than_the_export_at_exit(tmp_path: Path) -> None:
    """The demo exports every second unless told otherwise: at the SDK's 60 s default a
    30 s demo recorded one point, and report could judge nothing."""
    path = tmp_path / "demo.csv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(OTEL_METRICS_EXPORTER="flujo_csv", OTEL_PYTHON_FLUJO_CSV_PATH=str(path))
    subprocess.run([sys.executable, "-c", CLI, "demo", "--duration", "3.5"], env=env,
                   capture_output=True, text=True, timeout=120, check=True)
    recording = load([str(path)])
    memory = next(s for s in recording.series.values() if s.metric == PREFIX + "memory.usage")
    assert len(memory.values) >= 2
