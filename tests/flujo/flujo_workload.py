"""A flujo application with no OpenTelemetry instrumentation code: run under
``opentelemetry-instrument`` by test_flujo_otlp.py. Prints what flujo's own step history
says, as JSON. It reaches the global meter provider only to flush at the two moments the
test checks: all concurrent runs in flight, and every run over with its runner alive."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import flujo_pipelines as p
from opentelemetry.sdk.metrics import MeterProvider

from opentelemetry import metrics

CONCURRENT = 4


def flush() -> None:
    """Collect and export now (opentelemetry-instrument set up the SDK's provider)."""
    provider = metrics.get_meter_provider()
    assert isinstance(provider, MeterProvider), provider
    assert provider.force_flush(timeout_millis=30_000)


async def concurrent(runner: Any, gate: asyncio.Event, entered: list[int]) -> list[object]:
    tasks = [asyncio.create_task(runner.run_result_async(i)) for i in range(CONCURRENT)]
    while len(entered) < CONCURRENT:  # polls the app's own list: no other event to await
        await asyncio.sleep(0.01)
    flush()  # a collection with all of them in flight
    gate.set()
    return list(await asyncio.gather(*tasks))


def main() -> None:
    pipeline, branches = p.parallel()
    gate, entered = asyncio.Event(), []
    gated = p.step(p.inc, "pre") >> p.step(p.gated(gate, entered), "gated")
    # Long-lived runners, as in a service: an executor is held weakly, so one that died
    # before a collection read it would export none of its last counts (and its
    # concurrency_limit is reported only while one of that name lives).
    runners = {name: p.runner(definition, name) for name, definition in (
        ("happy", p.happy()), ("retry", p.retrying()), ("cached", p.happy()),
        ("parallel", pipeline), ("concurrent", gated))}
    results = {
        "happy": [runners["happy"].run(1)],
        "retry": [runners["retry"].run(1)],
        "cached": [runners["cached"].run(1), runners["cached"].run(1)],
        "parallel": [runners["parallel"].run(1)],
        "concurrent": asyncio.run(concurrent(runners["concurrent"], gate, entered)),
    }
    fan = results["parallel"][0].step_history[-1]
    report = {name: p.summary(runs) for name, runs in results.items()}
    report["parallel"]["branch_steps"] = sum(
        len(branches[b].steps) for b in fan.metadata_["executed_branches"])
    report["concurrent"]["in_flight"] = CONCURRENT
    flush()  # every run over, every runner alive: the final counts and levels of 0
    print("FLUJO-HISTORY " + json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
