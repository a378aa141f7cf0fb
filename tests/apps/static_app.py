"""A subprocess app: one executor reporting the full schema (a flujo pipeline's spend too),
instrumented per argv[1].

  auto    -> import opentelemetry.instrumentation.flujo.auto (provider from the environment)
  plain   -> nothing: run under `opentelemetry-instrument`, which loads the entry point
"""

import sys

sys.path.insert(0, __file__.rsplit("/", 2)[0])

if sys.argv[1] == "auto":
    import opentelemetry.instrumentation.flujo.auto  # noqa: F401

from opentelemetry.instrumentation.flujo import instrument_executor

from conftest import StaticExecutor, full_stats, with_runs

executor = StaticExecutor(with_runs(full_stats()))
assert instrument_executor(executor, "app")
# and exits at once: the provider's shutdown at exit exports the one collection
