"""A flujo deployment of the shape a team runs, with no OpenTelemetry code: run under
``opentelemetry-instrument`` with the Prometheus exporter by test_flujo_dashboard.py.

Long-lived runners, as in a service, each run in every round until the file ``argv[1]``
exists: ``spend`` (flujo_spend_workload's pipeline: an agent step with an input/output
token split and its model, a retried step, a fallback, a loop, a parallel step, a step
that fails every fifth run), ``retry`` (a flaky step and one that always fails),
``cached`` (the same input every round: flujo's step cache serves it), and ``budgeted``
under ``UsageLimits`` that every third run exceeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
from pathlib import Path
from typing import Any

import flujo_pipelines as p
import flujo_spend_workload as s
from flujo.domain.models import UsageLimits
from flujo.exceptions import UsageLimitExceededError

from flujo import Flujo

LIMIT_USD = 1.0
# A round, then a pause: a steady trickle of runs, not a busy loop on a shared machine.
# Pacing, not a synchronisation: the scraped rates need traffic spread over time, and
# nothing waits on the pause (the test stops the loop through the stop file).
PAUSE_S = 0.2


async def plan(run: int) -> s.Draft:
    """0.6 USD, or 0.9 in every third run: with ``write`` that run goes past the limit."""
    return s.Draft(run=run, cost_usd=0.9 if run % 3 == 0 else 0.6, token_counts=60)


def budgeted() -> Any:
    pipeline = s.step(plan, "plan") >> s.costed("write", 0.3, 30)
    return Flujo(pipeline, pipeline_name="budgeted", persist_state=False,
                 usage_limits=UsageLimits(total_cost_usd_limit=LIMIT_USD))


async def limited(runner: Any, run: int) -> None:
    # The run's outcome is what the instrumentation records.
    with contextlib.suppress(UsageLimitExceededError):
        await runner.run_result_async(run)


async def serve(stop: Path) -> None:
    runners = {"spend": Flujo(s.spend_pipeline(), pipeline_name="spend", persist_state=False),
               "retry": p.runner(p.retrying(), "retry"),
               "cached": p.runner(p.happy(), "cached"),
               "budgeted": budgeted()}
    # Every run of spend and budgeted has a number of its own: their steps fail by it.
    runs = itertools.count()
    while not stop.exists():
        await asyncio.gather(
            runners["spend"].run_result_async(next(runs)),
            runners["retry"].run_result_async(1),
            runners["cached"].run_result_async(1),
            limited(runners["budgeted"], next(runs)))
        await asyncio.sleep(PAUSE_S)


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1])))
