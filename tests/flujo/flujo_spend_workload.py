"""A flujo application whose steps report cost and tokens, with no OpenTelemetry code: run
under ``opentelemetry-instrument`` by test_flujo_runs.py. Prints, as JSON, what flujo's
own results say.

``spend``: RUNS concurrent runs through three entry points, each ``draft`` >> ``review``
(fails its first attempt in every third run, then succeeds on a retry) >> ``translate``
(fails every attempt; its costed fallback runs) >> ``answer`` (an
agent reporting input and output tokens and its model) >> ``polish`` (a loop of two
costed steps, two iterations) >> ``fan`` (two costed parallel branches) >> ``publish``
(fails on every attempt in every fifth run). ``budgeted``: one run with UsageLimits that
spends 85 % of its cost limit, waits for the file ``argv[1]`` (the test writes it once it
has seen the budget warning), then goes past the limit.

``late`` mode (``argv[1] == "late"``): a runner named ``checkout`` is built before
``FlujoInstrumentor().instrument()`` runs (opentelemetry-instrument's own flujo
instrumentation is disabled by the test), as an app that builds runners at import time
and sets up telemetry in main() does.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from flujo.domain.agent_result import FlujoAgentResult
from flujo.domain.models import PipelineResult, UsageLimits
from flujo.exceptions import UsageLimitExceededError
from pydantic import BaseModel

from flujo import Flujo, Pipeline, Step

RUNS = 20
MODEL = "openai:gpt-4o-mini"


class Draft(BaseModel):
    """A step output that reports its own cost and tokens (flujo records them)."""

    run: int
    loops: int = 0
    cost_usd: float
    token_counts: int


def run_of(data: Any) -> int:
    if isinstance(data, dict):  # a parallel step's output: its branches'
        return run_of(next(iter(data.values())))
    return data.run if isinstance(data, Draft) else int(data)


def costed(cost: float, tokens: int, fails: Any = lambda run, attempt: False,
           loop_body: bool = False) -> Any:
    """A step that costs ``cost`` and ``tokens``; ``fails(run, attempt)`` makes it raise;
    a loop body's last step counts the loop's iterations."""
    attempts: Counter[int] = Counter()

    async def step(data: Any) -> Draft:
        run = run_of(data)
        attempts[run] += 1
        if fails(run, attempts[run]):
            raise RuntimeError("step failed")
        loops = data.loops if isinstance(data, Draft) else 0
        return Draft(run=run, loops=loops + loop_body, cost_usd=cost, token_counts=tokens)

    return step


class Usage:
    input_tokens, output_tokens, cost_usd = 120, 30, 0.0015


class Agent:
    """An LLM agent as flujo sees one: a model id, and usage on its result."""

    model_id = MODEL

    async def run(self, data: Any, **_kwargs: Any) -> FlujoAgentResult:
        return FlujoAgentResult(output=data, usage=Usage())


def step(fn: Any, name: str, **kwargs: Any) -> Any:
    return Step.from_callable(fn, name=name, **kwargs)


def spend_pipeline() -> Any:
    body = step(costed(0.001, 10), "polish1") >> step(costed(0.002, 20, loop_body=True), "polish2")
    loop = Step.loop_until("polish", body,
                           exit_condition_callable=lambda out, _ctx: out.loops >= 2,
                           max_loops=5)
    fan = Step.parallel("fan", {"a": Pipeline.from_step(step(costed(0.01, 100), "a1")),
                                "b": step(costed(0.02, 200), "b1") >> step(costed(0.03, 300),
                                                                           "b2")})
    translate = step(costed(0.5, 50, lambda run, attempt: True), "translate", max_retries=1)
    translate.fallback(step(costed(0.07, 7), "translate_backup"))
    return (step(costed(0.0125, 321), "draft")
            >> step(costed(0.2, 40, lambda run, attempt: run % 3 == 0 and attempt == 1),
                    "review", max_retries=2)
            >> translate
            >> Step(name="answer", agent=Agent())
            >> loop >> fan
            >> step(costed(0.05, 5, lambda run, attempt: run % 5 == 0), "publish",
                    max_retries=1))


async def one_run(runner: Flujo[Any, Any, Any], run: int) -> Any:
    """Three entry points in turn."""
    if run % 3 == 0:
        return await runner.run_result_async(run)
    if run % 3 == 1:
        return await runner.run_async(run)
    last = None
    async for item in runner.run_async(run):
        if isinstance(item, PipelineResult):
            last = item
    return last


async def budgeted(go: Path) -> dict[str, Any]:
    async def wait_for_go(data: Any) -> Any:
        deadline = time.monotonic() + 60
        while not go.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return run_of(data)  # not the Draft: flujo would count its cost a second time

    runner = Flujo(step(costed(0.45, 45), "plan") >> step(costed(0.40, 40), "write")
                   >> step(wait_for_go, "hold") >> step(costed(0.30, 30), "overspend"),
                   pipeline_name="budgeted", persist_state=False,
                   usage_limits=UsageLimits(total_cost_usd_limit=1.0))
    try:
        result = await runner.run_result_async(0)
    except UsageLimitExceededError as error:
        return {"raised": True, **totals([error.result])}
    return {"raised": False, **totals([result])}


def totals(results: list[Any]) -> dict[str, Any]:
    steps: dict[str, dict[str, float]] = {}
    for result in results:
        for sr in result.step_history:
            spent = steps.setdefault(sr.name, {"cost": 0.0, "tokens": 0})
            spent["cost"] += sr.cost_usd
            spent["tokens"] += sr.token_counts
    return {"runs": len(results),
            "success": sum(r.success is True for r in results),
            "failure": sum(r.success is not True for r in results),
            "cost": sum(r.total_cost_usd for r in results),
            "tokens": sum(r.total_tokens for r in results),
            "steps": steps}


async def spend_and_budget(go: Path) -> dict[str, Any]:
    runner = Flujo(spend_pipeline(), pipeline_name="spend", persist_state=False)
    results = await asyncio.gather(*(one_run(runner, run) for run in range(RUNS)))
    answers = [sr for r in results for sr in r.step_history if sr.name == "answer"]
    report = {"spend": totals(results), "budgeted": await budgeted(go)}
    report["spend"]["retried"] = sum(
        sr.attempts > 1 for r in results for sr in r.step_history if sr.name == "review")
    report["spend"]["loops"] = [sr.attempts for r in results for sr in r.step_history
                                if sr.name == "polish"]
    report["spend"]["answers"] = len(answers)
    report["spend"]["fallbacks"] = sum(sr.metadata_.get("fallback_triggered") is True
                                       for r in results for sr in r.step_history)
    return report


def late() -> dict[str, Any]:
    runner = Flujo(step(costed(0.01, 1), "pay"), pipeline_name="checkout", persist_state=False)
    from opentelemetry.instrumentation.flujo import FlujoInstrumentor

    FlujoInstrumentor().instrument()
    return {"checkout": totals([runner.run(0)])}


def main() -> None:
    report = late() if sys.argv[1] == "late" else asyncio.run(spend_and_budget(Path(sys.argv[1])))
    print("FLUJO-RESULTS " + json.dumps(report), flush=True)
    time.sleep(1.2)  # two export intervals: the last points leave before shutdown


if __name__ == "__main__":
    main()
