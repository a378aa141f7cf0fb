"""``python -m bench.flujo_parts`` (the breakdown of a real run's timed cost by hook)
runs against real flujo and reports every state; its figures are not asserted (speed is
measured in the bench, not in tests)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from flujo_support import APP_PYTHONPATH

from conftest import ROOT

pytestmark = pytest.mark.flujo


def test_the_parts_bench_reports_every_state(tmp_path: object) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), APP_PYTHONPATH])
    done = subprocess.run([sys.executable, "-m", "bench.flujo_parts", "1", "1"],
                          check=False, cwd=str(tmp_path), env=env, capture_output=True,
                          text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("off: ") and "(1 blocks of 1 runs)" in lines[0]
    assert [line.split()[0] for line in lines[1:]] == ["all", "shape", "executions", "runs"]
    assert all("us per run" in line for line in lines[1:])
