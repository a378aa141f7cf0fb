"""A flujo application with no OpenTelemetry code: run under ``opentelemetry-instrument``
by test_flujo_otlp.py. Prints what flujo's own step history says, as JSON."""

from __future__ import annotations

import asyncio
import json
import sys
import time

import flujo_pipelines as p

CONCURRENT = 4


async def concurrent() -> list[object]:
    gate, entered = asyncio.Event(), []
    runner = p.runner(p.step(p.inc, "pre") >> p.step(p.gated(gate, entered), "gated"),
                      "concurrent")
    tasks = [asyncio.create_task(runner.run_result_async(i)) for i in range(CONCURRENT)]
    while len(entered) < CONCURRENT:
        await asyncio.sleep(0.01)
    await asyncio.sleep(float(sys.argv[1]))  # several export intervals with all in flight
    gate.set()
    return list(await asyncio.gather(*tasks))


def main() -> None:
    pipeline, branches = p.parallel()
    # Long-lived runners, as in a service (the executor's concurrency_limit is reported
    # while one of that name lives).
    runners = {name: p.runner(definition, name) for name, definition in (
        ("happy", p.happy()), ("retry", p.retrying()), ("cached", p.happy()),
        ("parallel", pipeline))}
    results = {
        "happy": [runners["happy"].run(1)],
        "retry": [runners["retry"].run(1)],
        "cached": [runners["cached"].run(1), runners["cached"].run(1)],
        "parallel": [runners["parallel"].run(1)],
        "concurrent": asyncio.run(concurrent()),
    }
    fan = results["parallel"][0].step_history[-1]
    report = {name: p.summary(runs) for name, runs in results.items()}
    report["parallel"]["branch_steps"] = sum(
        len(branches[b].steps) for b in fan.metadata_["executed_branches"])
    report["concurrent"]["in_flight"] = CONCURRENT
    print("FLUJO-HISTORY " + json.dumps(report), flush=True)
    time.sleep(0.2)


if __name__ == "__main__":
    main()
