"""The benchmark suite runs and writes every figure (speed is never asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

FIGURES = {
    "collection.n1", "collection.n10", "collection.n100", "collection.n1000",
    "collection.zero_code.n10", "collection.zero_code.n100",
    "collection.slope", "stats_calls", "naive", "naive.ceiling", "thresholds.share",
    "plugin.share", "prometheus",
    "memory.per_executor", "memory.per_name", "memory.churn", "otlp.bytes",
    "otlp.bytes_gzip", "flujo.e2e", "flujo.e2e_inprocess", "flujo.bookkeeping", "flujo.total", "flujo.memory", "flujo.run",
    "flujo.agent_run", "flujo.totals", "flujo.pending", "shape.points", "shape.bytes", "shape.collection", "shape.with_runs", "shape.previous",
}
# Measured only where their layer is installed; otherwise "n/a" with the reason.
OPTIONAL = {"thresholds.share", "flujo.e2e", "flujo.e2e_inprocess", "flujo.bookkeeping", "flujo.total", "flujo.memory",
            "flujo.run", "flujo.agent_run", "flujo.totals", "flujo.pending"}


# Minutes on a busy 2-core machine; no time limit (the timeout is a hang guard): how long
# it takes is the benchmark's business, this test only checks that every figure is produced.
@pytest.mark.slow
def test_smoke_run_writes_every_figure(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=3600, check=False)  # hang guard
    assert done.returncode == 0, done.stderr
    results = json.loads(output.read_text())
    figures = {f["id"]: f for f in results["figures"]}
    assert set(figures) == FIGURES
    for figure_id, figure in figures.items():
        if figure["value"] is None:
            assert figure_id in OPTIONAL, figure
            assert figure["note"], figure
        else:
            assert figure["value"] >= 0, figure
        assert figure["label"] in done.stdout
    # Counted, not timed: exactly one stats read per executor per collection, and the
    # export shape (issue 12): <= 60 points and 4 KB per name, the previous one beside.
    assert figures["stats_calls"]["met"] is True
    assert figures["shape.points"]["met"] is True and figures["shape.bytes"]["met"] is True
    assert figures["shape.previous"]["value"] > 2 * figures["shape.points"]["value"]
    assert results["machine"]["nproc"]
    assert results["machine"]["python"]


def test_an_interval_over_processes_carries_what_shifts_a_whole_process(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Values measured in several processes, one group each: the median's interval
    resamples the processes too, so a process whose layout shifts all its values widens
    it; pooled as one group, the same values would look more certain than they are."""
    monkeypatch.syspath_prepend(str(ROOT))  # the bench is run from the checkout's root
    from bench.flujo_e2e import with_interval

    steps = [0.0, 0.01, 0.02] * 10
    groups = [[1.00 + s for s in steps], [1.04 + s for s in steps], [1.02 + s for s in steps]]
    pooled = with_interval([value for group in groups for value in group])
    by_process = with_interval(*groups)
    assert by_process["median"] == pooled["median"] == pytest.approx(1.03)
    assert by_process["n"] == pooled["n"] == 90
    low, high = by_process["ci95"]
    assert low < pooled["ci95"][0] and high > pooled["ci95"][1]
    # every process's own median (1.01, 1.05, 1.03) is within it
    assert low <= 1.01 + 1e-9 and high >= 1.05 - 1e-9
