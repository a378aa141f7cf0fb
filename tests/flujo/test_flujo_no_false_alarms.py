"""No alert without evidence: healthy real flujo pipelines under ``opentelemetry-instrument``
with two readers (OTLP to a receiver, and the JSONL recording exporter) raise no alert
event and export no threshold status other than ok."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flujo_support import APP_PYTHONPATH, require_flujo

from opentelemetry.instrumentation.flujo._internal.catalog import THRESHOLD_STATUS_PREFIX

from receivers import GrpcReceiver

pytestmark = [pytest.mark.flujo, pytest.mark.slow]

HERE = Path(__file__).parent
NAMES = {"plain", "parallel", "loop", "cached"}
# Shortened from the minute of the issue: 30 collections per reader at 0.5 s.
SECONDS = 15


def test_healthy_pipelines_raise_no_alert_with_two_readers(tmp_path: Path) -> None:
    require_flujo()
    recording = tmp_path / "metrics.jsonl"
    with GrpcReceiver() as receiver:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        env.update(
            OTEL_METRICS_EXPORTER="otlp,flujo_jsonl", OTEL_TRACES_EXPORTER="none",
            OTEL_LOGS_EXPORTER="none", OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_METRIC_EXPORT_INTERVAL="500",
            OTEL_PYTHON_FLUJO_JSONL_PATH=str(recording), OTEL_SERVICE_NAME="healthy",
            PYTHONPATH=APP_PYTHONPATH)
        instrument = Path(sys.executable).parent / "opentelemetry-instrument"
        done = subprocess.run(
            [str(instrument), sys.executable, str(HERE / "flujo_healthy.py"), str(SECONDS)],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=20 * SECONDS,
            check=False)
        points = receiver.points()
    assert done.returncode == 0, done.stderr[-3000:]
    runs = json.loads(next(line for line in done.stdout.splitlines()
                           if line.startswith("RUNS ")).removeprefix("RUNS "))
    assert set(runs) == NAMES and min(runs.values()) > 10, runs

    # No alert event reached Python logging (where a default setup shows WARNING+) ...
    alerts = [line for line in done.stderr.splitlines() if "ALERT" in line]
    assert alerts == [], alerts
    # ... and every threshold status either reader exported is ok (0), for every name.
    statuses = [p for p in points if p.metric.startswith(THRESHOLD_STATUS_PREFIX)]
    assert {p.attributes["flujo.executor.name"] for p in statuses} == NAMES
    assert {(p.metric, p.attributes["flujo.executor.name"]) for p in statuses
            if p.value != 0} == set()
    recorded = [json.loads(line) for line in recording.read_text().splitlines()]
    assert {row["executor"] for row in recorded} >= NAMES
    assert {row.get("threshold_state") for row in recorded} <= {"", "ok", None}

    # Evidence where there is some: the cached pipeline's hit ratio is exported (and
    # high), the others, whose inputs never repeat, have no hit ratio at all.
    hit_ratio = {p.attributes["flujo.executor.name"] for p in points
                 if p.metric == "flujo.executor.cache.hit_ratio"}
    assert hit_ratio == {"cached"}
    rates = [p.value for p in points if p.metric == "flujo.executor.memory.allocation_rate"]
    assert rates, "the allocation rate was never exported"
