"""The examples run as documented."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT
from receivers import HttpReceiver

BIN = Path(sys.executable).parent


def test_manual_instrumentation_example_prints_both_executors() -> None:
    result = subprocess.run([sys.executable, "examples/manual_instrumentation.py"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=True)
    assert "reference  flujo.executor.memory.usage" in result.stdout
    assert "mine       flujo.executor.cache.hit_ratio" in result.stdout
    # Each executions row says its outcome, as the docstring says.
    assert "mine       flujo.executor.executions{outcome=failure} " in result.stdout
    # A healthy workload: no alert (they are logged to stderr).
    assert "ALERT" not in result.stdout + result.stderr


def test_live_dashboard_example_on_its_healthy_workload_raises_no_alert() -> None:
    """The cold start (a 0 % cache hit ratio) is not observed: no alert that clears
    within seconds."""
    result = subprocess.run([sys.executable, "examples/live_dashboard.py", "3"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "checkout" in result.stdout and "cache.hit_ratio" in result.stdout
    assert "ALERT" not in result.stdout + result.stderr


def test_otlp_from_env_example_exports_the_demo() -> None:
    with HttpReceiver() as receiver:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        env.update(PATH=f"{BIN}:{env['PATH']}", DURATION="1.5",
                   OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
                   OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf", OTEL_METRIC_EXPORT_INTERVAL="500")
        result = subprocess.run(["sh", "examples/otlp_from_env.sh"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        points = receiver.wait_for(lambda ps: any(p.metric == "flujo.executor.cache.hit_ratio"
                                                  for p in ps))
        assert points[-1].resource["service.name"] == "flujo-demo"
        assert "demo" in {p.attributes.get("flujo.executor.name") for p in points}
