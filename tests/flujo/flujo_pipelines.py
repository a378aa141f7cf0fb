"""Pure-Python flujo pipelines (``Step.from_callable``; no LLM, no network) and what
flujo's own step history says about a run."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable
from typing import Any

from flujo.domain.models import StepResult

from flujo import Flujo, Pipeline, Step

_runs = itertools.count()


async def inc(x: int) -> int:
    return x + 1


async def always_fails(x: int) -> int:
    raise RuntimeError("always fails")


def flaky(failures: int) -> Any:
    """A step function that raises on its first ``failures`` calls."""
    calls = itertools.count(1)

    async def flaky(x: int) -> int:
        if next(calls) <= failures:
            raise ValueError("transient")
        return x

    return flaky


def gated(gate: asyncio.Event, entered: list[int]) -> Any:
    """A step that waits for ``gate``: runs pile up in flight until it opens."""

    async def gated(x: int) -> int:
        entered.append(x)
        await gate.wait()
        return x

    return gated


def step(fn: Any, name: str, **kwargs: Any) -> Any:
    return Step.from_callable(fn, name=name, **kwargs)


def runner(pipeline: Any, name: str) -> Any:
    return Flujo(pipeline, pipeline_name=name, persist_state=False)


def unique(prefix: str) -> str:
    """A pipeline name no earlier test used (series are per name, process-wide)."""
    return f"{prefix}-{next(_runs)}"


def happy() -> Any:
    return step(inc, "one") >> step(inc, "two") >> step(inc, "three")


def retrying() -> Any:
    return (step(inc, "ok") >> step(flaky(2), "flaky", max_retries=3)
            >> step(always_fails, "broken", max_retries=2))


def parallel() -> tuple[Any, dict[str, Pipeline[Any, Any]]]:
    branches = {
        "a": Pipeline.from_step(step(inc, "a1")),
        "b": step(inc, "b1") >> step(inc, "b2"),
    }
    return step(inc, "first") >> Step.parallel("fan", branches), branches


def looping(iterations: int) -> Any:
    """``pre``, then a loop whose three-step body adds 2 per iteration until it has run
    ``iterations`` times; ``body1`` fails its first call and succeeds on its retry."""
    body = step(flaky(1), "body1", max_retries=1) >> step(inc, "body2") >> step(inc, "body3")
    return step(inc, "pre") >> Step.loop_until(
        "loop", body, exit_condition_callable=lambda out, _ctx: out >= 1 + 2 * iterations,
        max_loops=iterations + 5)


def with_fallback() -> Any:
    """``pre``, then ``primary`` (fails on every attempt) whose fallback ``backup`` works."""
    primary = step(always_fails, "primary", max_retries=1)
    primary.fallback(step(inc, "backup"))
    return step(inc, "pre") >> primary


def history(results: Iterable[Any]) -> list[StepResult]:
    """Every StepResult flujo recorded, nested step histories included."""
    out: list[StepResult] = []
    for result in results:
        for sr in result.step_history:
            out.append(sr)
            out.extend(history([sr]))
    return out


def retried(sr: StepResult) -> bool:
    """flujo's account of a retry or fallback. A loop's ``attempts`` are its iterations
    (flujo says so in ``metadata_["iterations"]``), not retries."""
    return (sr.metadata_.get("fallback_triggered") is True
            or (sr.attempts > 1 and "iterations" not in sr.metadata_))


def summary(results: Iterable[Any]) -> dict[str, int]:
    """Counts as flujo's step history reports them. ``fallbacks`` is the number of
    results a fallback step produced: the fallback's own run is not in the history."""
    srs = history(results)
    cache_hits = [sr for sr in srs if sr.metadata_.get("cache_hit") is True]
    fresh = [sr for sr in srs if sr not in cache_hits]
    first_hit = srs.index(cache_hits[0]) if cache_hits else len(srs)
    return {
        "total": len(srs),
        "success": sum(sr.success for sr in srs),
        "failure": sum(not sr.success for sr in srs),
        "cache_hits": len(cache_hits),
        # the misses before the first hit, which filled a cold cache (runs in order)
        "cold": first_hit,
        "retried_failures": sum(not sr.success for sr in fresh),
        "recovered": sum(sr.success and retried(sr) for sr in fresh),
        "fallbacks": sum(sr.metadata_.get("fallback_triggered") is True for sr in srs),
    }
