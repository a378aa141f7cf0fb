"""Through a collector this project did not write: two real flujo apps under
``opentelemetry-instrument`` export to rotel (one over OTLP gRPC, one over OTLP HTTP),
rotel forwards to a test receiver, and the totals that arrive are flujo's own: runs,
cost, tokens and executions, to the run, the cent and the token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from flujo_support import APP_PYTHONPATH, EXECUTIONS, require_flujo

from opentelemetry.instrumentation.flujo._internal.catalog import (
    EXECUTION_DURATION,
    RUNS,
    STEP_COST,
    STEP_TOKENS,
)

from conftest import ROOT, require
from receivers import GrpcReceiver, Point
from rotel_collector import Rotel, rotel_binary

pytestmark = [pytest.mark.flujo, pytest.mark.slow]

RUNS_PER_APP, PIPELINES = 12, 3
INSTANCE = "service.instance.id"


def app(endpoint: str, protocol: str, cwd: Path) -> subprocess.Popen[str]:
    """bench/flujo_app.py (three-step pipelines whose steps report cost and tokens)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        OTEL_METRICS_EXPORTER="otlp", OTEL_TRACES_EXPORTER="none", OTEL_LOGS_EXPORTER="none",
        OTEL_EXPORTER_OTLP_PROTOCOL=protocol, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_METRIC_EXPORT_INTERVAL="500", OTEL_SERVICE_NAME="flujo-rotel",
        PYTHONPATH=os.pathsep.join([str(ROOT), APP_PYTHONPATH]),
    )
    instrument = Path(sys.executable).parent / "opentelemetry-instrument"
    cwd.mkdir()
    return subprocess.Popen(
        [str(instrument), sys.executable, "-m", "bench.flujo_app", str(RUNS_PER_APP),
         str(PIPELINES), "1"],
        cwd=cwd, env=env, stdout=(cwd / "stdout.txt").open("w"),
        stderr=(cwd / "stderr.txt").open("w"), text=True)


def said(process: subprocess.Popen[str], cwd: Path) -> dict[str, Any]:
    process.wait(timeout=180)
    assert process.returncode == 0, (cwd / "stderr.txt").read_text()[-3000:]
    line = next(x for x in (cwd / "stdout.txt").read_text().splitlines()
                if x.startswith("FLUJO-APP "))
    return json.loads(line.removeprefix("FLUJO-APP "))["said"]  # type: ignore[no-any-return]


def totals(points: Iterable[Point], metric: str, **attributes: Any) -> float:
    """The sum over every process and series of a cumulative metric's latest value (a
    histogram's count)."""
    last: dict[tuple[Any, ...], Point] = {}
    for p in points:
        if p.metric != metric or any(p.attributes.get(k) != v for k, v in attributes.items()):
            continue
        key = (p.resource.get(INSTANCE), tuple(sorted(p.attributes.items())))
        if key not in last or p.time_unix_nano >= last[key].time_unix_nano:
            last[key] = p
    return sum(p.value["count"] if isinstance(p.value, dict) else p.value
               for p in last.values())


def test_totals_arrive_intact_through_rotel(tmp_path: Path) -> None:
    require_flujo()
    require(rotel_binary() is not None, "rotel (pip install rotel, in the test extra)")
    with GrpcReceiver() as receiver, Rotel(receiver.endpoint) as rotel:
        grpc_app = app(rotel.grpc_endpoint, "grpc", tmp_path / "grpc")
        http_app = app(rotel.http_endpoint, "http/protobuf", tmp_path / "http")
        apps = [said(grpc_app, tmp_path / "grpc"), said(http_app, tmp_path / "http")]
        expected = {key: sum(a[key] for a in apps) for key in apps[0]}
        # Each app's last export happens at its exit; rotel forwards it within its batch
        # timeout.
        points = receiver.wait_for(
            lambda pts: totals(pts, RUNS.name) == expected["runs"]
            and totals(pts, EXECUTION_DURATION.name) == expected["steps"], timeout=60)

    assert expected["runs"] == expected["success"] == 2 * (RUNS_PER_APP + PIPELINES)
    assert {p.resource.get("service.name") for p in points} == {"flujo-rotel"}
    assert len({p.resource.get(INSTANCE) for p in points}) == 2  # one per process
    assert totals(points, RUNS.name, **{"flujo.run.outcome": "success"}) == expected["runs"]
    assert totals(points, STEP_COST.name) == pytest.approx(expected["cost_usd"], abs=1e-9)
    assert totals(points, STEP_TOKENS.name) == expected["tokens"]
    assert totals(points, EXECUTIONS, **{"flujo.execution.outcome": "success"}) \
        == expected["steps"]
    assert totals(points, EXECUTION_DURATION.name) == expected["steps"]
