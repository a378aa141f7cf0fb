"""One collection of the plugin and of the SDK floor, counted in instructions (callgrind):
where the plugin's cost per collection goes, which a shared machine's timing cannot
resolve to a percent (``collection.n*`` rounds spread by +-0.3 around their median).

``python -m bench.collection_instructions [N] [FEW] [MANY]``: for the plugin (with its
views), the SDK floor for the same observations (``bench.collection``), and three parts
of the plugin's work on a steady plugin (the snapshot: read, normalise, combine; the
threshold evaluation of that snapshot; every observer on it), one process each under
``valgrind --tool=callgrind`` with FEW and with MANY repetitions after three warm-up
collections (two processes at a time; ~6 minutes at N=10). Per repetition = (MANY's
count - FEW's) / (MANY - FEW): start-up and set-up cancel. ``PYTHONHASHSEED=0`` keeps
dict layouts the same from process to process. Prints, writes nothing.

``python -m bench.collection_instructions --subject SUBJECT N REPETITIONS``: one such
process (what valgrind runs).
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bench.flujo_instructions import ROOT, _by_file

if TYPE_CHECKING:
    from bench.subjects import Executor

SUBJECTS = ("plugin", "floor", "snapshot", "thresholds", "observers")


def _repetition(subject: str, executors: list[tuple[Executor, str]]) -> Callable[[], object]:
    """What ``subject`` repeats; the caller keeps ``executors`` alive (the registry holds
    them weakly)."""
    from opentelemetry.instrumentation.flujo._internal.alerts.dispatch import ALERT_LOGGER

    from bench.collection import _floor
    from bench.subjects import Plugin

    ALERT_LOGGER.disabled = True  # the bench executors breach thresholds on purpose
    if subject == "floor":
        floor = _floor(executors)[0]
        for _ in range(3):
            floor.collect()
        return floor.collect
    plugin = Plugin(executors)
    for _ in range(3):  # steady state: a rate threshold has a value from the second on
        plugin.collect()
    if subject == "plugin":
        return plugin.collect
    runtime, snapshot = plugin.runtime, plugin.binding.snapshot
    if subject == "snapshot":
        return runtime.taker.take
    if subject == "thresholds":
        return lambda: runtime.thresholds.evaluate(snapshot)
    observers = list(plugin.binding._observers.values())
    return lambda: [observe(snapshot) for observe in observers]


def subject(name: str, n: int, repetitions: int) -> None:
    from bench.subjects import named_executors

    executors = named_executors(n)
    repeat = _repetition(name, executors)
    gc.collect()
    gc.disable()  # as the bench's timed samples
    for _ in range(repetitions):
        repeat()


def main(n: int, few: int, many: int) -> None:
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    with tempfile.TemporaryDirectory() as out_dir:
        jobs = [(name, runs) for name in SUBJECTS for runs in (few, many)]
        outs = {job: Path(out_dir) / f"callgrind.{job[0]}.{job[1]}" for job in jobs}
        for pair in zip(jobs[::2], jobs[1::2], strict=True):
            started = [subprocess.Popen(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={outs[job]}",
                 sys.executable, "-m", "bench.collection_instructions", "--subject",
                 job[0], str(n), str(job[1])],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for job in pair]
            for process in started:
                if process.wait(timeout=3600) != 0:
                    raise RuntimeError(f"{process.args} failed")
        totals = {job: _by_file(out)["total"] for job, out in outs.items()}
    per = {name: (totals[name, many] - totals[name, few]) / (many - few) for name in SUBJECTS}
    plugin, floor = per["plugin"], per["floor"]
    print(f"N={n}, instructions per collection: plugin {plugin:,.0f}, SDK floor {floor:,.0f}; "
          f"ratio {plugin / floor:.3f}, the plugin's own {plugin - floor:,.0f} "
          f"({(plugin - floor) / n:,.0f} per executor name)")
    for name in SUBJECTS[2:]:
        print(f"  {name:12} {per[name]:>12,.0f}  ({per[name] / (plugin - floor):.0%} of the "
              "plugin's own)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--subject"]:
        subject(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        args = [int(arg) for arg in sys.argv[1:4]]
        main(*(args + [10, 2, 12][len(args):]))
