"""What the plugin costs a real flujo run, measured the way a user measures it.

The subject is ``bench/flujo_app.py``: real flujo, a three-step pure pipeline whose steps
report cost and tokens, run in a loop (~9 ms of CPU a run on a quiet machine here,
13-16 ms under load).

- **Process A/B** (``flujo.e2e``): the app as its own process under
  ``opentelemetry-instrument`` with the plugin on, against the *same* environment with
  ``OTEL_PYTHON_FLUJO_ENABLED=false`` (flujo walks the whole process environment several
  times per run, so a variable set for one subject and not the other would be measured
  as the plugin's), and plain ``python`` for reference. Each round starts the three
  together, so they share the machine's state of the moment (on a shared 2-core VM a
  process's CPU time per run moves by +-15 % from one minute to the next); a round's
  ratio is on / off from the same round, the figure the median of the rounds' ratios,
  with their spread. Timed: the process CPU time of the timed runs only (start-up and
  the first runs excluded).
- **In-process alternation** (``flujo.e2e_inprocess``): short blocks of runs (10,
  ~0.1 s) with ``FlujoInstrumentor().instrument()`` and ``uninstrument()`` in turn, in
  one process (switching, and the first run after it, outside the timed blocks: a fresh
  runtime's first execution attaches the executor, once per application); each pair of
  neighbouring blocks gives a ratio and a difference per run. Same environment by
  construction, so this isolates the hooks' cost from the distro's. Run in several
  processes one after the other (``python -m bench.flujo_e2e --alternate BLOCKS RUNS``
  each): a process's memory layout (its hash seed, where the plugin's code and data
  land against flujo's) shifts all its blocks alike, so one process's interval says
  less than it seems to.

Both report the rounds' range and the 95 % bootstrap interval of their median
(``ci95``): how finely this machine's noise lets them resolve the cost; the
alternation's interval resamples its processes, then the pairs within each.
``python -m bench.flujo_e2e`` runs either one alone, for longer (``USAGE``).
"""

from __future__ import annotations

import gc
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.flujo_app import READY  # the app imports flujo only when it runs

ROOT = Path(__file__).resolve().parent.parent
APP = "bench.flujo_app"


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


def with_interval(*groups: list[float], resamples: int = 2000) -> dict[str, Any]:
    """``spread`` of all the values and the 95 % bootstrap interval of their median
    (``ci95``): how finely this machine's noise lets the rounds resolve the figure, which
    the range does not say. Values measured in several processes come as one group
    each: the interval then resamples the groups, and the values within each, since
    whatever shifts a whole process (its memory layout) is noise the figure must carry."""
    rng = random.Random(0)  # the same rounds give the same interval
    medians = sorted(
        statistics.median([value for group in rng.choices(groups, k=len(groups))
                           for value in rng.choices(group, k=len(group))])
        for _ in range(resamples))
    return {**spread([value for group in groups for value in group]),
            "ci95": [medians[resamples * 25 // 1000], medians[resamples * 975 // 1000 - 1]]}


def app_environ(**otel: str) -> dict[str, str]:
    """An app process's environment: this one without its ``OTEL_`` variables, with
    ``otel`` instead, and bench (for the app module) beside whatever PYTHONPATH already
    holds (src)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(otel)
    return env


def subject_environ(enabled: bool | None) -> dict[str, str]:
    """The app's environment: plain (``None``), or opentelemetry-instrument's with the
    plugin on or off; on and off differ only in the value of one variable."""
    if enabled is None:
        return app_environ()
    return app_environ(OTEL_METRICS_EXPORTER="console", OTEL_TRACES_EXPORTER="none",
                       OTEL_LOGS_EXPORTER="none", OTEL_SERVICE_NAME="bench-flujo",
                       # no export inside the timed runs: the collection is measured apart
                       OTEL_METRIC_EXPORT_INTERVAL="600000",
                       OTEL_PYTHON_FLUJO_ENABLED="true" if enabled else "false")


def app_command(args: list[str], instrumented: bool) -> list[str]:
    """The app's command line, under ``opentelemetry-instrument`` or not (the script run
    by this interpreter, as its shebang would, so that valgrind follows one program)."""
    command = [sys.executable, "-m", APP, *args]
    if instrumented:
        return [sys.executable, str(Path(sys.executable).parent / "opentelemetry-instrument"),
                *command]
    return command


def start_app(args: list[str], env: dict[str, str], instrumented: bool,
              cwd: Path) -> subprocess.Popen[str]:
    """One app process, started (``--together`` in ``args``: see :func:`release`)."""
    return subprocess.Popen(app_command(args, instrumented), cwd=cwd, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def release(processes: list[subprocess.Popen[str]]) -> None:
    """Start the timed runs of apps started with ``--together`` at one moment, once each
    has warmed up: otherwise the one with the longest start-up (the plugin's imports)
    would time its runs while the others are winding down."""
    for process in processes:
        assert process.stdout is not None
        # It prints nothing else before (flujo logs to stderr); '' is an app that died.
        while (line := process.stdout.readline()) and line.strip() != READY:
            pass
        if not line:
            raise RuntimeError(f"{APP} ended before its timed runs: {process.args}")
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()


def app_result(process: subprocess.Popen[str], timeout: float = 600) -> dict[str, Any]:
    """A started app's ``FLUJO-APP`` line, once it has ended."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    if process.returncode != 0:
        raise RuntimeError(f"{APP} failed: {err[-2000:]}")
    line = next(x for x in out.splitlines() if x.startswith("FLUJO-APP "))
    return json.loads(line.removeprefix("FLUJO-APP "))  # type: ignore[no-any-return]


def process_ab(rounds: int, runs: int) -> dict[str, Any]:
    """Each round starts the three subjects together, so that they run under the same
    load of the moment; each one times its own CPU."""
    subjects = {"on": True, "off": False, "plain": None}
    us: dict[str, list[float]] = {name: [] for name in subjects}
    with tempfile.TemporaryDirectory() as cwd:  # flujo writes flujo.lock into the cwd
        for _ in range(rounds):
            started = {name: start_app([str(runs), "1", "10", "--together"],
                                       subject_environ(enabled), enabled is not None,
                                       Path(cwd))
                       for name, enabled in subjects.items()}
            release(list(started.values()))
            for name, process in started.items():
                us[name].append(app_result(process)["cpu_us_per_run"])
    ratios = [on / off for on, off in zip(us["on"], us["off"], strict=True)]
    added = [on - off for on, off in zip(us["on"], us["off"], strict=True)]
    env_ratios = [off / plain for off, plain in zip(us["off"], us["plain"], strict=True)]
    return {"runs_per_process": runs, "rounds": rounds,
            "ratio_on_off": with_interval(ratios), "added_us_per_run": with_interval(added),
            "ratio_off_plain": spread(env_ratios),
            "cpu_us_per_run": {name: spread(values) for name, values in us.items()},
            "rounds_us": us}


ALTERNATION = "FLUJO-ALTERNATION "


def inprocess(processes: int, blocks: int, runs: int) -> dict[str, Any]:
    """``processes`` processes, one after the other, each alternating ``blocks`` pairs of
    blocks of ``runs`` runs, instrumented and not (:func:`alternate`)."""
    ratios: list[list[float]] = []
    added: list[list[float]] = []
    us: dict[str, list[float]] = {"on": [], "off": []}
    with tempfile.TemporaryDirectory() as cwd:  # flujo writes flujo.lock into the cwd
        for _ in range(processes):
            done = subprocess.run(
                [sys.executable, "-m", "bench.flujo_e2e", "--alternate", str(blocks),
                 str(runs)], cwd=cwd, env=app_environ(), capture_output=True, text=True,
                timeout=3600, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"the alternation failed: {done.stderr[-2000:]}")
            line = next(x for x in done.stdout.splitlines() if x.startswith(ALTERNATION))
            samples = json.loads(line.removeprefix(ALTERNATION))
            pairs = list(zip(samples["on"], samples["off"], strict=True))
            ratios.append([on / off for on, off in pairs])
            added.append([(on - off) * 1e6 for on, off in pairs])
            for state, values in us.items():
                values.extend(v * 1e6 for v in samples[state])
    return {"runs_per_block": runs, "block_pairs": processes * blocks,
            "processes": processes,
            "ratio_on_off": with_interval(*ratios), "added_us_per_run": with_interval(*added),
            "process_medians": [statistics.median(r) for r in ratios],
            "cpu_us_per_run": {state: spread(values) for state, values in us.items()}}


def alternate(blocks: int, runs: int) -> dict[str, list[float]]:
    """CPU seconds per run of ``blocks`` pairs of blocks, instrumented and not, in this
    process (whose environment has no ``OTEL_`` variable: the bench's own)."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from opentelemetry.instrumentation.flujo import FlujoInstrumentor
    from opentelemetry.instrumentation.flujo._internal.otel.views import flujo_views

    from bench.flujo_app import pipelines

    runner = pipelines(1)[0]
    provider = MeterProvider(metric_readers=[InMemoryMetricReader()], views=flujo_views())
    instrumentor = FlujoInstrumentor()

    def block() -> float:
        gc.collect()  # each block pays for its own garbage, with the collector on as usual
        cpu = time.process_time()
        for _ in range(runs):
            runner.run(next(inputs))
        return (time.process_time() - cpu) / runs

    samples: dict[str, list[float]] = {"on": [], "off": []}
    inputs = iter(range(10**9))  # never a step cache hit (see flujo_app)
    for _ in range(3):  # warm-up both ways: imports, the name's first series
        runner.run(next(inputs))
    instrumentor.instrument(meter_provider=provider)
    for _ in range(3):
        runner.run(next(inputs))
    instrumentor.uninstrument()
    try:
        for b in range(blocks):
            for state in (("on", "off") if b % 2 == 0 else ("off", "on")):
                if state == "on":
                    instrumentor.instrument(meter_provider=provider)
                # Untimed, like the switch: after instrument() the first execution
                # attaches the executor to the fresh runtime (its name's source, series
                # and attribute sets), which an application pays once, not every 10 runs.
                runner.run(next(inputs))
                samples[state].append(block())
                if state == "on":
                    instrumentor.uninstrument()
    finally:
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
        provider.shutdown()
    return samples


def measure(quick: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """(process A/B, in-process alternation): the headline figures' details."""
    return (process_ab(rounds=3 if quick else 40, runs=100 if quick else 200),
            inprocess(processes=2 if quick else 6, blocks=10 if quick else 100, runs=10))


USAGE = """python -m bench.flujo_e2e --inprocess PROCESSES [BLOCKS]
    the in-process alternation alone, in PROCESSES processes of BLOCKS pairs (default
    100) of 10-run blocks: more processes than make bench-flujo's 6 narrow its interval
python -m bench.flujo_e2e --process-ab ROUNDS
    the process A/B alone, ROUNDS rounds of 200 runs per subject
python -m bench.flujo_e2e --alternate BLOCKS RUNS
    one process of the alternation (what --inprocess and make bench-flujo start)"""


def main(argv: list[str]) -> int:
    if argv[:1] == ["--alternate"] and len(argv) == 3:
        print(ALTERNATION + json.dumps(alternate(int(argv[1]), int(argv[2]))), flush=True)
    elif argv[:1] == ["--inprocess"] and len(argv) in (2, 3):
        found = inprocess(int(argv[1]), int(argv[2]) if len(argv) == 3 else 100, runs=10)
        print(json.dumps({key: found[key] for key in (
            "ratio_on_off", "added_us_per_run", "process_medians", "block_pairs")}, indent=1))
    elif argv[:1] == ["--process-ab"] and len(argv) == 2:
        found = process_ab(int(argv[1]), runs=200)
        print(json.dumps({key: found[key] for key in (
            "ratio_on_off", "added_us_per_run", "ratio_off_plain", "rounds")}, indent=1))
    else:
        print(USAGE, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
