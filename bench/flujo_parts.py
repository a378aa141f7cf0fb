"""Which of the plugin's hooks a real flujo run's timed cost comes from, in one process.

``python -m bench.flujo_parts [BLOCKS] [RUNS]`` (in ``.venv-flujo``): the end-to-end
bench's in-process alternation (``bench/flujo_e2e.py``), with more states, each block of
RUNS runs (default 10) in a state chosen in a shuffled order per round of BLOCKS rounds
(default 300, ~12 minutes):

- ``off``: not instrumented;
- ``all``: ``FlujoInstrumentor().instrument()``;
- ``shape``: instrumented, then every wrapper replaced by a pass-through of the same
  shape (an ``async def`` awaiting the original, or a plain call): what wrapping alone
  costs, with none of the plugin's work;
- ``executions``: only ``ExecutorCore.execute``'s wrapper does its work (the others
  pass through);
- ``runs``: only the run and spend wrappers do theirs;
- ``no_run_layer``: everything, except that a run's generator is handed to flujo as it
  is, not through the layer that keeps the run current while it runs (so the run's
  spend and end are not measured either): what that layer and the run's end cost.

Prints each state's median ratio to ``off`` over the rounds, with the 95 % bootstrap
interval of that median, and the median difference in microseconds per run. Prints,
writes nothing: the breakdown behind the headline, which it does not replace.

``python -m bench.flujo_parts --in-run [RUNS]``: the plugin's own functions timed where
they run, inside RUNS real runs (default 300), instrumented: each one's calls per run and
median time per call. Inside flujo's run, with its caches and predictors warm with
flujo's code, they cost several times what the micro-benchmarks (a tight loop) say. A
function's time includes the functions it calls (and their timing, ~0.1 us each).
"""

from __future__ import annotations

import functools
import gc
import inspect
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.flujo_e2e import with_interval

# The wrappers (patch._PATCHED's attributes) that do their work in each state; the
# others pass through. ``__init__`` only names a runner's executor when it is built.
_WORKING: dict[str, set[str] | None] = {
    "all": None,
    "shape": set(),
    "executions": {"execute"},
    "runs": {"run_async", "resume_async", "extract_usage_metrics"},
    "no_run_layer": None,
}


def _pass_through(original: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(original):
        @functools.wraps(original)
        async def awaiting(*args: Any, **kwargs: Any) -> Any:
            return await original(*args, **kwargs)

        return awaiting

    @functools.wraps(original)
    def calling(*args: Any, **kwargs: Any) -> Any:
        return original(*args, **kwargs)

    return calling


def main(blocks: int, runs: int) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from opentelemetry.instrumentation.flujo import FlujoInstrumentor
    from opentelemetry.instrumentation.flujo._internal.flujo_hooks import patch
    from opentelemetry.instrumentation.flujo._internal.flujo_hooks import runs as run_hooks
    from opentelemetry.instrumentation.flujo._internal.otel.views import flujo_views

    from bench.flujo_app import pipelines

    runner = pipelines(1)[0]
    provider = MeterProvider(metric_readers=[InMemoryMetricReader()], views=flujo_views())
    instrumentor = FlujoInstrumentor()
    inputs = iter(range(10**9))  # never a step cache hit (see flujo_app)

    tracked = run_hooks._Tracked

    def untracked(_run: Any, inner: Any, _types: Any) -> Any:
        return inner

    def enter(state: str) -> None:
        run_hooks._Tracked = untracked if state == "no_run_layer" else tracked  # type: ignore[misc]
        if state == "off":
            return
        instrumentor.instrument(meter_provider=provider)
        working = _WORKING[state]
        if working is None:
            return
        for module_name, class_name, attribute in patch._PATCHED:
            module = sys.modules.get(module_name)
            owner = module if class_name is None else getattr(module, class_name, None)
            if attribute in working or owner is None or not patch.is_patched(owner, attribute):
                continue
            original = getattr(vars(owner)[attribute], patch._REPLACED)
            passing = _pass_through(original)
            setattr(passing, patch._REPLACED, original)  # what uninstrument() puts back
            setattr(owner, attribute, passing)

    states = ["off", *_WORKING]
    for state in states:  # warm-up in each: imports, the name's first series
        enter(state)
        for _ in range(3):
            runner.run(next(inputs))
        if state != "off":
            instrumentor.uninstrument()
    per_run: dict[str, list[float]] = {state: [] for state in states}
    order = random.Random(0)
    for _ in range(blocks):
        order.shuffle(states)
        for state in states:
            enter(state)
            runner.run(next(inputs))  # untimed: a fresh runtime attaches the executor
            gc.collect()  # each block pays for its own garbage
            cpu = time.process_time()
            for _ in range(runs):
                runner.run(next(inputs))
            per_run[state].append((time.process_time() - cpu) / runs * 1e6)
            if state != "off":
                instrumentor.uninstrument()
    provider.shutdown()
    off = per_run["off"]
    print(f"off: {statistics.median(off):,.0f} us per run ({blocks} blocks of {runs} runs)")
    for state in _WORKING:
        ratio = with_interval([on / base for on, base in zip(per_run[state], off, strict=True)])
        added = statistics.median(on - base for on, base in zip(per_run[state], off, strict=True))
        low, high = ratio["ci95"]
        print(f"{state:10} / off: {ratio['median']:.4f} (95 % interval {low:.4f}-{high:.4f}),"
              f" {added:+,.0f} us per run")


def in_run(count: int) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from opentelemetry.instrumentation.flujo import FlujoInstrumentor
    from opentelemetry.instrumentation.flujo._internal.flujo_hooks import measured, runs, spend
    from opentelemetry.instrumentation.flujo._internal.otel import pending, views

    from bench.flujo_app import pipelines

    timed = [(measured.Measured, "end"), (runs.Run, "produced"), (runs, "_begin"),
             (spend.Spend, "run_started"), (spend.Spend, "run_ended"),
             (pending.PendingHistogram, "record")]
    took: dict[str, list[int]] = {}
    clock = time.perf_counter_ns
    for owner, attribute in timed:
        original = getattr(owner, attribute)
        spent = took[f"{owner.__name__.rsplit('.', 1)[-1]}.{attribute}"] = []

        def timing(*args: Any, _o: Any = original, _s: list[int] = spent, **kwargs: Any) -> Any:
            started = clock()
            try:
                return _o(*args, **kwargs)
            finally:
                _s.append(clock() - started)

        setattr(owner, attribute, timing)
    runner = pipelines(1)[0]
    provider = MeterProvider(metric_readers=[InMemoryMetricReader()],
                             views=views.flujo_views())
    FlujoInstrumentor().instrument(meter_provider=provider)
    for i in range(3):  # warm-up
        runner.run(-1 - i)
    for spent in took.values():
        spent.clear()
    for i in range(count):
        runner.run(i)
    FlujoInstrumentor().uninstrument()
    provider.shutdown()
    for name, spent in took.items():
        if spent:
            print(f"{name:32} {len(spent) / count:4.1f} calls per run, "
                  f"{statistics.median(spent) / 1e3:6.2f} us per call (median)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--in-run"]:
        in_run(int(sys.argv[2]) if len(sys.argv) > 2 else 300)
    else:
        arguments = [int(a) for a in sys.argv[1:3]]
        main(*(arguments + [300, 10][len(arguments):]))
