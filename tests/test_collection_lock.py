"""Nothing user-supplied runs while the SDK holds its collection lock (issue 21, item 1).

The SDK calls the observable callbacks under its collection lock, which creating an
instrument also takes. Alert lines used to be logged on the collecting thread, inside
that lock: a log handler calling ``set_thresholds()`` for a metric without a default
rule (which created a gauge) hung the collection, and a slow handler held up every
export. Now a collection only hands its events over; log handlers run on the
dispatcher's logging thread, in the order the events happened.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, PeriodicExportingMetricReader

from opentelemetry.instrumentation.flujo import instrument_executor, set_thresholds
from opentelemetry.instrumentation.flujo._internal.runtime import Runtime
from opentelemetry.instrumentation.flujo.exporters import CsvMetricExporter

from conftest import StaticExecutor, collect

ALERTS = logging.getLogger("opentelemetry.instrumentation.flujo.alerts")
# Long enough never to fire on a healthy run, short enough not to hang a broken one.
HANG_GUARD_S = 30.0
UNCHECKED = "cache.max"  # a metric without a default rule


@pytest.fixture
def handler_on_alerts() -> Iterator[Callable[[logging.Handler], None]]:
    installed: list[logging.Handler] = []
    level = ALERTS.level
    ALERTS.setLevel(logging.INFO)  # recoveries are INFO

    def install(handler: logging.Handler) -> None:
        installed.append(handler)
        ALERTS.addHandler(handler)

    yield install
    for handler in installed:
        ALERTS.removeHandler(handler)
    ALERTS.setLevel(level)


def in_thread(work: Callable[[], None]) -> threading.Event:
    """Run ``work`` on a thread of its own; the event is set once it returned."""
    done = threading.Event()

    def run() -> None:
        work()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done


def test_a_log_handler_that_sets_thresholds_does_not_hang_the_collection(
        runtime: Runtime, tmp_path: Path,
        handler_on_alerts: Callable[[logging.Handler], None]) -> None:
    memory = InMemoryMetricReader()
    exported = tmp_path / "export.csv"
    periodic = PeriodicExportingMetricReader(CsvMetricExporter(str(exported)),
                                             export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[memory, periodic])
    runtime.bind(provider)
    set_here = threading.Event()

    class SetsThresholds(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            set_thresholds(f"{UNCHECKED}: warning>100")  # a gauge the engine never had
            set_here.set()

    handler_on_alerts(SetsThresholds())
    executor = StaticExecutor({"memory": {"usage_mb": 900}, "cache": {"capacity": 200}})
    assert instrument_executor(executor, "api")
    exports: list[bool] = []
    done = in_thread(lambda: exports.append(provider.force_flush(10_000)))  # collect + export
    assert done.wait(HANG_GUARD_S), "the collection and export hung"
    assert exports == [True]
    assert set_here.wait(HANG_GUARD_S)
    # The next collection checks the metric: its status gauge existed from bind time.
    points = collect(memory)
    status = f"flujo.executor.threshold.status.{UNCHECKED}"
    assert points[(status, frozenset({("flujo.executor.name", "api")}))] == 1
    assert points[(f"flujo.executor.threshold.{UNCHECKED}",
                   frozenset({("flujo.threshold.level", "warning")}))] == 100
    provider.shutdown()
    rows = [line.split(",") for line in exported.read_text().splitlines()]
    assert ["api", "flujo.executor.memory.usage", "critical"] in [
        [row[1], row[2], row[5]] for row in rows]  # exported, with the state it raised


def test_collections_go_on_while_a_log_handler_is_blocked(
        runtime: Runtime, provider_and_reader: tuple[MeterProvider, InMemoryMetricReader],
        handler_on_alerts: Callable[[logging.Handler], None]) -> None:
    reader = provider_and_reader[1]
    entered, release = threading.Event(), threading.Event()
    logged: list[str] = []

    class Blocked(logging.Handler):  # a network syslog or HTTP handler that hangs
        def emit(self, record: logging.LogRecord) -> None:
            entered.set()
            release.wait(HANG_GUARD_S)
            logged.append(record.getMessage().split(": ", 2)[2].split(" (")[0])

    handler_on_alerts(Blocked())
    executor = StaticExecutor()
    assert instrument_executor(executor, "api")
    usages = (900, 100, 600, 900, 100)  # five collections, a transition each

    def collections() -> None:
        for mib in usages:
            executor.stats = {"memory": {"usage_mb": mib}}
            collect(reader)

    done = in_thread(collections)
    assert entered.wait(HANG_GUARD_S)
    # Every collection completes while the handler is still blocked in the first record.
    assert done.wait(HANG_GUARD_S), "a collection waited for the log handler"
    assert executor.calls == len(usages) and logged == []
    release.set()
    assert runtime.alerts.flush(HANG_GUARD_S)
    assert logged == ["ok -> critical", "critical -> ok", "ok -> warning",
                      "warning -> critical", "critical -> ok"]  # in the order they happened
