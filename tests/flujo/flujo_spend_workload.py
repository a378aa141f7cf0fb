"""A flujo application whose steps report cost and tokens, with no OpenTelemetry code: run
under ``opentelemetry-instrument`` by test_flujo_runs.py. Prints, as JSON, what flujo's
own results say and its own ledger: the cost and tokens of every output each step
produced.

``spend``: RUNS concurrent runs through three entry points, each ``draft`` >> ``review``
(fails its first attempt in every third run, then succeeds on a retry) >> ``translate``
(fails every attempt; its costed fallback runs) >> ``answer`` (an
agent reporting input and output tokens and its model) >> ``polish`` (a loop of two
costed steps, two iterations) >> ``fan`` (two costed parallel branches) >> ``publish``
(fails on every attempt in every fifth run). ``budgeted``: one run with UsageLimits that
spends 85 % of its cost limit, waits for the file ``argv[1]`` (the test writes it once it
has seen the budget warning), then goes past the limit. ``capped``: ``validate`` >> an
agent >> a parallel step of two costed branches under a cost limit the branches cross,
run twice: the second run waits for the file ``argv[1] + ".again"`` (the test writes it
once collections have seen the first run end). Having printed its results, the app waits
for ``argv[1] + ".done"`` (the test writes it once it has seen the collections it needs),
then exits.

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
CAPPED_LIMIT_USD = 0.003
# step name -> [cost, tokens] of every output the step produced (an attempt that raised
# produced none), as the app itself counts it.
LEDGER: dict[str, list[float]] = {}
# Every runner lives until the app exits, as in a service: an executor is held weakly, and
# one that died before a collection read it would export none of its last counts.
RUNNERS: list[Flujo[Any, Any, Any]] = []
HANG_GUARD_S = 60


def wait_for_file(path: Path) -> None:
    """Until the test writes ``path``; past the hang guard the app goes on (the test fails)."""
    deadline = time.monotonic() + HANG_GUARD_S
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def kept(runner: Flujo[Any, Any, Any]) -> Flujo[Any, Any, Any]:
    RUNNERS.append(runner)
    return runner


def produced(name: str, cost: float, tokens: int) -> None:
    spent = LEDGER.setdefault(name, [0.0, 0])
    spent[0] += cost
    spent[1] += tokens


def take_ledger() -> dict[str, list[float]]:
    """The ledger so far, which starts afresh."""
    taken = dict(LEDGER)
    LEDGER.clear()
    return taken


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


def costed(name: str, cost: float, tokens: int, fails: Any = lambda run, attempt: False,
           loop_body: bool = False, **kwargs: Any) -> Any:
    """Step ``name``, costing ``cost`` and ``tokens``; ``fails(run, attempt)`` makes it
    raise; a loop body's last step counts the loop's iterations."""
    attempts: Counter[int] = Counter()

    async def run_step(data: Any) -> Draft:
        run = run_of(data)
        attempts[run] += 1
        if fails(run, attempts[run]):
            raise RuntimeError("step failed")
        loops = data.loops if isinstance(data, Draft) else 0
        produced(name, cost, tokens)
        return Draft(run=run, loops=loops + loop_body, cost_usd=cost, token_counts=tokens)

    return step(run_step, name, **kwargs)


class Usage:
    input_tokens, output_tokens, cost_usd = 120, 30, 0.0015


class Agent:
    """An LLM agent as flujo sees one, for step ``name``: a model id, and usage on its
    result."""

    model_id = MODEL

    def __init__(self, name: str) -> None:
        self.name = name

    async def run(self, data: Any, **_kwargs: Any) -> FlujoAgentResult:
        produced(self.name, Usage.cost_usd, Usage.input_tokens + Usage.output_tokens)
        return FlujoAgentResult(output=data, usage=Usage())


def step(fn: Any, name: str, **kwargs: Any) -> Any:
    return Step.from_callable(fn, name=name, **kwargs)


def spend_pipeline() -> Any:
    body = costed("polish1", 0.001, 10) >> costed("polish2", 0.002, 20, loop_body=True)
    loop = Step.loop_until("polish", body,
                           exit_condition_callable=lambda out, _ctx: out.loops >= 2,
                           max_loops=5)
    fan = Step.parallel("fan", {"a": Pipeline.from_step(costed("a1", 0.01, 100)),
                                "b": costed("b1", 0.02, 200) >> costed("b2", 0.03, 300)})
    translate = costed("translate", 0.5, 50, lambda run, attempt: True, max_retries=1)
    translate.fallback(costed("translate_backup", 0.07, 7))
    return (costed("draft", 0.0125, 321)
            >> costed("review", 0.2, 40, lambda run, attempt: run % 3 == 0 and attempt == 1,
                      max_retries=2)
            >> translate
            >> Step(name="answer", agent=Agent("answer"))
            >> loop >> fan
            >> costed("publish", 0.05, 5, lambda run, attempt: run % 5 == 0, max_retries=1))


def capped_pipeline() -> Any:
    """17 % of the limit, then 67 % after the agent; the parallel step's branches cross
    it: flujo raises UsageLimitExceededError out of the branches and the parallel step."""
    fan = Step.parallel("fan", {"a": Pipeline.from_step(costed("a1", 0.001, 100)),
                                "b": Pipeline.from_step(costed("b1", 0.0012, 120))})
    return costed("validate", 0.0005, 50) >> Step(name="answer", agent=Agent("answer")) >> fan


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
        await asyncio.to_thread(wait_for_file, go)
        return run_of(data)  # not the Draft: flujo would count its cost a second time

    runner = kept(Flujo(costed("plan", 0.45, 45) >> costed("write", 0.40, 40)
                   >> step(wait_for_go, "hold") >> costed("overspend", 0.30, 30),
                   pipeline_name="budgeted", persist_state=False,
                   usage_limits=UsageLimits(total_cost_usd_limit=1.0)))
    return await stopped(runner, 0)


async def stopped(runner: Flujo[Any, Any, Any], run: int) -> dict[str, Any]:
    """One run flujo is to stop at its limit: flujo's figures for it, and the ledger's."""
    try:
        result = await runner.run_result_async(run)
    except UsageLimitExceededError as error:
        return {"raised": True, **totals([error.result]), "ledger": take_ledger()}
    return {"raised": False, **totals([result]), "ledger": take_ledger()}


async def capped(again: Path) -> list[dict[str, Any]]:
    runner = kept(Flujo(capped_pipeline(), pipeline_name="capped", persist_state=False,
                        usage_limits=UsageLimits(total_cost_usd_limit=CAPPED_LIMIT_USD)))
    first = await stopped(runner, 0)
    await asyncio.to_thread(wait_for_file, again)
    return [first, await stopped(runner, 1)]


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
    runner = kept(Flujo(spend_pipeline(), pipeline_name="spend", persist_state=False))
    results = await asyncio.gather(*(one_run(runner, run) for run in range(RUNS)))
    answers = [sr for r in results for sr in r.step_history if sr.name == "answer"]
    report = {"spend": {**totals(results), "ledger": take_ledger()},
              "budgeted": await budgeted(go),
              "capped": await capped(go.with_name(go.name + ".again"))}
    report["spend"]["retried"] = sum(
        sr.attempts > 1 for r in results for sr in r.step_history if sr.name == "review")
    report["spend"]["loops"] = [sr.attempts for r in results for sr in r.step_history
                                if sr.name == "polish"]
    report["spend"]["answers"] = len(answers)
    report["spend"]["fallbacks"] = sum(sr.metadata_.get("fallback_triggered") is True
                                       for r in results for sr in r.step_history)
    return report


def late() -> dict[str, Any]:
    runner = kept(Flujo(costed("pay", 0.01, 1), pipeline_name="checkout",
                        persist_state=False))
    from opentelemetry.instrumentation.flujo import FlujoInstrumentor

    FlujoInstrumentor().instrument()
    return {"checkout": totals([runner.run(0)])}


def main() -> None:
    if sys.argv[1] == "late":  # the final export at exit carries all the test checks
        print("FLUJO-RESULTS " + json.dumps(late()), flush=True)
        return
    go = Path(sys.argv[1])
    print("FLUJO-RESULTS " + json.dumps(asyncio.run(spend_and_budget(go))), flush=True)
    wait_for_file(go.with_name(go.name + ".done"))


if __name__ == "__main__":
    main()
