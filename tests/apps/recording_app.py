"""A subprocess app for the recording exporters: argv = mode, executor name, seconds.

  auto   -> import opentelemetry.instrumentation.flujo.auto (provider from the environment)
  plain  -> nothing: run under `opentelemetry-instrument`

Prints "ready" once instrumented, then sleeps (a SIGTERM test kills it there).
"""

import sys
import time

sys.path.insert(0, __file__.rsplit("/", 2)[0])

if sys.argv[1] == "auto":
    import opentelemetry.instrumentation.flujo.auto  # noqa: F401

from opentelemetry.instrumentation.flujo import instrument_executor

from conftest import StaticExecutor, full_stats, with_runs

executor = StaticExecutor(with_runs(full_stats(memory__usage_mb=600.0)))
assert instrument_executor(executor, sys.argv[2])
print("ready", flush=True)
time.sleep(float(sys.argv[3]))
