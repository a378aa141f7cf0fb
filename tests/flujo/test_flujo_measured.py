"""Real flujo 0.6 pipelines, measured in-process: the exported numbers match flujo's
own step history."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flujo_support import DURATION, EXECUTIONS, Points, durations, executions, load_pipelines
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from opentelemetry.instrumentation.flujo import FlujoInstrumentor, instrument_executor
from opentelemetry.instrumentation.flujo._internal.catalog import (
    BY_NAME,
    EXECUTION_DURATION,
    PIPELINE_NAME,
    PREFIX,
    RUN_OUTCOME,
    RUNS,
)
from opentelemetry.instrumentation.flujo._internal.config import Config
from opentelemetry.instrumentation.flujo._internal.flujo_hooks.patch import patch_flujo
from opentelemetry.instrumentation.flujo._internal.rate import MIN_INTERVAL_S
from opentelemetry.instrumentation.flujo._internal.runtime import Runtime, get_runtime

from conftest import StaticExecutor, collect, fresh_runtime, value

pytestmark = pytest.mark.flujo


@pytest.fixture
def pipelines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return load_pipelines(tmp_path, monkeypatch)


@pytest.fixture
def reader(
    pipelines: ModuleType, provider_and_reader: tuple[MeterProvider, InMemoryMetricReader]
) -> Iterator[InMemoryMetricReader]:
    provider, reader = provider_and_reader
    instrumentor = FlujoInstrumentor()
    instrumentor.instrument(meter_provider=provider)
    yield reader
    instrumentor.uninstrument()


def test_happy_path_matches_step_history(pipelines: ModuleType,
                                         reader: InMemoryMetricReader) -> None:
    name = pipelines.unique("happy")
    runner = pipelines.runner(pipelines.happy(), name)
    started = time.perf_counter()
    result = runner.run(1)
    run_s = time.perf_counter() - started
    flujo_says = pipelines.summary([result])
    points = collect(reader)

    assert flujo_says["total"] == 3
    assert result.success
    assert executions(points, name) == {"success": 3, "failure": 0}
    assert durations(points, name) == {(sr.name, "success"): 1 for sr in result.step_history}
    avg, low, high = (value(points, PREFIX + f"execution.{k}_duration",
                            flujo__executor__name=name) for k in ("avg", "min", "max"))
    # in seconds, and each within the run that contains it
    assert 0 < low <= avg <= high <= run_s
    assert value(points, PREFIX + "concurrency.max", flujo__executor__name=name) == 10
    assert value(points, PREFIX + "concurrency.level", flujo__executor__name=name) == 0
    assert value(points, PREFIX + "execution.failure_ratio", flujo__executor__name=name) == 0
    # flujo's step cache looked each step up and missed (new inputs): no evidence of a bad
    # cache, so no 0 % hit ratio to alert on.
    assert flujo_says["cache_hits"] == 0
    assert (PREFIX + "cache.hit_ratio", frozenset({("flujo.executor.name", name)})) \
        not in points
    assert value(points, PREFIX + "memory.usage", flujo__executor__name=name) > 10 * 2**20
    assert 0 < value(points, PREFIX + "memory.pressure", flujo__executor__name=name) <= 1
    # Nothing flujo cannot tell is invented.
    assert not [m for m, _ in points if ".object_pool." in m or ".circuit_breaker." in m
                or ".telemetry." in m or m.endswith(("queue.size", "avg_wait_time"))]


def test_window_resets_and_allocation_rate_needs_two_reads(pipelines: ModuleType) -> None:
    now = [10**12]
    runtime = Runtime(Config(), clock=lambda: now[0])  # the runtime's clock, driven here
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    runtime.bind(provider)
    try:
        assert patch_flujo(runtime)
        name = pipelines.unique("window")
        runner = pipelines.runner(pipelines.happy(), name)
        runner.run(1)
        rate_key = (PREFIX + "memory.allocation_rate",
                    frozenset({("flujo.executor.name", name)}))
        first = collect(reader)
        assert rate_key not in first
        # Another collection at the same time: no rate over no interval.
        assert rate_key not in collect(reader)
        now[0] += int(MIN_INTERVAL_S * 1e9)
        second = collect(reader)  # no execution since the first read: no duration window
        assert not [m for m, _ in second if m.endswith("_duration")]
        assert value(second, PREFIX + "memory.allocation_rate", flujo__executor__name=name) >= 0
        assert executions(second, name) == {"success": 3, "failure": 0}
    finally:
        runtime.close()
        provider.shutdown()


def test_retries_failures_and_recovery_match_step_history(
        pipelines: ModuleType, reader: InMemoryMetricReader) -> None:
    name = pipelines.unique("retry")
    result = pipelines.runner(pipelines.retrying(), name).run(1)
    flujo_says = pipelines.summary([result])
    points = collect(reader)
    attempts = {sr.name: sr.attempts for sr in result.step_history}

    assert attempts == {"ok": 1, "flaky": 3, "broken": 3}  # flujo's own account
    assert executions(points, name) == {"success": flujo_says["success"],
                                        "failure": flujo_says["failure"]}
    assert durations(points, name) == {("ok", "success"): 1, ("flaky", "success"): 1,
                                       ("broken", "failure"): 1}
    errored = flujo_says["recovered"] + flujo_says["retried_failures"]
    assert value(points, PREFIX + "error.ratio", flujo__executor__name=name) == pytest.approx(
        errored / flujo_says["total"])
    assert value(points, PREFIX + "error.recovery_ratio",
                 flujo__executor__name=name) == pytest.approx(flujo_says["recovered"] / errored)
    assert value(points, PREFIX + "execution.failure_ratio",
                 flujo__executor__name=name) == pytest.approx(1 / 3)
    assert value(points, PREFIX + "error.consecutive_failures", flujo__executor__name=name) == 1


def test_cache_hits_on_a_rerun_match_step_history(
        pipelines: ModuleType, reader: InMemoryMetricReader) -> None:
    name = pipelines.unique("cache")
    runner = pipelines.runner(pipelines.happy(), name)
    results = [runner.run(1), runner.run(1)]
    flujo_says = pipelines.summary(results)
    points = collect(reader)

    assert flujo_says["cache_hits"] == 3  # the whole second run came from flujo's cache
    # Over the executions from the first hit on: the first run's misses filled the cache.
    assert flujo_says["cold"] == 3
    assert value(points, PREFIX + "cache.hit_ratio",
                 flujo__executor__name=name) == pytest.approx(
        flujo_says["cache_hits"] / (flujo_says["total"] - flujo_says["cold"]))
    assert executions(points, name) == {"success": 6, "failure": 0}


def test_parallel_branches_count_as_nested_executions(
        pipelines: ModuleType, reader: InMemoryMetricReader) -> None:
    name = pipelines.unique("parallel")
    pipeline, branches = pipelines.parallel()
    result = pipelines.runner(pipeline, name).run(1)
    points = collect(reader)
    fan = result.step_history[-1]

    executed = fan.metadata_["executed_branches"]
    branch_steps = [s.name for b in executed for s in branches[b].steps]
    assert result.success
    assert sorted(executed) == ["a", "b"]
    # flujo's history lists the top-level steps; each branch step was one more execute().
    expected = len(pipelines.history([result])) + len(branch_steps)
    assert executions(points, name) == {"success": expected, "failure": 0}
    assert durations(points, name) == {
        (step, "success"): 1 for step in ["first", "fan", *branch_steps]}


def test_loop_iterations_count_as_nested_executions(
        pipelines: ModuleType, reader: InMemoryMetricReader) -> None:
    name, iterations = pipelines.unique("loop"), 3
    result = pipelines.runner(pipelines.looping(iterations), name).run(0)
    flujo_says = pipelines.summary([result])
    points = collect(reader)
    loop = result.step_history[-1]

    assert result.success
    # flujo's account: the loop's attempts are its iterations; its own step history
    # holds every iteration's body results; body1 failed once and passed on its retry.
    assert loop.attempts == loop.metadata_["iterations"] == iterations
    assert [sr.name for sr in loop.step_history] == ["body1", "body2", "body3"] * iterations
    assert [sr.attempts for sr in loop.step_history if sr.name == "body1"] == [2, 1, 1]
    # Each body step of each iteration was one execute(): the whole history, no more.
    assert flujo_says["total"] == 2 + 3 * iterations
    assert executions(points, name) == {"success": flujo_says["total"], "failure": 0}
    assert durations(points, name) == {
        ("pre", "success"): 1, ("loop", "success"): 1, ("body1", "success"): iterations,
        ("body2", "success"): iterations, ("body3", "success"): iterations}
    # Only body1's retry had an error: the loop's iterations are not retries.
    assert flujo_says["recovered"] == 1
    assert value(points, PREFIX + "error.ratio", flujo__executor__name=name) == pytest.approx(
        flujo_says["recovered"] / flujo_says["total"])
    assert value(points, PREFIX + "error.recovery_ratio", flujo__executor__name=name) == 1
    assert value(points, PREFIX + "execution.failure_ratio", flujo__executor__name=name) == 0
    hit_ratio = points.get((PREFIX + "cache.hit_ratio", frozenset({("flujo.executor.name", name)})))
    # Present once there was a hit (then over the executions from it on), absent before.
    assert hit_ratio == (flujo_says["cache_hits"] / (flujo_says["total"] - flujo_says["cold"])
                         if flujo_says["cache_hits"] else None)


def test_fallback_run_is_one_more_execution(pipelines: ModuleType,
                                            reader: InMemoryMetricReader) -> None:
    name = pipelines.unique("fallback")
    result = pipelines.runner(pipelines.with_fallback(), name).run(1)
    flujo_says = pipelines.summary([result])
    points = collect(reader)
    primary = result.step_history[-1]

    assert result.success
    assert primary.output == 3  # the fallback's (pre: 1 + 1, backup: + 1)
    assert primary.metadata_["fallback_triggered"] is True
    assert primary.name == "backup"  # flujo names the primary's result after its fallback
    # The fallback's run is an execute() inside primary's that flujo's history does not
    # list (it only flags it): one more execution, with the primary's outcome.
    assert (flujo_says["total"], flujo_says["fallbacks"]) == (2, 1)
    total = flujo_says["total"] + flujo_says["fallbacks"]
    assert executions(points, name) == {"success": total, "failure": 0}
    assert durations(points, name) == {
        ("pre", "success"): 1, ("primary", "success"): 1, ("backup", "success"): 1}
    # primary failed and recovered through its fallback; backup itself had no error.
    assert flujo_says["recovered"] == 1
    assert value(points, PREFIX + "error.ratio", flujo__executor__name=name) == pytest.approx(
        flujo_says["recovered"] / total)
    assert value(points, PREFIX + "error.recovery_ratio", flujo__executor__name=name) == 1
    assert value(points, PREFIX + "execution.failure_ratio", flujo__executor__name=name) == 0
    assert value(points, PREFIX + "error.consecutive_failures", flujo__executor__name=name) == 0


def test_concurrent_runs_are_in_flight_together(
        pipelines: ModuleType, reader: InMemoryMetricReader) -> None:
    name = pipelines.unique("concurrent")
    runs = 4

    async def scenario() -> tuple[list[Any], Points]:
        gate, entered = asyncio.Event(), []
        runner = pipelines.runner(
            pipelines.step(pipelines.inc, "pre")
            >> pipelines.step(pipelines.gated(gate, entered), "gated"), name)
        tasks = [asyncio.create_task(runner.run_result_async(i)) for i in range(runs)]

        async def all_entered() -> None:
            while len(entered) < runs:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(all_entered(), 30)  # a hang guard: every run enters
        during = collect(reader)  # every run is parked inside its "gated" step
        gate.set()
        return list(await asyncio.gather(*tasks)), during

    results, during = asyncio.run(scenario())
    after = collect(reader)
    flujo_says = pipelines.summary(results)

    assert value(during, PREFIX + "concurrency.level", flujo__executor__name=name) == runs
    assert value(after, PREFIX + "concurrency.level", flujo__executor__name=name) == 0
    assert flujo_says == {"total": 2 * runs, "success": 2 * runs, "failure": 0, "cache_hits": 0,
                          "cold": 2 * runs,
                          "retried_failures": 0, "recovered": 0, "fallbacks": 0}
    assert executions(after, name) == {"success": 2 * runs, "failure": 0}


def test_propagated_exception_is_a_failure_and_reaches_the_caller(
        pipelines: ModuleType, reader: InMemoryMetricReader) -> None:
    from flujo.application.core.executor_core import ExecutorCore
    from flujo.domain.models import Paused

    from opentelemetry.instrumentation.flujo._internal.flujo_hooks.measured import (
        OTHER_OUTCOME,
        classify,
    )
    from opentelemetry.instrumentation.flujo._internal.flujo_hooks.patch import flujo_types

    core = ExecutorCore()
    with pytest.raises(TypeError, match=r"Unsupported ExecutorCore\.execute"):
        asyncio.run(core.execute(pipelines.step(pipelines.inc, "x"), 1, bogus=True))
    points = collect(reader)
    assert executions(points, "ExecutorCore") == {"success": 0, "failure": 1}
    types = flujo_types()
    assert types is not None
    assert classify(Paused(message="waiting for a human"), types) == (OTHER_OUTCOME, None)


def test_own_get_optimization_stats_wins(pipelines: ModuleType,
                                         reader: InMemoryMetricReader) -> None:
    from flujo.application.core.executor_core import ExecutorCore

    class Reporting(ExecutorCore):  # type: ignore[misc]
        def get_optimization_stats(self) -> dict[str, Any]:
            return {"execution": {"avg_time_ms": 123.0}, "cache": {"size": 7}}

    core = Reporting()
    asyncio.run(core.execute(pipelines.step(pipelines.inc, "x"), 1))
    points = collect(reader)
    assert value(points, PREFIX + "execution.avg_duration",
                 flujo__executor__name="Reporting") == pytest.approx(0.123)
    assert value(points, PREFIX + "cache.size", flujo__executor__name="Reporting") == 7
    # Read as it reports itself: no measured counts mixed in, the histogram still records.
    with pytest.raises(KeyError):
        value(points, EXECUTIONS, flujo__executor__name="Reporting")
    assert durations(points, "Reporting") == {("x", "success"): 1}


def test_executions_of_a_discarded_runner_are_kept(
        pipelines: ModuleType, reader: InMemoryMetricReader) -> None:
    name = pipelines.unique("per-request")
    for i in range(3):  # a runner per request, gone before any collection
        pipelines.runner(pipelines.happy(), name).run(i)
    gc.collect()
    points = collect(reader)
    assert executions(points, name) == {"success": 9, "failure": 0}
    # No live executor of that name: its configured limit is not reported.
    with pytest.raises(KeyError):
        value(points, PREFIX + "concurrency.max", flujo__executor__name=name)
    assert value(points, "flujo.otel.executors") >= 1


def test_same_name_runners_share_one_series(pipelines: ModuleType,
                                           reader: InMemoryMetricReader) -> None:
    name = pipelines.unique("shared")
    runners = [pipelines.runner(pipelines.happy(), name) for _ in range(2)]
    for i, runner in enumerate(runners):
        runner.run(i)
    points = collect(reader)
    assert executions(points, name) == {"success": 6, "failure": 0}
    assert value(points, PREFIX + "concurrency.max", flujo__executor__name=name) == 20
    assert value(points, PREFIX + "memory.usage", flujo__executor__name=name) < 2**40


def test_histogram_buckets_hold_the_duration_thresholds(
        pipelines: ModuleType, reader: InMemoryMetricReader) -> None:
    limits = {limit for source in EXECUTION_DURATION.thresholds_from
              for limit in (BY_NAME[source].thresholds.warning,  # type: ignore[union-attr]
                            BY_NAME[source].thresholds.critical)  # type: ignore[union-attr]
              if limit is not None}
    assert limits == {1.0, 5.0}
    assert limits <= set(EXECUTION_DURATION.boundaries)
    pipelines.runner(pipelines.happy(), pipelines.unique("buckets")).run(1)
    points = [p for (m, _), p in collect(reader).items() if m == DURATION]
    assert points
    assert all(tuple(p.explicit_bounds) == EXECUTION_DURATION.boundaries
                          for p in points)


def test_uninstrument_restores_execute_exactly(
        pipelines: ModuleType, provider_and_reader: tuple[MeterProvider, InMemoryMetricReader],
) -> None:
    from flujo.application.core.executor_core import ExecutorCore
    from flujo.application.runner import Flujo

    execute, init = ExecutorCore.__dict__["execute"], Flujo.__dict__["__init__"]
    instrumentor = FlujoInstrumentor()
    instrumentor.instrument(meter_provider=provider_and_reader[0])
    assert ExecutorCore.__dict__["execute"] is not execute
    assert ExecutorCore.__dict__["execute"].__wrapped__ is execute
    instrumentor.uninstrument()
    assert ExecutorCore.__dict__["execute"] is execute
    assert Flujo.__dict__["__init__"] is init
    name = pipelines.unique("after")
    pipelines.runner(pipelines.happy(), name).run(1)
    assert not [k for k in collect(provider_and_reader[1]) if dict(k[1]).get(
        "flujo.executor.name") == name]


class _FutureOnly(FlujoInstrumentor):
    _instance = None  # BaseInstrumentor is a per-class singleton; not FlujoInstrumentor's

    def instrumentation_dependencies(self) -> tuple[str, ...]:
        return ("flujo >= 9",)


def test_unsupported_flujo_warns_once_and_manual_instrumentation_works(
        pipelines: ModuleType, provider_and_reader: tuple[MeterProvider, InMemoryMetricReader],
        caplog: pytest.LogCaptureFixture) -> None:
    from flujo.application.core.executor_core import ExecutorCore

    execute = ExecutorCore.__dict__["execute"]
    instrumentor = _FutureOnly()
    with caplog.at_level(logging.WARNING, logger="opentelemetry.instrumentation.flujo"):
        instrumentor.instrument(meter_provider=provider_and_reader[0])
    try:
        warnings = [r for r in caplog.records if "flujo" in r.getMessage()
                    and r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "instrument_executor" in warnings[0].getMessage()
        assert ExecutorCore.__dict__["execute"] is execute
        stats = {"execution": {"total_executions": 2, "successful_executions": 2,
                               "failed_executions": 0}}
        manual = StaticExecutor(stats)  # held here: the registry only holds it weakly
        assert instrument_executor(manual, "manual")
        assert value(collect(provider_and_reader[1]), EXECUTIONS, flujo__executor__name="manual",
                     flujo__execution__outcome="success") == 2
    finally:
        instrumentor.uninstrument()


@pytest.mark.parametrize(("cap", "expected"), [
    ("1", {"one", "_other"}), ("0", set()),
])
def test_step_name_cap(pipelines: ModuleType, monkeypatch: pytest.MonkeyPatch,
                       cap: str, expected: set[str]) -> None:
    fresh_runtime({"OTEL_PYTHON_FLUJO_MAX_STEP_NAMES": cap})
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    instrumentor = FlujoInstrumentor()
    instrumentor.instrument(meter_provider=provider)
    try:
        name = pipelines.unique("cap")
        pipelines.runner(pipelines.happy(), name).run(1)
        steps = {dict(a).get("flujo.step.name") for (m, a), _ in collect(reader).items()
                 if m == DURATION}
        assert steps - {None} == expected
    finally:
        instrumentor.uninstrument()
        provider.shutdown()


def test_an_executors_source_is_chosen_once(pipelines: ModuleType, reader: InMemoryMetricReader,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # The wrapper reads the source as a plain attribute; were its name and ATTRIBUTE
    # to drift apart, every execution would take attach()'s locked slow path.
    from flujo.application.core.executor_core import ExecutorCore

    attached: list[object] = []
    sources = get_runtime().flujo
    attach = sources.attach

    def counting(executor: Any, name: str | None = None) -> Any:
        attached.append(executor)
        return attach(executor, name)

    monkeypatch.setattr(sources, "attach", counting)
    core = ExecutorCore()
    for i in range(3):
        asyncio.run(core.execute(pipelines.step(pipelines.inc, "once"), i))
    assert attached == [core]
    assert durations(collect(reader), "ExecutorCore") == {("once", "success"): 3}


def test_instrument_again_measures_a_runner_the_closed_runtime_measured(
        pipelines: ModuleType, reader: InMemoryMetricReader,
        provider_and_reader: tuple[MeterProvider, InMemoryMetricReader]) -> None:
    """uninstrument() then instrument(): the same runner's executor chooses its source
    in the fresh runtime, which records each execution once into the same provider."""
    name = pipelines.unique("reset")
    runner = pipelines.runner(pipelines.happy(), name)
    runner.run(1)
    assert executions(collect(reader), name) == {"success": 3, "failure": 0}
    FlujoInstrumentor().uninstrument()
    FlujoInstrumentor().instrument(meter_provider=provider_and_reader[0])
    runner.run(1)
    runner.run(2)
    points = collect(reader)
    assert executions(points, name) == {"success": 6, "failure": 0}  # the new runtime's
    # the histogram is the provider's: the first run's points, then two more per step
    assert durations(points, name) == {(step, "success"): 3 for step in ("one", "two", "three")}
    # so are the run counter's totals: the series goes on, it does not restart
    assert runs(reader) == {(name, "success"): 3}


def test_uninstrument_before_any_collection_loses_nothing(
        pipelines: ModuleType, reader: InMemoryMetricReader,
        provider_and_reader: tuple[MeterProvider, InMemoryMetricReader]) -> None:
    """The executions, runs and spend wait in journals for the collection; closing the
    runtime first folds them into the provider's instruments, which its final
    collection still exports."""
    name = pipelines.unique("closed-first")
    runner = pipelines.runner(pipelines.happy(), name)
    results = [runner.run(i) for i in range(3)]
    FlujoInstrumentor().uninstrument()  # no collection since the runs
    # a new runtime serves the provider: its run counter's totals are observed again
    FlujoInstrumentor().instrument(meter_provider=provider_and_reader[0])
    assert durations(collect(reader), name) == {
        (step, "success"): 3 for step in ("one", "two", "three")}
    assert runs(reader) == {(name, "success"): 3}
    assert pipelines.summary(results)["total"] == 9


# Runs (flujo_hooks/runs.py): a human-in-the-loop pause is ``paused``, a runner inside a
# step (``as_step``) is part of the run it is in, and every entry point counts once.


def runs(reader: InMemoryMetricReader) -> dict[tuple[str, str], Any]:
    """{(pipeline, outcome): runs} as exported."""
    return {(dict(attrs)[PIPELINE_NAME], dict(attrs)[RUN_OUTCOME]): value
            for (name, attrs), value in collect(reader).items() if name == RUNS.name}


def test_a_human_in_the_loop_pause_is_paused(pipelines: ModuleType,
                                             reader: InMemoryMetricReader) -> None:
    from flujo import Step

    name = pipelines.unique("hitl")
    runner = pipelines.runner(pipelines.step(pipelines.inc, "before")
                              >> Step.human_in_the_loop("ask", message_for_user="ok?")
                              >> pipelines.step(pipelines.inc, "after"), name)
    result = asyncio.run(runner.run_result_async(1))
    assert result.status == "paused"  # flujo's own word
    assert runs(reader) == {(name, "paused"): 1}


def test_a_runner_inside_a_step_is_part_of_the_outer_run(pipelines: ModuleType,
                                                         reader: InMemoryMetricReader) -> None:
    inner_name, outer_name = pipelines.unique("inner"), pipelines.unique("outer")
    inner = pipelines.runner(pipelines.step(pipelines.inc, "i1")
                             >> pipelines.step(pipelines.inc, "i2"), inner_name)
    outer = pipelines.runner(pipelines.step(pipelines.inc, "o1") >> inner.as_step("sub"),
                             outer_name)
    assert asyncio.run(outer.run_result_async(1)).success
    assert runs(reader) == {(outer_name, "success"): 1}


def test_every_entry_point_counts_one_run(pipelines: ModuleType,
                                          reader: InMemoryMetricReader) -> None:
    name = pipelines.unique("entry")
    runner = pipelines.runner(pipelines.happy(), name)

    async def each_async_entry_point() -> None:
        await runner.run_async(1)
        async for _ in runner.run_async(1):
            pass
        await runner.run_result_async(1)
        async for _ in runner.run_outcomes_async(1):
            pass
        async for _ in runner.run_stream(1):
            pass
        async for _ in runner.stream_async(1):
            pass
        async for _ in runner.run_with_events(1):
            pass

    asyncio.run(each_async_entry_point())
    runner.run(1)
    assert runs(reader) == {(name, "success"): 8}


def budget_stopped(limit: float, name: str) -> Any:
    """flujo_spend_workload's capped pipeline (validate >> an agent >> a parallel step of
    two branches) >> a loop, every step reporting its cost: ``limit`` USD stops it in the
    parallel step or in the loop."""
    import flujo_spend_workload as s
    from flujo.domain.models import UsageLimits

    from flujo import Flujo, Pipeline, Step

    loop = Step.loop_until("polish", Pipeline.from_step(
        s.costed("polish1", 0.001, 10, loop_body=True)),
        exit_condition_callable=lambda out, _ctx: out.loops >= 3, max_loops=5)
    return Flujo(s.capped_pipeline() >> loop, pipeline_name=name, persist_state=False,
                 usage_limits=UsageLimits(total_cost_usd_limit=limit))


@pytest.mark.parametrize("limit", [0.003, 0.0052])  # crossed in the parallel step; the loop
def test_a_budget_stop_is_its_own_outcome_not_a_failure(
        pipelines: ModuleType, reader: InMemoryMetricReader, limit: float,
        caplog: pytest.LogCaptureFixture) -> None:
    from flujo.exceptions import UsageLimitExceededError

    name = pipelines.unique("capped")
    runner = budget_stopped(limit, name)
    for run in range(2):
        with pytest.raises(UsageLimitExceededError) as stopped:
            asyncio.run(runner.run_result_async(run))
    # flujo's own history: no step failed but by the budget (a loop it stopped says so)
    assert [sr.name for sr in stopped.value.result.step_history if not sr.success] \
        == ([] if limit < 0.005 else ["polish"])
    points = collect(reader)
    assert runs(reader) == {(name, "usage_limit"): 2}
    counts = executions(points, name)
    assert counts["failure"] == 0 and counts["success"] >= 4
    assert value(points, EXECUTIONS, flujo__executor__name=name,
                 flujo__execution__outcome="other") > 0  # the steps the stop cut short
    for ratio in ("execution.failure_ratio", "error.ratio"):
        assert value(points, PREFIX + ratio, flujo__executor__name=name) == 0
    assert (PREFIX + "error.recovery_ratio", frozenset({("flujo.executor.name", name)})) \
        not in points  # no error to recover from
    alerts = [r.getMessage() for r in caplog.records if "ALERT" in r.getMessage()]
    assert [a for a in alerts if name in a and "usage_limit" not in a] == []


def test_a_cache_hit_spends_nothing(pipelines: ModuleType, reader: InMemoryMetricReader) -> None:
    """flujo's step cache serves the same input's stored result: flujo's totals count
    its cost again, the spend counts what was produced (the first run's outputs)."""
    import flujo_spend_workload as s

    name = pipelines.unique("cached-spend")
    runner = pipelines.runner(s.costed("c1", 0.01, 10) >> s.costed("c2", 0.02, 20), name)
    results = [asyncio.run(runner.run_result_async(1)) for _ in range(3)]
    assert [sr.metadata_.get("cache_hit") for sr in results[-1].step_history] == [True, True]
    assert sum(r.total_cost_usd for r in results) == pytest.approx(0.09)  # flujo's figure
    points = collect(reader)
    assert value(points, PREFIX + "spend.cost", flujo__executor__name=name) == \
        pytest.approx(0.03)
    assert value(points, PREFIX + "spend.tokens", flujo__executor__name=name) == 30


def test_a_nested_runs_outputs_are_the_outer_runs_spend_once(
        pipelines: ModuleType, reader: InMemoryMetricReader) -> None:
    import flujo_spend_workload as s

    from flujo import Step

    inner_name, outer_name = pipelines.unique("inner-spend"), pipelines.unique("outer-spend")
    inner = pipelines.runner(s.costed("i1", 0.01, 10)
                             >> Step(name="iagent", agent=s.Agent("iagent")), inner_name)
    outer = pipelines.runner(s.costed("o1", 0.02, 20) >> inner.as_step("nested"), outer_name)
    result = asyncio.run(outer.run_result_async(1))
    points = collect(reader)
    assert result.total_cost_usd == pytest.approx(0.0315) and result.total_tokens == 180
    assert value(points, PREFIX + "spend.cost", flujo__executor__name=outer_name) == \
        pytest.approx(0.0315)
    assert value(points, PREFIX + "spend.tokens", flujo__executor__name=outer_name) == 180
    steps = {dict(attrs)["flujo.step.name"] for name, attrs in points
             if name == "flujo.step.cost" and dict(attrs)[PIPELINE_NAME] == outer_name}
    assert steps == {"o1", "i1", "iagent"}  # the nested run's steps, the outer's pipeline
    assert not [attrs for name, attrs in points
                if name == "flujo.step.cost" and dict(attrs)[PIPELINE_NAME] == inner_name]
