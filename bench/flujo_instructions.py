"""What the plugin adds to a real flujo run, counted in instructions (callgrind): the
breakdown behind the end-to-end figures (``bench/flujo_e2e.py``), which a shared
machine's noise cannot resolve below a few hundred microseconds.

``python -m bench.flujo_instructions [FEW] [MANY]``: the end-to-end bench's process A/B
under ``valgrind --tool=callgrind --trace-children=yes``: the app (``bench/flujo_app.py``)
under ``opentelemetry-instrument`` with the plugin on, and the same environment with
``OTEL_PYTHON_FLUJO_ENABLED=false``, each with FEW and with MANY timed runs after its 10
warm-up runs (four processes, two at a time, ~6-10 minutes). Per run = (MANY's count -
FEW's) / (MANY - FEW): start-up, warm-up and the exit's export cancel. Prints the
instructions per run on and off, their difference, and the files of the interpreter and
libraries it is spent in (``callgrind_annotate``). Instruction counts do not move with
the machine's load; ``PYTHONHASHSEED=0`` keeps the dicts' layouts the same from process
to process.

``python -m bench.flujo_instructions --cache [FEW] [MANY]``: the same under cachegrind's
cache and branch simulation, per run on and off: instructions and data reads and
writes, their first-level (I1, D1) and last-level (IL, DL) misses, and conditional and
indirect branches (Bc, Bi) with their mispredictions (Bcm, Bim).
"""

from __future__ import annotations

import collections
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.flujo_e2e import app_command, subject_environ

_COUNT = re.compile(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S+)")


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


def _cache_events(out: Path) -> collections.Counter[str]:
    """cachegrind's totals by event (Ir, I1mr, ILmr, Dr, D1mr, DLmr, Dw, D1mw, DLmw, Bc,
    Bcm, Bi, Bim)."""
    lines = out.read_text().splitlines()
    events = next(x for x in lines if x.startswith("events:")).split()[1:]
    summary = next(x for x in lines if x.startswith("summary:")).split()[1:]
    return collections.Counter(dict(zip(events, map(int, summary), strict=True)))


def _counted(few: int, many: int, cache: bool) -> dict[str, collections.Counter[str]]:
    """Per run, on and off: instructions by file (callgrind), or cachegrind's events."""
    tool = (["--tool=cachegrind", "--cache-sim=yes", "--branch-sim=yes",
             "--cachegrind-out-file={out}"] if cache
            else ["--tool=callgrind", "--callgrind-out-file={out}"])
    with tempfile.TemporaryDirectory() as cwd:  # flujo writes flujo.lock into the cwd
        jobs = [(state, runs) for state in ("on", "off") for runs in (few, many)]
        outs = {job: Path(cwd) / f"valgrind.{job[0]}.{job[1]}" for job in jobs}
        for pair in (jobs[:2], jobs[2:]):
            started = [subprocess.Popen(
                ["valgrind", "--trace-children=yes",
                 *(arg.format(out=outs[job]) for arg in tool),
                 *app_command([str(job[1]), "1", "10"], instrumented=True)],
                cwd=cwd, env={**subject_environ(job[0] == "on"), "PYTHONHASHSEED": "0"},
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for job in pair]
            for process in started:
                if process.wait(timeout=3600) != 0:
                    raise RuntimeError(f"{process.args} failed")
        counts = {job: (_cache_events if cache else _by_file)(out)
                  for job, out in outs.items()}
    return {state: collections.Counter(
        {key: (counts[state, many][key] - counts[state, few][key]) // (many - few)
         for key in counts[state, many]}) for state in ("on", "off")}


def main(few: int, many: int, cache: bool) -> None:
    on, off = _counted(few, many, cache).values()
    if cache:  # the misses behind the instructions: what costs time beyond their count
        for event in off:
            added = on[event] - off[event]
            share = f" ({added / off[event]:+.2%})" if off[event] else ""
            print(f"{event:5} per run: off {off[event]:>14,}, on {on[event]:>14,}; "
                  f"added {added:>+10,}{share}")
        return
    added = on["total"] - off["total"]
    print(f"instructions per run: off {off['total']:,.0f}, on {on['total']:,.0f}; "
          f"added {added:,.0f} ({added / off['total']:.2%})")
    files = sorted((k for k in on if k != "total"), key=lambda k: -abs(on[k] - off.get(k, 0)))
    for key in files[:8]:
        print(f"  {key:32} {on[key] - off.get(key, 0):>+12,.0f}  (off {off.get(key, 0):,.0f})")


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--cache"]
    main(*(map(int, arguments[:2]) if len(arguments) > 1 else (10, 40)),
         cache="--cache" in sys.argv[1:])
