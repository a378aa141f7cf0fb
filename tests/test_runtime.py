"""One owner: the process's runtime owns its executors, thresholds, alert handlers and
threads; closing it (uninstrument) is terminal, and instrument() starts a fresh one that
serves the providers the old one served."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from faults import app_env
from opentelemetry.instrumentation.flujo import (
    AlertEvent,
    FlujoInstrumentor,
    add_alert_handler,
    instrument_executor,
    set_thresholds,
)
from opentelemetry.instrumentation.flujo._internal.catalog import (
    BY_NAME,
    EXECUTOR_NAME,
    THRESHOLD_STATES,
    status_gauge,
)
from opentelemetry.instrumentation.flujo._internal.config import load_config
from opentelemetry.instrumentation.flujo._internal.runtime import Runtime, get_runtime

from conftest import StaticExecutor, collect, fresh_runtime

MEMORY = "flujo.executor.memory.usage"


def _usage(mib: float) -> StaticExecutor:
    return StaticExecutor({"memory": {"usage_mb": mib}})


class Served:
    """A real SDK provider with an in-memory reader, served by ``runtime``."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.reader = InMemoryMetricReader()
        self.provider = MeterProvider(metric_readers=[self.reader])
        runtime.bind(self.provider)

    def names(self, points: dict[Any, Any]) -> set[str]:
        return {dict(attrs)[EXECUTOR_NAME] for (name, attrs), _ in points.items()
                if name == MEMORY}

    def state(self, points: dict[Any, Any], executor: str) -> str:
        (state,) = [THRESHOLD_STATES[int(value)] for (name, attrs), value in points.items()
                    if name == status_gauge(BY_NAME[MEMORY])
                    and dict(attrs)[EXECUTOR_NAME] == executor]
        return state


def test_a_closed_runtime_refuses_work_with_one_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    served = Served(get_runtime())
    FlujoInstrumentor().instrument(meter_provider=served.provider)
    FlujoInstrumentor().uninstrument()  # closes the process's runtime
    assert get_runtime().closed
    executor = _usage(900)
    with caplog.at_level(logging.WARNING):
        assert not instrument_executor(executor, "late")
        assert not instrument_executor(executor, "late")
        set_thresholds("memory.usage: warning>1MiB")
        add_alert_handler(print)
    refused = [r.getMessage() for r in caplog.records if "was closed" in r.getMessage()]
    assert len(refused) == 1 and "instrument_executor() is ignored" in refused[0]
    # nothing is read: no stats call, no collection error, nothing reported
    points = collect(served.reader)
    assert executor.calls == 0 and not points
    served.provider.shutdown()


def test_instrument_after_uninstrument_starts_a_fresh_runtime_on_the_same_provider(
        monkeypatch: pytest.MonkeyPatch) -> None:
    instrumentor = FlujoInstrumentor()
    served = Served(get_runtime())
    instrumentor.instrument(meter_provider=served.provider)
    old_events: list[AlertEvent] = []
    add_alert_handler(old_events.append)
    before = _usage(50)
    assert instrument_executor(before, "before")
    assert served.names(collect(served.reader)) == {"before"}
    old = get_runtime()
    instrumentor.uninstrument()
    monkeypatch.setenv("OTEL_PYTHON_FLUJO_THRESHOLDS", "memory.usage: warning>50MiB, critical>100MiB")
    instrumentor.instrument(meter_provider=served.provider)  # the environment read again
    new = get_runtime()
    assert old.closed and new is not old and new.bindings() and not new.closed
    after = _usage(300)
    assert instrument_executor(after, "after")  # into the new runtime, on the same provider
    points = collect(served.reader)
    assert served.names(points) == {"after"}
    assert served.state(points, "after") == "critical"
    assert new.alerts.flush()
    assert old_events == []  # the old runtime's handler went with it
    instrumentor.uninstrument()
    served.provider.shutdown()


def test_close_stops_the_runtimes_threads_and_its_instruments() -> None:
    before = set(threading.enumerate())
    runtime = Runtime(load_config({}))
    served = Served(runtime)
    release = threading.Event()
    runtime.alerts.add(lambda event: release.wait(5), name="slow")
    executor = _usage(900)
    runtime.registry.add(executor, "x")
    collect(served.reader)  # one transition: the handler's thread starts
    threads = set(threading.enumerate()) - before  # alert and stats-fetch workers
    assert {t.name for t in threads} == {
        "flujo-alerts-slow", "flujo-alerts-otel_logs", "flujo-alerts-logging", "flujo-otel-stats"}
    release.set()
    runtime.close()
    for thread in threads:
        thread.join(5)
        assert not thread.is_alive()
    assert not any(name == MEMORY for name, _ in collect(served.reader))
    served.provider.shutdown()


def test_a_bad_threshold_is_warned_once_per_runtime(caplog: pytest.LogCaptureFixture) -> None:
    env = {"OTEL_PYTHON_FLUJO_THRESHOLDS": "nosuch.metric: warning>1"}

    def warnings() -> list[str]:
        return [r.getMessage() for r in caplog.records
                if r.levelno == logging.WARNING and "nosuch.metric" in r.getMessage()]

    with caplog.at_level(logging.WARNING):
        runtime = fresh_runtime(env)
        served = [Served(runtime), Served(runtime)]  # two providers, one engine
        set_thresholds("queue.size: warning>10")  # the environment's rules are read again
        set_thresholds("queue.size: warning>20")
        assert len(warnings()) == 1
        Runtime(load_config(env)).close()  # another runtime has its own memory
        assert len(warnings()) == 2
    for each in served:
        each.provider.shutdown()


# A provider bound to one runtime, then to another: both runtimes' fork guards stay
# registered (os.register_at_fork has no undo), so both run before fork().
FORK_APP = """
import os, signal
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.instrumentation.flujo._internal.config import load_config
from opentelemetry.instrumentation.flujo._internal.runtime import Runtime

signal.signal(signal.SIGALRM, lambda *_: os._exit(3))  # a deadlocked fork ends here
signal.alarm(30)
first, second = Runtime(load_config({})), Runtime(load_config({}))
provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
first.bind(provider)
second.bind(provider)  # the provider moves to the second runtime
for closed in (None, second, first):
    if closed is not None:
        closed.close()
    pid = os.fork()
    if pid == 0:
        provider.force_flush()  # the provider's collect lock is free in the child
        os._exit(0)
    print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() is POSIX only")
def test_only_the_runtime_serving_a_provider_holds_its_locks_across_fork() -> None:
    """Two fork guards taking one provider's locks would deadlock the fork."""
    result = subprocess.run([sys.executable, "-c", FORK_APP], env=app_env({}),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "0", "0"], result.stderr


# uninstrument() closes the runtime, instrument() binds a fresh one to the same
# provider: were both fork guards to take the provider's (non re-entrant) collection
# lock, fork() would hang the parent; the child would not collect either.
FRESH_FORK_APP = """
import os
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.instrumentation.flujo import FlujoInstrumentor, instrument_executor

class Executor:
    def get_optimization_stats(self):
        return {"cache": {"size": 3}}

reader = InMemoryMetricReader()
provider = MeterProvider(metric_readers=[reader])
instrumentor = FlujoInstrumentor()
instrumentor.instrument(meter_provider=provider)
instrumentor.uninstrument()
instrumentor.instrument(meter_provider=provider)
executor = Executor()
assert instrument_executor(executor, "app")
reader.get_metrics_data()
pid = os.fork()
if pid == 0:
    data = reader.get_metrics_data()
    names = {m.name for rm in data.resource_metrics for sm in rm.scope_metrics
             for m in sm.metrics}
    os._exit(0 if "flujo.executor.cache.size" in names else 3)
_, status = os.waitpid(pid, 0)
print("child", os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() on this platform")
def test_a_fork_after_a_fresh_runtime_took_over_the_provider_does_not_hang() -> None:
    result = subprocess.run([sys.executable, "-c", FRESH_FORK_APP], env=app_env({}),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["child", "0"]


# The application's provider is built before the plugin's runtime, so the provider's
# exit handler (final collection and export) runs after the runtime's: the executors
# must still be there for it.
EXIT_APP = """
import os
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.instrumentation.flujo import instrument_executor

class Executor:
    def get_optimization_stats(self):
        return {"cache": {"size": 3}}

exporter = OTLPMetricExporter(endpoint=os.environ["ENDPOINT"])
reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
provider = MeterProvider(metric_readers=[reader])
executor = Executor()
instrument_executor(executor, "app", meter_provider=provider)
"""


def test_the_final_export_at_exit_still_reports_the_executors() -> None:
    from receivers import HttpReceiver

    with HttpReceiver() as receiver:
        env = app_env({"ENDPOINT": receiver.endpoint + "/v1/metrics"})
        result = subprocess.run([sys.executable, "-c", EXIT_APP], env=env, capture_output=True,
                                text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        points = receiver.wait_for(lambda points: any(
            p.metric == "flujo.executor.cache.size" for p in points))
    (point,) = [p for p in points if p.metric == "flujo.executor.cache.size"]
    assert point.value == 3 and point.attributes["flujo.executor.name"] == "app"
