"""Healthy flujo pipelines, run for a while: run by test_flujo_no_false_alarms.py under
``opentelemetry-instrument`` with no OpenTelemetry code. Plain, parallel and looping
pipelines get a new input every run (so flujo's step cache never hits them); the cached
one serves a few inputs over and over, as a cache is meant to. Prints how many runs of
each it made, as JSON."""

from __future__ import annotations

import json
import sys
import time

import flujo_pipelines as p

from flujo import Step


def main() -> None:
    seconds = float(sys.argv[1])
    parallel, _ = p.parallel()
    body = p.step(p.inc, "body1") >> p.step(p.inc, "body2")
    looping = p.step(p.inc, "pre") >> Step.loop_until(
        "loop", body, exit_condition_callable=lambda out, _ctx: out % 10 >= 7, max_loops=10)
    cached = p.step(p.inc, "prepare") >> Step.cached(p.step(p.inc, "expensive"))
    # Long-lived runners, as in a service.
    runners = {name: p.runner(pipeline, name) for name, pipeline in (
        ("plain", p.happy()), ("parallel", parallel), ("loop", looping), ("cached", cached))}
    runs = dict.fromkeys(runners, 0)
    until = time.monotonic() + seconds
    fresh = 0
    while time.monotonic() < until:
        for name, runner in runners.items():
            fresh += 1
            result = runner.run(fresh % 3 if name == "cached" else 1000 * fresh)
            assert result.success, (name, result)
            runs[name] += 1
        time.sleep(0.02)  # a steady trickle of traffic, not a busy loop: no synchronisation
    print("RUNS " + json.dumps(runs), flush=True)


if __name__ == "__main__":
    main()
