"""The stats budget gives way to the reader's own collection timeout: a hanging source
never makes the SDK log ``Metric collection timed out`` (real periodic reader, real
interpreter, the SDK's own logging)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

APP = """
import io, logging, sys, threading
logging.basicConfig(level=logging.WARNING)
called = threading.Event()
release = threading.Event()  # set once the app is done: the source hangs until then
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
from opentelemetry.instrumentation.flujo import instrument_executor

class Hanging:
    def get_optimization_stats(self):
        called.set()
        release.wait(60)  # the hang: outlasts every budget and timeout here
        return {}

class Healthy:
    def get_optimization_stats(self):
        return {"execution": {"total_executions": 1, "successful_executions": 1}}

exported = io.StringIO()
provider = MeterProvider(metric_readers=[
    PeriodicExportingMetricReader(ConsoleMetricExporter(out=exported))])
hanging, healthy = Hanging(), Healthy()
instrument_executor(hanging, "hanging", meter_provider=provider)
instrument_executor(healthy, "healthy", meter_provider=provider)
if sys.argv[1] == "periodic" and not called.wait(60):  # the first periodic collection's read
    sys.exit("the periodic reader never read the source")
provider.shutdown()
print("exported healthy" if '"healthy"' in exported.getvalue() else "nothing exported")
release.set()
"""


@pytest.mark.parametrize(("interval_ms", "timeout_ms", "first_read"), [
    # At shutdown the SDK's last collection may take only the export interval (1 s, the
    # default stats budget): the source is first called there.
    (1000, None, "shutdown"),
    # A reader whose collection timeout is shorter than the stats budget: the source is
    # first called on the first periodic collection.
    (500, 600, "periodic"),
])
def test_a_hanging_source_never_times_out_the_sdk_collection(
        interval_ms: int, timeout_ms: int | None, first_read: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["OTEL_METRIC_EXPORT_INTERVAL"] = str(interval_ms)
    if timeout_ms is not None:
        env["OTEL_METRIC_EXPORT_TIMEOUT"] = str(timeout_ms)
    done = subprocess.run([sys.executable, "-c", APP, first_read], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "timed out" not in done.stderr.replace("(timeout)", ""), done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == "exported healthy\n"
    # The slow source is named instead, once.
    (warning,) = done.stderr.splitlines()
    assert warning.startswith("WARNING:opentelemetry.instrumentation.flujo")
    assert "no stats from executor 'hanging': get_optimization_stats() " in warning
