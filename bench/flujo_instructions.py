"""What the plugin adds to a real flujo run, counted in instructions (callgrind): the
breakdown behind the end-to-end figures (``bench/flujo_e2e.py``), which a shared
machine's noise cannot resolve below a few hundred microseconds.

``python -m bench.flujo_instructions [FEW] [MANY]``: four processes under
``valgrind --tool=callgrind`` (two at a time, ~5-8 minutes), each the app's pipeline
(``bench/flujo_app.py``) in one process, instrumented once and then either left
instrumented (on) or uninstrumented (off), so that both have imported and set up the
same; then FEW or MANY timed runs. Per run = (MANY's count - FEW's) / (MANY - FEW),
start-up cancelled. Prints the instructions per run on and off, their difference, and
the part of it in CPython's object allocator (``obmalloc.c``) and in its evaluation
loop, from ``callgrind_annotate``. Instruction counts do not move with the machine's
load; ``PYTHONHASHSEED=0`` keeps the dicts' layouts the same from process to process.

``python -m bench.flujo_instructions --subject on|off RUNS``: one such process (what
valgrind runs).
"""

from __future__ import annotations

import collections
import gc
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_COUNT = re.compile(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S+)")


def subject(state: str, runs: int) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from opentelemetry.instrumentation.flujo import FlujoInstrumentor
    from opentelemetry.instrumentation.flujo._internal.otel.views import flujo_views

    from bench.flujo_app import pipelines

    runner = pipelines(1)[0]
    provider = MeterProvider(metric_readers=[InMemoryMetricReader()], views=flujo_views())
    instrumentor = FlujoInstrumentor()
    inputs = iter(range(10**9))  # never a step cache hit (see flujo_app)
    for _ in range(3):
        runner.run(next(inputs))
    instrumentor.instrument(meter_provider=provider)
    for _ in range(3):  # the name's first series, in both subjects
        runner.run(next(inputs))
    if state == "off":
        instrumentor.uninstrument()
    gc.collect()
    for _ in range(runs):
        runner.run(next(inputs))


def _by_file(out: Path) -> collections.Counter[str]:
    """Instructions per source file of the interpreter and libraries (self cost)."""
    text = subprocess.run(["callgrind_annotate", "--threshold=100", str(out)],
                          capture_output=True, text=True, check=True, timeout=600).stdout
    counts: collections.Counter[str] = collections.Counter()
    for line in text.splitlines():
        match = _COUNT.match(line)
        if match:
            name = match.group(2)
            key = "total" if line.rstrip().endswith("PROGRAM TOTALS") else \
                name.rpartition(":")[0].rsplit("/", 1)[-1]
            counts[key] += int(match.group(1).replace(",", ""))
    return counts


def main(few: int, many: int) -> None:
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    with tempfile.TemporaryDirectory() as cwd:  # flujo writes flujo.lock into the cwd
        jobs = [(state, runs) for state in ("on", "off") for runs in (few, many)]
        outs = {job: Path(cwd) / f"callgrind.{job[0]}.{job[1]}" for job in jobs}
        for pair in (jobs[:2], jobs[2:]):
            started = [subprocess.Popen(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={outs[job]}",
                 sys.executable, "-m", "bench.flujo_instructions", "--subject", *map(str, job)],
                cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for job in pair]
            for process in started:
                if process.wait(timeout=3600) != 0:
                    raise RuntimeError(f"{process.args} failed")
        counts = {job: _by_file(out) for job, out in outs.items()}
    per_run = {state: {key: (counts[state, many][key] - counts[state, few][key]) / (many - few)
                       for key in counts[state, many]} for state in ("on", "off")}
    on, off = per_run["on"], per_run["off"]
    added = on["total"] - off["total"]
    print(f"instructions per run: off {off['total']:,.0f}, on {on['total']:,.0f}; "
          f"added {added:,.0f} ({added / off['total']:.2%})")
    files = sorted((k for k in on if k != "total"), key=lambda k: -abs(on[k] - off.get(k, 0)))
    for key in files[:8]:
        print(f"  {key:32} {on[key] - off.get(key, 0):>+12,.0f}  (off {off.get(key, 0):,.0f})")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--subject"]:
        subject(sys.argv[2], int(sys.argv[3]))
    else:
        main(*(map(int, sys.argv[1:3]) if len(sys.argv) > 2 else (2, 12)))
