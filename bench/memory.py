"""Memory figures, from tracemalloc (every Python allocation, wherever it is made)."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable

from bench.report import Figure
from bench.subjects import Executor, Plugin, named_executors

KIB, MIB = 1024, 1024 * 1024
PER_EXECUTOR_GOAL = 2 * KIB
CHURN_GOAL = 1 * MIB
_PLUGIN_FILES = "*/opentelemetry/instrumentation/flujo/*"


def _traced(after: Callable[[], None]) -> tuple[int, int]:
    """(all bytes, bytes allocated by the plugin's own code) still held after ``after``."""
    gc.collect()
    before = tracemalloc.take_snapshot()
    after()
    gc.collect()
    now = tracemalloc.take_snapshot()
    total = sum(s.size_diff for s in now.compare_to(before, "filename"))
    mine = [tracemalloc.Filter(True, _PLUGIN_FILES)]
    own = sum(s.size_diff for s in now.filter_traces(mine).compare_to(
        before.filter_traces(mine), "filename"))
    return total, own


def _pipeline(i: int, names_used: int) -> str:
    return f"pipeline-{i % names_used}"


def _establish_names(plugin: Plugin, names_used: int) -> None:
    """One executor per name, collected twice, then dropped.

    The names stay, as they do in an application: their retired counters keep them
    (a counter never goes backwards), and with them their SDK series and threshold
    state. That is a cost per *name* (the ``memory.per_name`` figure and the
    ``name_bytes`` detail), so the per-executor and churn figures start from here.
    """
    executors = [Executor() for _ in range(names_used)]
    for i, executor in enumerate(executors):
        plugin.runtime.registry.add(executor, _pipeline(i, names_used))
    plugin.collect()
    plugin.collect()
    executors.clear()
    plugin.collect()


def per_executor(n: int, names_used: int = 10) -> list[Figure]:
    """Bytes per registered executor, after it has been collected twice.

    Executors share a few names (as flujo's ExecutorCores share a pipeline name), so
    this is the plugin's per-executor state; a new *name* also costs its series in
    the SDK and the threshold engine's state, reported separately.
    """
    shared = [(Executor(), _pipeline(i, names_used)) for i in range(n)]
    own_names = named_executors(n)
    figures = []
    tracemalloc.start()
    try:
        for label, executors in (("shared name", shared), ("own name", own_names)):
            plugin = Plugin([])
            plugin.collect()
            named = 0
            if label == "shared name":
                named = _traced(lambda plugin=plugin: _establish_names(plugin, names_used))[0]

            def register(plugin: Plugin = plugin, executors: list = executors) -> None:  # type: ignore[type-arg]
                for executor, name in executors:
                    plugin.runtime.registry.add(executor, name)
                plugin.collect()
                plugin.collect()

            total, own = _traced(register)
            plugin.close()
            if label == "shared name":
                figures.append(Figure(
                    "memory.per_executor", "memory per registered executor",
                    total / n, "B", goal="<= 2 KiB", met=total / n <= PER_EXECUTOR_GOAL,
                    detail={"executors": n, "names": names_used, "plugin_code_bytes": own / n,
                            "name_bytes": named / names_used}))
            else:
                figures.append(Figure(
                    "memory.per_name", "memory per executor with its own name (incl. SDK series)",
                    total / n, "B", detail={"executors": n, "plugin_code_bytes": own / n}))
    finally:
        tracemalloc.stop()
    return figures


def churn(n: int, names_used: int = 10) -> Figure:
    """``n`` executors created, collected and dropped under names that already exist:
    memory comes back."""
    plugin = Plugin([])
    tracemalloc.start()
    try:
        def create_and_drop() -> None:
            batch: list[Executor] = []
            for i in range(n):
                executor = Executor()
                plugin.runtime.registry.add(executor, _pipeline(i, names_used))
                batch.append(executor)
                if len(batch) == 1000:
                    plugin.collect()
                    batch.clear()  # the weak references let them go
            batch.clear()
            gc.collect()
            plugin.collect()
            plugin.collect()

        _establish_names(plugin, names_used)
        total, own = _traced(create_and_drop)
    finally:
        tracemalloc.stop()
        plugin.close()
    return Figure(
        "memory.churn", f"{n:,} executors created and dropped: memory growth",
        total / KIB, "KiB", goal="<= 1 MiB", met=total <= CHURN_GOAL,
        detail={"executors": n, "names": names_used, "plugin_code_bytes": own})
