"""``python -m bench.flujo_e2e --alternate`` (one process of the headline's in-process
alternation), ``python -m bench.flujo_parts`` (the breakdown of a real run's timed cost
by hook, and the hooks timed inside real runs) and ``python -m bench.flujo_versions``
(two versions of the plugin, process against process) run against real flujo and report
every state, hook and comparison; their figures are not asserted (speed is measured in
the bench, not in tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flujo_support import APP_PYTHONPATH

from conftest import ROOT

pytestmark = pytest.mark.flujo
ALTERNATION = "FLUJO-ALTERNATION "  # the line bench/flujo_e2e.py reads back


def parts_of(module: str, cwd: Path, *args: str) -> list[str]:
    """What ``python -m module args`` prints, run in ``cwd``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), APP_PYTHONPATH])
    done = subprocess.run([sys.executable, "-m", module, *args], check=False,
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.splitlines()


def parts(cwd: Path, *args: str) -> list[str]:
    return parts_of("bench.flujo_parts", cwd, *args)


def test_the_parts_bench_reports_every_state(tmp_path: Path) -> None:
    lines = parts(tmp_path, "1", "1")
    assert lines[0].startswith("off: ") and "(1 blocks of 1 runs)" in lines[0]
    assert [line.split()[0] for line in lines[1:]] == ["all", "shape", "executions", "runs",
                                                        "no_run_layer"]
    assert all("us per run" in line for line in lines[1:])


def test_the_hooks_are_timed_inside_real_runs(tmp_path: Path) -> None:
    calls = {line.split()[0]: float(line.split()[1]) for line in parts(tmp_path, "--in-run", "4")}
    # a three-step run whose steps report cost and tokens: three executions and
    # outputs, one run started and ended; no histogram point is recorded in the run
    # (PendingHistogram.record, timed too, is never called: the journals keep them)
    assert calls == {"Measured.end": 3.0, "Run.produced": 3.0, "runs._begin": 1.0,
                     "Spend.run_started": 1.0, "Spend.run_ended": 1.0}


def test_the_versions_bench_compares_two_sources(tmp_path: Path) -> None:
    """``python -m bench.flujo_versions``: the same source as both versions, one round."""
    src = str(ROOT / "src")
    lines = parts_of("bench.flujo_versions", tmp_path, src, src, "1", "2")
    assert lines[0].startswith("CPU per run, median of 1 rounds of 2 runs: base ")
    assert [line.split(" (")[0].rsplit(":", 1)[0] for line in lines[1:]] == [
        "base / off", "new / off", "new / base"]


def test_the_alternation_runs_in_a_process_of_its_own(tmp_path: Path) -> None:
    """The end-to-end bench's in-process alternation, as each of its processes runs it:
    one CPU time per run for each block, instrumented and not, in pairs."""
    line = next(x for x in parts_of("bench.flujo_e2e", tmp_path, "--alternate", "2", "1")
                if x.startswith(ALTERNATION))
    samples = json.loads(line.removeprefix(ALTERNATION))
    assert sorted(samples) == ["off", "on"]
    assert len(samples["on"]) == len(samples["off"]) == 2
    assert all(0 < seconds < 60 for state in samples.values() for seconds in state)


def test_the_alternation_alone_reports_its_processes(tmp_path: Path) -> None:
    """``--inprocess``: the headline's alternation run alone (for more processes)."""
    found = json.loads("\n".join(parts_of("bench.flujo_e2e", tmp_path, "--inprocess", "2",
                                          "1")))
    assert found["block_pairs"] == 2 and len(found["process_medians"]) == 2
    low, high = found["ratio_on_off"]["ci95"]
    assert 0 < low <= found["ratio_on_off"]["median"] <= high
