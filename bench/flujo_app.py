"""A flujo application with no OpenTelemetry code, run as a process by the end-to-end
bench (``bench/flujo_e2e.py``) and the fleet (``bench/fleet.py``), under
``opentelemetry-instrument`` or not.

``python -m bench.flujo_app RUNS [PIPELINES] [WARMUP] [--together]``: ``PIPELINES``
runners (named ``pipeline-0`` ...), each a three-step pure pipeline whose steps return an
object that reports ``cost_usd`` and ``token_counts`` (flujo adds them to the run's
totals), run ``RUNS`` times in turn (runs go round the pipelines), after ``WARMUP``
untimed runs of each. ``--together``: after the warm-up, print ``FLUJO-APP-READY`` and
wait for a line on stdin before the timed runs, so that a bench can start several
processes' timed runs at one moment whatever their start-up took. Prints one
``FLUJO-APP {json}`` line: the process CPU seconds of the timed runs
and what flujo's own results say they spent (the fleet test compares the exported
totals with it).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

STEPS = 3
READY = "FLUJO-APP-READY"
COST_USD = 0.0125
TOKENS = 321


class Output:
    """A step's output that reports its cost and tokens, as an LLM step's would."""

    __slots__ = ("cost_usd", "token_counts", "value")

    def __init__(self, value: int) -> None:
        self.value, self.cost_usd, self.token_counts = value, COST_USD, TOKENS


async def step(data: Any) -> Output:
    return Output((data.value if isinstance(data, Output) else int(data)) + 1)


def pipelines(count: int) -> list[Any]:
    from flujo import Flujo, Step

    logging.getLogger("flujo").setLevel(logging.WARNING)  # its INFO lines would dominate
    runners = []
    for i in range(count):
        pipeline = Step.from_callable(step, name="s0")
        for s in range(1, STEPS):
            pipeline = pipeline >> Step.from_callable(step, name=f"s{s}")
        runners.append(Flujo(pipeline, pipeline_name=f"pipeline-{i}", persist_state=False))
    return runners


def main(argv: list[str]) -> int:
    together = "--together" in argv
    argv = [a for a in argv if a != "--together"]
    runs = int(argv[0])
    count = int(argv[1]) if len(argv) > 1 else 1
    warmup = int(argv[2]) if len(argv) > 2 else 5
    runners = pipelines(count)
    # Every run its own input: flujo's step cache (on by default) would serve a repeated
    # one without running the step (and without its spend).
    inputs = iter(range(10**9))
    # first runs: imports, a name's first series
    warm = [runner.run(next(inputs)) for runner in runners for _ in range(warmup)]
    said = {"runs": 0, "cost_usd": 0.0, "tokens": 0, "steps": 0, "success": 0}
    if together:
        print(READY, flush=True)
        sys.stdin.readline()
    cpu = time.process_time()
    results = [runners[i % count].run(next(inputs)) for i in range(runs)]
    cpu = time.process_time() - cpu
    for result in warm + results:  # counted after the timed part
        said["runs"] += 1
        said["cost_usd"] += result.total_cost_usd
        said["tokens"] += result.total_tokens
        said["steps"] += len(result.step_history)
        said["success"] += result.success is True
    print("FLUJO-APP " + json.dumps({
        "cpu_s": cpu, "cpu_us_per_run": cpu / runs * 1e6 if runs else 0.0,
        "timed_runs": runs, "warmup_runs": len(warm), "pipelines": count,
        "said": said,  # every run's, warm-up included: what the exports must total
    }), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
