"""``examples/flujo_pipeline.py`` runs as documented and prints what flujo did."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from flujo_support import require_flujo

from opentelemetry.instrumentation.flujo._internal.catalog import EXECUTION_DURATION

from conftest import ROOT

pytestmark = pytest.mark.flujo


def test_the_flujo_example_runs_and_measures_every_step(tmp_path: Path) -> None:
    require_flujo()
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "flujo_pipeline.py")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    durations = [line for line in lines if line.startswith(EXECUTION_DURATION.name + " ")]
    # Two runs of a three-step pipeline whose fan-out has three branch steps.
    steps = {"add_one", "flaky", "fan_out", "left", "right_1", "right_2"}
    assert {step for step in steps if any(f"'{step}'" in line for line in durations)} == steps
    assert all("count=2" in line for line in durations), durations
    assert any(line.startswith("flujo.executor.threshold.status") for line in lines)
