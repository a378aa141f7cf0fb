"""A flujo application with real pydantic-ai agents (``TestModel`` / ``FunctionModel``: no
network) and no OpenTelemetry setup: run under ``opentelemetry-instrument`` by
test_flujo_genai.py, traces and metrics both exported. Prints, as JSON, what flujo's
own results say.

Each pipeline is ``pace`` (a plain step) >> ``answer`` (an agent).

- ``served``: RUNS concurrent runs, each inside the application's own ``request`` span
  (a web request), ``answer`` on ``openai:gpt-4o-mini``; the run with index SLOW starts
  first and waits in ``pace`` until every other run has ended, so it is the slowest run
  (and the last recorded in its bucket).
- ``hooked``: HOOKED runs, one after the other, with flujo's ``OpenTelemetryHook`` (its
  ``pipeline_run`` and step spans), ``answer`` on ``google-gla:gemini-2.0-flash``.
- ``instrumented``: INSTRUMENTED runs of an agent with pydantic-ai's own instrumentation
  on (``Agent(instrument=True)``), on ``anthropic:claude-3-5-haiku``.
- ``failing``: one run whose agent (``grok:grok-3``) raises on every call.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from flujo.agents.wrapper import AsyncAgentWrapper
from flujo.telemetry import OpenTelemetryHook
from pydantic_ai import Agent
from pydantic_ai.models.function import FunctionModel
from pydantic_ai.models.test import TestModel

from flujo import Flujo, Step
from opentelemetry import trace

RUNS, SLOW, HOOKED, INSTRUMENTED = 6, 0, 3, 2
# A hang guard: the other served runs end within it, or the slow one fails.
OTHERS_TIMEOUT_S = 60.0
MODELS = {"served": "openai:gpt-4o-mini", "hooked": "google-gla:gemini-2.0-flash",
          "instrumented": "anthropic:claude-3-5-haiku", "failing": "grok:grok-3"}


def agent(model_id: str, **kwargs: Any) -> Any:
    return AsyncAgentWrapper(Agent(TestModel(custom_output_text="an answer"), output_type=str,
                                   **kwargs), model_name=model_id)


def refusing(model_id: str) -> Any:
    def refuse(_messages: Any, _info: Any) -> Any:
        raise RuntimeError("the model refused")

    return AsyncAgentWrapper(Agent(FunctionModel(refuse), output_type=str), max_retries=0,
                             model_name=model_id)


class Served:
    """Set once every served run but the slow one has ended (main sets it)."""

    others_done: asyncio.Event | None = None


async def pace(data: Any) -> Any:
    if data == "slow" and Served.others_done is not None:
        # Started first, ended last: the longest run and request span, whatever the
        # machine's speed (the test picks the exemplar by duration).
        await asyncio.wait_for(Served.others_done.wait(), OTHERS_TIMEOUT_S)
    return data


def runner(name: str, answer: Any, **kwargs: Any) -> Any:
    return Flujo(Step.from_callable(pace, name="pace") >> Step(name="answer", agent=answer),
                 pipeline_name=name, persist_state=False, **kwargs)


def tokens(results: list[Any]) -> dict[str, int]:
    answers = [sr for r in results for sr in r.step_history if sr.name == "answer"]
    return {"calls": len(answers), "tokens": sum(sr.token_counts for sr in answers),
            "total": sum(r.total_tokens for r in results),
            "success": sum(r.success is True for r in results)}


async def main() -> dict[str, Any]:
    tracer = trace.get_tracer("flujo-genai-workload")
    served = runner("served", agent(MODELS["served"]))

    async def request(index: int) -> Any:
        with tracer.start_as_current_span("request", attributes={"run": index}):
            return await served.run_result_async("slow" if index == SLOW else f"r{index}")

    Served.others_done = asyncio.Event()
    tasks = [asyncio.ensure_future(request(index)) for index in range(RUNS)]  # SLOW first
    await asyncio.gather(*(task for index, task in enumerate(tasks) if index != SLOW))
    Served.others_done.set()
    report = {"served": tokens(list(await asyncio.gather(*tasks)))}
    hooked = runner("hooked", agent(MODELS["hooked"]),
                    hooks=[OpenTelemetryHook(mode="console").hook])
    report["hooked"] = tokens([await hooked.run_result_async(f"h{i}") for i in range(HOOKED)])
    instrumented = runner("instrumented", agent(MODELS["instrumented"], instrument=True))
    report["instrumented"] = tokens(
        [await instrumented.run_result_async(f"i{i}") for i in range(INSTRUMENTED)])
    report["failing"] = tokens([await runner("failing", refusing(MODELS["failing"]))
                                .run_result_async("f")])
    return report


if __name__ == "__main__":
    # The SDK's shutdown at exit exports the last metrics and spans.
    print("FLUJO-RESULTS " + json.dumps(asyncio.run(main())), flush=True)
