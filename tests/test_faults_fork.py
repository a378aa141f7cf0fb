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
                       OTEL_PYTHON_FLUJO_STATS_TIMEOUT="200")
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


# A provider the application built itself (as opentelemetry-instrument does) exports
# over OTLP; another thread is in the middle of a collection (a stats source slower
# than the collection's wait) or of an export (a collector slow to answer) at the
# moment of fork(). Without the plugin's fork guard the child inherits that lock held
# and its first flush blocks forever (the alarm turns that into exit status 3). The
# child then exits the normal way, through the provider's shutdown at exit.
USER_PROVIDER_APP = """
import os, signal, sys, threading, time
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.instrumentation.flujo import instrument_executor

in_flight = threading.Event()  # the flush is collecting (slow source) or exporting

class Executor:
    def __init__(self, total, first_read_s=0.0):
        self.total, self.first_read_s = total, first_read_s

    def get_optimization_stats(self):
        delay, self.first_read_s = self.first_read_s, 0.0  # a child's copy reads fast
        if delay:
            in_flight.set()  # inside the collection, which holds the SDK's collect lock
        time.sleep(delay)
        return {"execution": {"total_executions": self.total,
                              "successful_executions": self.total, "failed_executions": 0}}

class Exporter(OTLPMetricExporter):
    def export(self, *args, **kwargs):
        if sys.argv[1] == "export":
            in_flight.set()  # under the reader's export lock; the collector answers late
        return super().export(*args, **kwargs)

reader = PeriodicExportingMetricReader(Exporter(), export_interval_millis=3_600_000)
provider = MeterProvider(metric_readers=[reader])
parent = Executor(5, first_read_s=3.0 if sys.argv[1] == "collection" else 0.0)
instrument_executor(parent, "parent", meter_provider=provider)
threading.Thread(target=provider.force_flush).start()
if not in_flight.wait(30):
    sys.exit("the flush never got there")
pid = os.fork()
if pid == 0:
    signal.signal(signal.SIGALRM, lambda *_: os._exit(3))
    signal.alarm(20)
    child = Executor(7)
    instrument_executor(child, "child")
    provider.force_flush()
    sys.exit(0)
_, status = os.waitpid(pid, 0)
print("child", os.waitstatus_to_exitcode(status), flush=True)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() is POSIX only")
@pytest.mark.parametrize("during", ["collection", "export"])
def test_a_child_forked_during_a_collection_or_export_keeps_exporting_and_exits(
        during: str) -> None:
    import subprocess
    import sys

    from faults import app_env

    # the slow source outlasts the collection's 2 s wait; the slow collector answers
    # each export after 2 s
    with HttpReceiver(delay_s=2.0 if during == "export" else 0.0) as receiver:
        env = otlp_env(receiver.endpoint, "http/protobuf", OTEL_EXPORTER_OTLP_TIMEOUT="10",
                       OTEL_PYTHON_FLUJO_STATS_TIMEOUT="2000")
        result = subprocess.run([sys.executable, "-c", USER_PROVIDER_APP, during],
                                env=app_env(env), capture_output=True, text=True,
                                timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        assert "child 0" in result.stdout, result.stdout + result.stderr
        points = receiver.wait_for(lambda points: _values(points, "child") == {7.0})
    assert "Traceback" not in result.stderr
    # the child's export carried the parent's executor too (its copy, read again)
    assert 5.0 in _values(points, "parent")
