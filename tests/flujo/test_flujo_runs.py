"""Runs, spend and budgets of real flujo pipelines under ``opentelemetry-instrument``
(zero code), over real OTLP: the exported numbers are flujo's own, to the token and cent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flujo_support import APP_PYTHONPATH, require_flujo

from opentelemetry.instrumentation.flujo._internal import catalog

from receivers import GrpcReceiver, Point, latest

pytestmark = pytest.mark.flujo

HERE = Path(__file__).parent
PIPELINE_NAME, PREFIX, RUN_OUTCOME = catalog.PIPELINE_NAME, catalog.PREFIX, catalog.RUN_OUTCOME
RUNS, RUN_DURATION = catalog.RUNS, catalog.RUN_DURATION
STEP_COST, STEP_TOKENS = catalog.STEP_COST, catalog.STEP_TOKENS
STEP_NAME, TOKEN_TYPE = catalog.STEP_NAME, catalog.TOKEN_TYPE
UTILIZATION = PREFIX + "usage_limit.utilization"
UTILIZATION_STATUS = catalog.status_gauge(catalog.BY_NAME[UTILIZATION])
EXECUTOR = "flujo.executor.name"


def instrumented(endpoint: str, cwd: Path, argument: str,
                 **extra_env: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        OTEL_METRICS_EXPORTER="otlp", OTEL_TRACES_EXPORTER="none", OTEL_LOGS_EXPORTER="none",
        OTEL_EXPORTER_OTLP_PROTOCOL="grpc", OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_METRIC_EXPORT_INTERVAL="200", OTEL_SERVICE_NAME="flujo-spend",
        PYTHONPATH=APP_PYTHONPATH, **extra_env,
    )
    instrument = Path(sys.executable).parent / "opentelemetry-instrument"
    # Files, not pipes: flujo logs at INFO, and a full pipe nobody reads yet would stop
    # the app mid-run.
    return subprocess.Popen(
        [str(instrument), sys.executable, str(HERE / "flujo_spend_workload.py"), argument],
        cwd=cwd, env=env, stdout=(cwd / "stdout.txt").open("w"),
        stderr=(cwd / "stderr.txt").open("w"), text=True)


def results(process: subprocess.Popen[str], cwd: Path) -> dict[str, Any]:
    process.wait(timeout=120)
    assert process.returncode == 0, (cwd / "stderr.txt").read_text()[-3000:]
    out = (cwd / "stdout.txt").read_text()
    line = next(x for x in out.splitlines() if x.startswith("FLUJO-RESULTS "))
    return json.loads(line.removeprefix("FLUJO-RESULTS "))  # type: ignore[no-any-return]


@pytest.fixture
def workload(tmp_path: Path) -> Iterator[tuple[GrpcReceiver, subprocess.Popen[str], Path]]:
    require_flujo()
    go = tmp_path / "go"
    with GrpcReceiver() as receiver:
        process = instrumented(receiver.endpoint, tmp_path, str(go))
        try:
            yield receiver, process, go
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


def final(points: list[Point], metric: str, **attributes: Any) -> dict[tuple[Any, ...], Any]:
    """The last cumulative value of every series of ``metric`` that has ``attributes``."""
    last: dict[tuple[Any, ...], Point] = {}
    for p in points:
        if p.metric == metric and all(p.attributes.get(k) == v for k, v in attributes.items()):
            key = tuple(sorted(p.attributes.items()))
            if key not in last or p.time_unix_nano > last[key].time_unix_nano:
                last[key] = p
    return {key: p.value for key, p in last.items()}


def total(points: list[Point], metric: str, **attributes: Any) -> float:
    return sum(final(points, metric, **attributes).values())


def counted(points: list[Point], metric: str, **attributes: Any) -> int:
    return sum(v["count"] for v in final(points, metric, **attributes).values())


def warned(points: list[Point]) -> bool:
    """The threshold engine said warning (1) for the budgeted run's UsageLimits use."""
    return any(p.metric == UTILIZATION_STATUS and p.value == 1
               and p.attributes.get(EXECUTOR) == "budgeted" for p in points)


def test_runs_spend_and_budget_equal_what_flujo_reports(
        workload: tuple[GrpcReceiver, subprocess.Popen[str], Path]) -> None:
    receiver, process, go = workload
    # The budgeted run has spent 85 % of its limit and waits: the warning must come now,
    # before flujo raises UsageLimitExceededError.
    before = receiver.wait_for(warned, timeout=90)
    assert process.poll() is None
    budget = {PIPELINE_NAME: "budgeted"}
    assert total(before, RUNS.name, **budget) == 0  # the run has not ended
    assert total(before, PREFIX + "spend.cost", **{EXECUTOR: "budgeted"}) == pytest.approx(0.85)
    assert latest(before, UTILIZATION, **{EXECUTOR: "budgeted"}).value == pytest.approx(0.85)
    go.touch()
    said = results(process, go.parent)
    points = receiver.wait_for(lambda pts: total(pts, RUNS.name, **budget) == 1
                               and total(pts, RUNS.name, **{PIPELINE_NAME: "spend"}) == 20)

    spend = said["spend"]
    assert spend["runs"] == 20 and spend["failure"] == 4 and spend["retried"] == 7
    # the loop, the fallback and the agent ran in every run
    assert spend["loops"] == [2] * 20 and spend["fallbacks"] == spend["answers"] == 20
    name = {PIPELINE_NAME: "spend"}
    for outcome in ("success", "failure"):
        assert total(points, RUNS.name, **name, **{RUN_OUTCOME: outcome}) == spend[outcome]
        assert counted(points, RUN_DURATION.name, **name, **{RUN_OUTCOME: outcome}) \
            == spend[outcome]
    assert set(final(points, RUNS.name, **name)) == {
        tuple(sorted({**name, RUN_OUTCOME: o}.items())) for o in ("success", "failure")}

    # To the cent and the token: the whole, each step, and the per-name catalog counters.
    assert total(points, STEP_COST.name, **name) == pytest.approx(spend["cost"], abs=1e-9)
    assert total(points, STEP_TOKENS.name, **name) == spend["tokens"]
    for step, spent in spend["steps"].items():
        at = {**name, STEP_NAME: step}
        assert total(points, STEP_COST.name, **at) == pytest.approx(spent["cost"], abs=1e-9)
        assert total(points, STEP_TOKENS.name, **at) == spent["tokens"], step
    assert total(points, PREFIX + "spend.cost", **{EXECUTOR: "spend"}) == pytest.approx(
        spend["cost"], abs=1e-9)
    assert total(points, PREFIX + "spend.tokens", **{EXECUTOR: "spend"}) == spend["tokens"]

    # The agent step's tokens carry flujo's input/output split and the model.
    answer = {**name, STEP_NAME: "answer", "gen_ai.request.model": "gpt-4o-mini",
              "gen_ai.provider.name": "openai"}
    assert total(points, STEP_TOKENS.name, **answer, **{TOKEN_TYPE: "input"}) == 20 * 120
    assert total(points, STEP_TOKENS.name, **answer, **{TOKEN_TYPE: "output"}) == 20 * 30
    assert not final(points, STEP_TOKENS.name, **{**name, STEP_NAME: "draft", TOKEN_TYPE: "input"})

    budgeted = said["budgeted"]
    assert budgeted["raised"] is True
    assert total(points, RUNS.name, **budget, **{RUN_OUTCOME: "usage_limit"}) == 1
    assert total(points, STEP_COST.name, **budget) == pytest.approx(budgeted["cost"], abs=1e-9)
    assert budgeted["cost"] > 1.0  # past the limit, after the warning
    # Past the limit, the utilization went critical.
    assert latest(points, UTILIZATION, **{EXECUTOR: "budgeted"}).value == pytest.approx(
        budgeted["cost"])


def test_a_runner_built_before_instrument_reports_its_pipeline_name(tmp_path: Path) -> None:
    require_flujo()
    with GrpcReceiver() as receiver:
        # opentelemetry-instrument sets up the SDK; the app instruments flujo itself, late.
        said = results(instrumented(receiver.endpoint, tmp_path, "late",
                                    OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="flujo"), tmp_path)
        points = receiver.wait_for(
            lambda pts: total(pts, RUNS.name, **{PIPELINE_NAME: "checkout"}) == 1)
    checkout = said["checkout"]
    assert total(points, STEP_COST.name, **{PIPELINE_NAME: "checkout"}) == pytest.approx(
        checkout["cost"])
    assert total(points, PREFIX + "executions", **{EXECUTOR: "checkout"}) == 1
    assert not final(points, PREFIX + "executions", **{EXECUTOR: "ExecutorCore"})
