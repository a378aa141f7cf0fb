"""A synthetic workload for the reference executor: mixed durations, repeats (cache
hits), occasional failures with retries, and bursts that contend for slots."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from opentelemetry.instrumentation.flujo.tools.demo.executor import ReferenceExecutor


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
    failure_ratio: float = 0.05,
    seed: int = 7,
    burst: int = 12,
) -> int:
    """Run bursts of tasks for ``duration_s`` seconds; returns the executions attempted."""
    rng = random.Random(seed)
    deadline = time.monotonic() + duration_s
    attempted = 0
    while time.monotonic() < deadline:
        jobs = []
        for _ in range(burst):
            key = rng.randrange(200) if rng.random() < 0.6 else None
            task = _task(rng.uniform(0.001, 0.02), rng, failure_ratio)
            jobs.append(executor.execute(task, key=key, retries=1 if rng.random() < 0.5 else 0))
        results = await asyncio.gather(*jobs, return_exceptions=True)
        attempted += len(results)
        if rng.random() < 0.05:
            executor.cleanup()
    return attempted
