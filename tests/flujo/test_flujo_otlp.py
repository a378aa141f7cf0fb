"""Zero code changes: a plain flujo script under ``opentelemetry-instrument`` exports
over real OTLP numbers that match flujo's own step history."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flujo_support import APP_PYTHONPATH, require_flujo

from opentelemetry.instrumentation.flujo._internal.catalog import EXECUTION_DURATION, PREFIX

from receivers import GrpcReceiver, Point, latest

pytestmark = pytest.mark.flujo

HERE = Path(__file__).parent
NAME = "flujo.executor.name"


def run_instrumented(endpoint: str, cwd: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        OTEL_METRICS_EXPORTER="otlp", OTEL_TRACES_EXPORTER="none", OTEL_LOGS_EXPORTER="none",
        OTEL_EXPORTER_OTLP_PROTOCOL="grpc", OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_METRIC_EXPORT_INTERVAL="100", OTEL_SERVICE_NAME="flujo-workload",
        PYTHONPATH=APP_PYTHONPATH,
    )
    instrument = Path(sys.executable).parent / "opentelemetry-instrument"
    done = subprocess.run(
        [str(instrument), sys.executable, str(HERE / "flujo_workload.py")],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("FLUJO-HISTORY "))
    return json.loads(line.removeprefix("FLUJO-HISTORY "))  # type: ignore[no-any-return]


def final(points: list[Point], metric: str, name: str, **attributes: Any) -> Any:
    return latest(points, PREFIX + metric, **{NAME: name}, **attributes).value


def step_counts(points: list[Point], name: str) -> int:
    """Executions the duration histogram saw for ``name`` (final cumulative points)."""
    last: dict[tuple[tuple[str, Any], ...], int] = {}
    for p in sorted(points, key=lambda p: p.time_unix_nano):
        if p.metric == EXECUTION_DURATION.name and p.attributes[NAME] == name:
            last[tuple(sorted(p.attributes.items()))] = p.value["count"]
    return sum(last.values())


def test_opentelemetry_instrument_exports_what_flujo_reports(tmp_path: Path) -> None:
    require_flujo()
    with GrpcReceiver() as receiver:
        flujo_says = run_instrumented(receiver.endpoint, tmp_path)
        points = receiver.wait_for(lambda pts: any(
            p.metric == PREFIX + "executions" and p.attributes.get(NAME) == "concurrent"
            and p.value == 2 * flujo_says["concurrent"]["in_flight"] for p in pts))

    assert {p.resource.get("service.name") for p in points} == {"flujo-workload"}
    for name, said in flujo_says.items():
        nested = said.get("branch_steps", 0)
        assert final(points, "executions", name, **{"flujo.execution.outcome": "success"}) \
            == said["success"] + nested, name
        assert final(points, "executions", name, **{"flujo.execution.outcome": "failure"}) \
            == said["failure"], name
        assert step_counts(points, name) == said["total"] + nested, name
        assert final(points, "concurrency.max", name) == 10

    cached = flujo_says["cached"]
    assert cached["cache_hits"] == 3
    assert final(points, "cache.hit_ratio", "cached") == pytest.approx(
        cached["cache_hits"] / (cached["total"] - cached["cold"]))
    retry = flujo_says["retry"]
    assert final(points, "error.recovery_ratio", "retry") == pytest.approx(
        retry["recovered"] / (retry["recovered"] + retry["retried_failures"]))
    levels = [p.value for p in sorted(points, key=lambda p: p.time_unix_nano)
              if p.metric == PREFIX + "concurrency.level" and p.attributes[NAME] == "concurrent"]
    assert max(levels) == flujo_says["concurrent"]["in_flight"]
    assert levels[-1] == 0
    bounds = next(p.value["bounds"] for p in points if p.metric == EXECUTION_DURATION.name)
    assert tuple(bounds) == EXECUTION_DURATION.boundaries
