"""Runs, spend and budgets of real flujo pipelines under ``opentelemetry-instrument``
(zero code), over real OTLP, alerts to a real webhook: the exported spend is the sum of
the outputs each step produced (the app's own ledger), flujo's totals wherever those are
complete, and a budget stop is its own outcome, with no error alert."""

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

from conftest import eventually
from receivers import GrpcReceiver, Point, Webhook, latest

pytestmark = pytest.mark.flujo

HERE = Path(__file__).parent
PIPELINE_NAME, PREFIX, RUN_OUTCOME = catalog.PIPELINE_NAME, catalog.PREFIX, catalog.RUN_OUTCOME
RUNS, RUN_DURATION = catalog.RUNS, catalog.RUN_DURATION
STEP_COST, STEP_TOKENS = catalog.STEP_COST, catalog.STEP_TOKENS
STEP_NAME, TOKEN_TYPE = catalog.STEP_NAME, catalog.TOKEN_TYPE
UTILIZATION = PREFIX + "usage_limit.utilization"
UTILIZATION_STATUS = catalog.status_gauge(catalog.BY_NAME[UTILIZATION])
EXECUTOR = "flujo.executor.name"
# The alerts a failing step raises: none may come from a budget stop.
ERROR_FAMILY = {PREFIX + m for m in ("error.ratio", "execution.failure_ratio",
                                     "error.recovery_ratio", "error.consecutive_failures")}


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


def printed(process: subprocess.Popen[str], cwd: Path) -> dict[str, Any] | None:
    """The app's results once it has printed them; a failure if it exited without."""
    out = (cwd / "stdout.txt").read_text()
    line = next((x for x in out.splitlines() if x.startswith("FLUJO-RESULTS ")), None)
    if line is None:
        assert process.poll() is None, (cwd / "stderr.txt").read_text()[-3000:]
        return None
    return json.loads(line.removeprefix("FLUJO-RESULTS "))  # type: ignore[no-any-return]


def results(process: subprocess.Popen[str], cwd: Path) -> dict[str, Any]:
    """What the app printed; it goes on running until ``exit_after``."""
    return eventually(lambda: printed(process, cwd), "the app's results", timeout_s=120)


def exit_after(process: subprocess.Popen[str], go: Path) -> None:
    """Lets the app exit (the test has seen what it waited for); it must exit cleanly."""
    go.with_name(go.name + ".done").touch()
    process.wait(timeout=60)
    assert process.returncode == 0, (go.parent / "stderr.txt").read_text()[-3000:]


Workload = tuple[GrpcReceiver, Webhook, subprocess.Popen[str], Path]


@pytest.fixture
def workload(tmp_path: Path) -> Iterator[Workload]:
    require_flujo()
    go = tmp_path / "go"
    hook = Webhook()
    with GrpcReceiver() as receiver:
        process = instrumented(receiver.endpoint, tmp_path, str(go),
                               OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_URL=hook.url)
        try:
            yield receiver, hook, process, go
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
            hook.close()


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


def exported_steps(points: list[Point], pipeline: str) -> dict[str, list[float]]:
    """{step: [cost, tokens]} as exported for ``pipeline``, token types added up."""
    steps: dict[str, list[float]] = {}
    for metric, at in ((STEP_COST.name, 0), (STEP_TOKENS.name, 1)):
        for key, value in final(points, metric, **{PIPELINE_NAME: pipeline}).items():
            steps.setdefault(dict(key)[STEP_NAME], [0.0, 0])[at] += value
    return steps


def assert_ledger(points: list[Point], pipeline: str, ledger: dict[str, list[float]]) -> None:
    """Exported spend is the ledger's, step by step, to the cent and the token."""
    exported = exported_steps(points, pipeline)
    assert set(exported) == set(ledger)
    for step, (cost, tokens) in ledger.items():
        assert exported[step][0] == pytest.approx(cost, abs=1e-9), step
        assert exported[step][1] == tokens, step
    assert total(points, PREFIX + "spend.cost", **{EXECUTOR: pipeline}) == pytest.approx(
        sum(cost for cost, _ in ledger.values()), abs=1e-9)
    assert total(points, PREFIX + "spend.tokens", **{EXECUTOR: pipeline}) == sum(
        tokens for _, tokens in ledger.values())


def runs_counted(points: list[Point], pipeline: str, runs: int) -> bool:
    """``runs`` of ``pipeline`` counted, in three exports at least: collections ran
    after the last of them ended."""
    times = {p.time_unix_nano for p in points if p.metric == RUNS.name
             and p.attributes.get(PIPELINE_NAME) == pipeline and p.value == runs}
    return total(points, RUNS.name, **{PIPELINE_NAME: pipeline}) == runs and len(times) >= 3


def test_runs_spend_and_budget_equal_what_flujo_reports(workload: Workload) -> None:
    receiver, _hook, process, go = workload
    # The budgeted run has spent 85 % of its limit and waits: the warning must come now,
    # before flujo raises UsageLimitExceededError.
    before = receiver.wait_for(warned, timeout=90)
    assert process.poll() is None
    budget = {PIPELINE_NAME: "budgeted"}
    assert total(before, RUNS.name, **budget) == 0  # the run has not ended
    assert total(before, PREFIX + "spend.cost", **{EXECUTOR: "budgeted"}) == pytest.approx(0.85)
    assert latest(before, UTILIZATION, **{EXECUTOR: "budgeted"}).value == pytest.approx(0.85)
    go.touch()
    # The first capped run ends, collections follow; then the second one runs.
    receiver.wait_for(lambda pts: runs_counted(pts, "capped", 1), timeout=60)
    go.with_name(go.name + ".again").touch()
    said = results(process, go.parent)
    points = receiver.wait_for(lambda pts: total(pts, RUNS.name, **budget) == 1
                               and total(pts, RUNS.name, **{PIPELINE_NAME: "spend"}) == 20
                               and total(pts, RUNS.name, **{PIPELINE_NAME: "capped"}) == 2)
    exit_after(process, go)

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

    # Every output counted once, under the step that produced it (branch, loop body and
    # fallback steps included); on these complete runs that is flujo's own total.
    assert_ledger(points, "spend", spend["ledger"])
    assert total(points, STEP_COST.name, **name) == pytest.approx(spend["cost"], abs=1e-9)
    assert total(points, STEP_TOKENS.name, **name) == spend["tokens"]
    assert {"a1", "b1", "b2", "polish1", "polish2", "translate_backup"} <= set(spend["ledger"])
    assert "translate" not in spend["ledger"]  # every attempt raised: nothing produced

    # The agent step's tokens carry flujo's input/output split and the model.
    answer = {**name, STEP_NAME: "answer", "gen_ai.request.model": "gpt-4o-mini",
              "gen_ai.provider.name": "openai"}
    assert total(points, STEP_TOKENS.name, **answer, **{TOKEN_TYPE: "input"}) == 20 * 120
    assert total(points, STEP_TOKENS.name, **answer, **{TOKEN_TYPE: "output"}) == 20 * 30
    assert not final(points, STEP_TOKENS.name, **{**name, STEP_NAME: "draft", TOKEN_TYPE: "input"})

    budgeted = said["budgeted"]
    assert budgeted["raised"] is True
    assert total(points, RUNS.name, **budget, **{RUN_OUTCOME: "usage_limit"}) == 1
    assert_ledger(points, "budgeted", budgeted["ledger"])
    assert total(points, STEP_COST.name, **budget) == pytest.approx(1.15, abs=1e-9)
    # Past the limit, the utilization went critical.
    assert latest(points, UTILIZATION, **{EXECUTOR: "budgeted"}).value == pytest.approx(1.15)


def test_a_budget_stop_is_its_own_outcome_and_each_breach_one_alert(
        workload: Workload) -> None:
    """Two capped runs (a parallel step, an agent) stopped by their UsageLimits, with
    collections between them: no error-family event, no failed execution, two runs under
    ``usage_limit``, spend as produced, and over the webhook the utilization alert
    enters, leaves and enters again."""
    receiver, hook, process, go = workload
    receiver.wait_for(warned, timeout=90)
    go.touch()
    receiver.wait_for(lambda pts: runs_counted(pts, "capped", 1), timeout=60)
    go.with_name(go.name + ".again").touch()
    said = results(process, go.parent)
    points = receiver.wait_for(lambda pts: runs_counted(pts, "capped", 2))
    capped = {PIPELINE_NAME: "capped"}

    assert [run["raised"] for run in said["capped"]] == [True, True]
    assert final(points, RUNS.name, **capped) == {
        tuple(sorted({**capped, RUN_OUTCOME: "usage_limit"}.items())): 2}
    executions = {dict(key)["flujo.execution.outcome"]: value for key, value in
                  final(points, PREFIX + "executions", **{EXECUTOR: "capped"}).items()}
    assert executions["failure"] == 0 and executions["other"] > 0, executions

    # Spend: both runs' outputs (validate, the agent, both branches), more than flujo's
    # UsageLimitExceededError.result keeps.
    ledger: dict[str, list[float]] = {}
    for run in said["capped"]:
        for step, (cost, tokens) in run["ledger"].items():
            spent = ledger.setdefault(step, [0.0, 0])
            spent[0] += cost
            spent[1] += tokens
    assert set(ledger) == {"validate", "answer", "a1", "b1"}
    assert_ledger(points, "capped", ledger)
    assert sum(cost for cost, _ in ledger.values()) > sum(run["cost"] for run in said["capped"])

    # Each breach is its own incident: the gauge is absent between the runs, so the
    # first leaves (after KEEP_FOR, 0s) and the second enters again.
    events = hook.wait_for(lambda bodies: len(
        [b for b in bodies if b["executor"] == "capped" and b["metric"] == UTILIZATION]) >= 3)
    exit_after(process, go)
    mine = [b for b in events if b["executor"] == "capped"]
    assert [b for b in mine if b["metric"] in ERROR_FAMILY] == []
    breaches = [(b["old_state"], b["new_state"]) for b in mine if b["metric"] == UTILIZATION]
    enter, leave = ("ok", "critical"), ("critical", "ok")
    # the second leaves too when a collection sees the app idle before it exits
    assert breaches in ([enter, leave, enter], [enter, leave, enter, leave]), breaches


def test_a_runner_built_before_instrument_reports_its_pipeline_name(tmp_path: Path) -> None:
    require_flujo()
    with GrpcReceiver() as receiver:
        # opentelemetry-instrument sets up the SDK; the app instruments flujo itself, late.
        process = instrumented(receiver.endpoint, tmp_path, "late",
                               OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="flujo")
        said = results(process, tmp_path)
        process.wait(timeout=60)  # its final export at exit carries what is checked
        assert process.returncode == 0, (tmp_path / "stderr.txt").read_text()[-3000:]
        points = receiver.wait_for(
            lambda pts: total(pts, RUNS.name, **{PIPELINE_NAME: "checkout"}) == 1)
    checkout = said["checkout"]
    assert total(points, STEP_COST.name, **{PIPELINE_NAME: "checkout"}) == pytest.approx(
        checkout["cost"])
    assert total(points, PREFIX + "executions", **{EXECUTOR: "checkout"}) == 1
    assert not final(points, PREFIX + "executions", **{EXECUTOR: "ExecutorCore"})
