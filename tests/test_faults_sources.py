"""Fault matrix 1, 2 and 4: sources that raise, hang, or vanish during a collection."""

from __future__ import annotations

import gc
import threading
from typing import Any

import pytest

from faults import ERRORS, EXECUTIONS, Source, budgeted_runtime, stats
from opentelemetry.instrumentation.flujo import instrument_executor
from opentelemetry.instrumentation.flujo._internal.collect.registry import Registry

from conftest import collect, eventually, value

HIT_RATIO = "flujo.executor.cache.hit_ratio"


def _errors(points: dict[Any, Any], reason: str) -> float:
    """Read errors of ``reason``, summed over executor names."""
    return float(sum(v for (name, attrs), v in points.items()
                     if name == ERRORS and dict(attrs).get("reason") == reason))


def _raise(_: int) -> Any:
    raise RuntimeError("source is broken")


def _flaky(call: int) -> Any:
    if call % 3 == 0:
        raise ConnectionError("one in three")
    return stats(call * 10)


def test_raising_sources_are_counted_and_healthy_ones_still_report(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with budgeted_runtime() as (_, reader):
        healthy = Source(stats)
        broken, flaky = Source(_raise), Source(_flaky)
        for source, name in ((healthy, "healthy"), (broken, "broken"), (flaky, "flaky")):
            assert instrument_executor(source, name)
        flaky_totals = []
        for collection in range(1, 10):
            points = collect(reader)
            assert value(points, EXECUTIONS, flujo__executor__name="healthy",
                         flujo__execution__outcome="success") == collection
            assert not any(dict(a).get("flujo.executor.name") == "broken"
                           for n, a in points if n != ERRORS)
            # every call raises for "broken", every third for "flaky"
            assert _errors(points, "raised") == collection + collection // 3
            assert value(points, ERRORS, reason="raised",
                         flujo__executor__name="broken") == collection
            flaky_totals.append(value(points, EXECUTIONS, flujo__executor__name="flaky",
                                      flujo__execution__outcome="success"))
            has_gauge = any(n == HIT_RATIO and dict(a).get("flujo.executor.name") == "flaky"
                            for n, a in points)
            assert has_gauge is (collection % 3 != 0)  # a failed read: gauges absent
        # counters carry the last good value through a failed read: never backwards
        assert flaky_totals == [10, 20, 20, 40, 50, 50, 70, 80, 80]
    # One warning per failing name (not per failed read), naming it and what it raised.
    warnings = [r.getMessage() for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
    assert len(warnings) == 2, warnings
    assert warnings[0].startswith("no stats from executor 'broken': "
                                  "get_optimization_stats() raised RuntimeError;")
    assert warnings[1].startswith("no stats from executor 'flaky': "
                                  "get_optimization_stats() raised ConnectionError;")
    assert "flujo.otel.collection.errors{reason='raised'}" in warnings[0]


def test_a_hanging_source_costs_one_budget_and_is_not_called_again_while_stuck() -> None:
    inside, release, returned = threading.Event(), threading.Event(), threading.Event()

    def hangs(call: int) -> Any:
        if call == 2:  # answers once, then hangs until released
            inside.set()
            release.wait(60)  # a hang guard: the test releases it
            returned.set()
        return stats(5)

    with budgeted_runtime(0.2) as (_, reader):
        healthy = [Source(stats) for _ in range(3)]
        for i, source in enumerate(healthy):
            instrument_executor(source, f"healthy-{i}")
        stuck = Source(hangs)
        instrument_executor(stuck, "slow")
        try:
            collect(reader)  # everyone answers once
            for collection in range(2, 6):
                points = collect(reader)
                # the collection ended while the stuck read was still running
                assert not returned.is_set()
                for i in range(3):
                    assert value(points, EXECUTIONS, flujo__executor__name=f"healthy-{i}",
                                 flujo__execution__outcome="success") == collection
                # the stuck source: counters carry its last value, gauges are absent
                assert value(points, EXECUTIONS, flujo__executor__name="slow",
                             flujo__execution__outcome="success") == 5
                assert not any(n == HIT_RATIO and dict(a).get("flujo.executor.name") == "slow"
                               for n, a in points)
                # counted once as a timeout (one budget spent), then as still_running:
                # not called again while stuck
                assert value(points, ERRORS, reason="timeout",
                             flujo__executor__name="slow") == 1
                assert _errors(points, "timeout") == 1
                assert _errors(points, "still_running") == collection - 2
            assert inside.wait(30)
            assert stuck.calls == 2
        finally:
            release.set()
        assert returned.wait(30)

        def read_again() -> bool:
            collect(reader)
            return stuck.calls == 3

        # released, it is read again (once the worker has handed its late answer back)
        eventually(read_again, "the released source to be read again")


class _Holder:
    """An executor whose read drops the last reference to another one and runs the GC."""

    def __init__(self, victim: Any) -> None:
        self.victim = [victim]

    def get_optimization_stats(self) -> Any:
        if self.victim:
            self.victim.clear()
            gc.collect()
        return stats(1)


@pytest.mark.parametrize("cyclic", [False, True])
def test_executor_garbage_collected_during_a_collection_is_counted_once(cyclic: bool) -> None:
    # A budget the holder's read (a full gc.collect() on a worker thread) fits in even
    # late in a long test run on a loaded machine: the victim must die mid-collection.
    with budgeted_runtime(budget_s=5.0) as (runtime, reader):
        victim = Source(lambda call: stats(7))
        if cyclic:
            victim.self_ref = victim  # type: ignore[attr-defined]  # only the cyclic GC frees it
        instrument_executor(victim, "victim")
        survivor = Source(lambda call: stats(100))
        instrument_executor(survivor, "victim")
        points = collect(reader)
        assert value(points, EXECUTIONS, flujo__executor__name="victim",
                     flujo__execution__outcome="success") == 107
        holder = _Holder(victim)
        del victim
        instrument_executor(holder, "holder")
        totals = []
        for _ in range(3):
            points = collect(reader)
            totals.append(value(points, EXECUTIONS, flujo__executor__name="victim",
                                flujo__execution__outcome="success"))
        # counted once while it dies (last value carried), then from the retired totals
        assert totals == [107, 107, 107]
        assert len(runtime.registry.entries()) == 2
        assert value(points, "flujo.otel.executors") == 2
        assert _errors(points, "collected") == 0


def test_cyclic_garbage_freed_while_the_registry_is_locked_does_not_deadlock() -> None:
    """Regression: the weakref callback took the (non re-entrant) registry lock, so a GC
    run triggered by an allocation inside Registry.add() deadlocked the host thread."""

    class Executor:
        def get_optimization_stats(self) -> Any:
            return {}

    registry = Registry(max_names=10_000)
    done = threading.Event()
    keep: list[Executor] = []

    def churn() -> None:
        old = gc.get_threshold()
        gc.set_threshold(1)  # every allocation may start a collection
        try:
            for i in range(300):
                garbage = Executor()
                garbage.cycle = garbage  # type: ignore[attr-defined]
                registry.add(garbage, f"cyclic-{i}")
                del garbage
                keep.append(Executor())
                registry.add(keep[-1], f"live-{i}")
        finally:
            gc.set_threshold(*old)
        done.set()

    worker = threading.Thread(target=churn, daemon=True)
    worker.start()
    worker.join(30)
    assert done.is_set(), "Registry.add() deadlocked in the GC's weakref callback"
    gc.collect()
    registry.purge()
    assert len(registry.entries()) == 300
