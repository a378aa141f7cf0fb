"""Fault matrix 8: os.fork() (pre-fork servers).

The app forks right after a collection that left a slow source in flight on a
worker thread. The child must report its own executors, keep exporting, and read
that source again; the parent must carry on as before.
"""

from __future__ import annotations

import os

import pytest

from faults import EXECUTIONS, otlp_env, run_app

from receivers import HttpReceiver, Point


def _values(points: list[Point], name: str) -> set[float]:
    return {p.value for p in points if p.metric == EXECUTIONS
            and p.attributes.get("flujo.executor.name") == name
            and p.attributes.get("flujo.execution.outcome") == "success"}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() is POSIX only")
def test_fork_child_reports_its_own_executors_and_parent_is_unaffected() -> None:
    with HttpReceiver() as receiver:
        env = otlp_env(receiver.endpoint, "http/protobuf",
                       OTEL_PYTHON_FLUJO_STATS_TIMEOUT="200", FAULT_APP_SECONDS="2")
        result = run_app(env, "fork", timeout=60)
        assert result.returncode == 0, result.stderr
        fields = dict(part.split("=") for part in result.stdout.split() if "=" in part)
        assert fields["child_status"] == "0", result.stderr
        points = receiver.wait_for(
            lambda points: _values(points, f"child-{fields['child']}") == {7.0}
            and 8.0 in _values(points, "parent") and 2.0 in _values(points, "slow"))
    assert "Traceback" not in result.stderr
    # parent: 5 before the fork + 3 after; the child's copy: 5 + 1 of its own
    assert {6.0, 8.0} <= _values(points, "parent")
    # the source in flight at fork() was read again in the child (2), not stuck
    # as still_running forever, and in the parent once its worker returned (1)
    assert {1.0, 2.0} <= _values(points, "slow")


# A provider the application built itself (as opentelemetry-instrument does), an
# export in progress on another thread at the moment of fork(): the child must still
# export. Without the plugin's fork guard the child inherits the held export lock and
# its first export blocks forever (the alarm turns that into exit status 3).
USER_PROVIDER_APP = """
import os, signal, sys, threading, time
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.instrumentation.flujo import instrument_executor

class Executor:
    def get_optimization_stats(self):
        return {"cache": {"size": os.getpid() % 1000}}

reader = InMemoryMetricReader()
provider = MeterProvider(metric_readers=[reader])
executor = Executor()
instrument_executor(executor, "app", meter_provider=provider)
consumer_lock = provider._measurement_consumer._lock

def busy_collection():
    with consumer_lock:  # what a collection in progress holds
        time.sleep(0.5)

threading.Thread(target=busy_collection).start()
time.sleep(0.1)
pid = os.fork()
if pid == 0:
    signal.signal(signal.SIGALRM, lambda *_: os._exit(3))
    signal.alarm(5)
    data = reader.get_metrics_data()
    names = {m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    os._exit(0 if "flujo.executor.cache.size" in names else 4)
_, status = os.waitpid(pid, 0)
print("child", os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() is POSIX only")
def test_fork_during_a_collection_of_a_provider_the_app_built() -> None:
    import subprocess
    import sys

    from faults import app_env

    result = subprocess.run([sys.executable, "-c", USER_PROVIDER_APP], env=app_env({}),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "child 0" in result.stdout, result.stdout + result.stderr


def test_the_fork_guard_holds_the_collect_lock_and_every_export_lock() -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        ConsoleMetricExporter,
        InMemoryMetricReader,
        PeriodicExportingMetricReader,
    )

    from opentelemetry.instrumentation.flujo._internal.otel.fork_guard import sdk_locks

    periodic = PeriodicExportingMetricReader(ConsoleMetricExporter(), 60_000)
    provider = MeterProvider(metric_readers=[InMemoryMetricReader(), periodic])
    try:
        locks = sdk_locks(provider)
        assert provider._measurement_consumer._lock in locks
        assert periodic._export_lock in locks
        assert len(locks) == 2  # the in-memory reader has no export lock
    finally:
        provider.shutdown()
