"""Two versions of the plugin on the same real flujo run, measured as a user would:
did a change make the plugin cheaper?

``python -m bench.flujo_versions BASE_SRC NEW_SRC [ROUNDS] [RUNS]`` (in ``.venv-flujo``):
the end-to-end bench's process A/B (``bench/flujo_e2e.py``) with three subjects per round,
started together: the app under ``opentelemetry-instrument`` with the plugin imported
from BASE_SRC (e.g. a ``git worktree`` of main's ``src``), the same from NEW_SRC, and
NEW_SRC's with ``OTEL_PYTHON_FLUJO_ENABLED=false``; ROUNDS rounds (default 30) of RUNS
timed runs each (default 200), ~5 minutes. Prints each version's ratio to the plugin off
and the new one's to the base (the medians of the rounds' ratios, with the 95 %
bootstrap interval of each median). Prints, writes nothing.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

from bench.flujo_e2e import app_result, release, start_app, subject_environ, with_interval


def _environ(src: str, enabled: bool) -> dict[str, str]:
    """The app's environment with the plugin imported from ``src``."""
    env = subject_environ(enabled)
    paths = [p for p in env["PYTHONPATH"].split(os.pathsep)
             if not Path(p, "opentelemetry", "instrumentation", "flujo").is_dir()]
    env["PYTHONPATH"] = os.pathsep.join([*paths, src])
    return env


def main(base: str, new: str, rounds: int, runs: int) -> None:
    subjects = {"base": _environ(base, True), "new": _environ(new, True),
                "off": _environ(new, False)}
    us: dict[str, list[float]] = {name: [] for name in subjects}
    with tempfile.TemporaryDirectory() as cwd:  # flujo writes flujo.lock into the cwd
        for _ in range(rounds):
            started = {name: start_app([str(runs), "1", "10", "--together"], env, True,
                                       Path(cwd)) for name, env in subjects.items()}
            release(list(started.values()))
            for name, process in started.items():
                us[name].append(app_result(process)["cpu_us_per_run"])
    print(f"CPU per run, median of {rounds} rounds of {runs} runs: "
          + ", ".join(f"{name} {statistics.median(v):,.0f} us" for name, v in us.items()))
    for a, b in (("base", "off"), ("new", "off"), ("new", "base")):
        ratio = with_interval([x / y for x, y in zip(us[a], us[b], strict=True)])
        low, high = ratio["ci95"]
        print(f"{a} / {b}: {ratio['median']:.4f} (95 % interval {low:.4f}-{high:.4f})")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    numbers = [int(a) for a in sys.argv[3:5]]
    main(sys.argv[1], sys.argv[2], *(numbers + [30, 200][len(numbers):]))
