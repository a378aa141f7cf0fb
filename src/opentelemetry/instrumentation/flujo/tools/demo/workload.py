"""A synthetic workload for the reference executor: mixed durations, repeats (cache
hits), occasional failures with retries, in bursts.

Sized to be healthy under the default thresholds: the key space fits the default cache
(no evictions, use under 80 %), a burst fits the default concurrency limit (no waits,
level under 80 % of it), and nine tasks in ten retry once, so most errors recover. A
higher ``failure_ratio`` is the way to make it unhealthy on purpose.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import Any

from opentelemetry.instrumentation.flujo.tools.demo.executor import (
    CircuitOpenError,
    ReferenceExecutor,
)

KEYS = 100  # distinct cache keys: 78 % of the default 128-entry cache
BURST = 6  # tasks per burst: 75 % of the default 8 slots
RETRIED = 0.9  # fraction of tasks allowed one retry
BACK_OFF_S = 0.05
HEALTHY_FAILURE_RATIO = 0.05  # with the retries: under 1 % of executions fail
# Observe the executor only after this much of the workload: a cold cache's and object
# pool's first look-ups miss (a 0 % hit ratio is critical), which is a start, not a fault.
# An application warms up the same way before its readiness probe passes.
WARM_UP_S = 1.0


@dataclass
class Tally:
    """What the workload asked for; the executor's stats count only what it executed."""

    requests: int = 0
    cached: int = 0  # answered from the cache, not executed
    refused: int = 0  # refused by the open circuit breaker, not executed

    @property
    def executed(self) -> int:
        return self.requests - self.cached - self.refused


def _task(duration_s: float, rng: random.Random, failure_ratio: float) -> Any:
    # Each attempt fails on its own draw, so a retry can recover.
    async def task(buffer: bytearray) -> int:
        await asyncio.sleep(duration_s)
        if rng.random() < failure_ratio:
            raise ValueError("synthetic failure")
        buffer[0] = 1
        return len(buffer)

    return task


async def run_workload(
    executor: ReferenceExecutor,
    duration_s: float = 5.0,
    failure_ratio: float = HEALTHY_FAILURE_RATIO,
    seed: int = 7,
    burst: int = BURST,
    tally: Tally | None = None,
) -> Tally:
    """Run bursts of tasks for ``duration_s`` seconds, counting them into ``tally`` (kept
    current after every burst, so a caller that cancels the run still has the counts)."""
    rng = random.Random(seed)
    deadline = time.monotonic() + duration_s
    tally = Tally() if tally is None else tally
    hits_before = executor.cache.hits
    while time.monotonic() < deadline:
        jobs = []
        for _ in range(burst):
            key = rng.randrange(KEYS) if rng.random() < 0.6 else None
            task = _task(rng.uniform(0.001, 0.02), rng, failure_ratio)
            retries = 1 if rng.random() < RETRIED else 0
            jobs.append(executor.execute(task, key=key, retries=retries))
        results = await asyncio.gather(*jobs, return_exceptions=True)
        refused = sum(isinstance(r, CircuitOpenError) for r in results)
        tally.requests += len(results)
        tally.refused += refused
        tally.cached = executor.cache.hits - hits_before
        if refused:
            # Back off while the breaker is open, as a client would (refusals are
            # instant: without a pause the loop would spin).
            await asyncio.sleep(BACK_OFF_S)
        if rng.random() < 0.05:
            executor.cleanup()
    return tally
