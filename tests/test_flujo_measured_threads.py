"""The measured source's running aggregates lose nothing when executions end on several
threads while collections read (and reset) the window. No flujo needed."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from opentelemetry.instrumentation.flujo._internal.collect.registry import Registry
from opentelemetry.instrumentation.flujo._internal.config import Config
from opentelemetry.instrumentation.flujo._internal.flujo_hooks.measured import (
    FAILURE,
    SUCCESS,
    Measured,
)
from opentelemetry.instrumentation.flujo._internal.flujo_hooks.sources import FlujoSources
from opentelemetry.instrumentation.flujo._internal.flujo_hooks.spend import JOURNAL_CAPACITY

THREADS, PER_THREAD = 4, 20_000


@pytest.fixture
def eager_switching() -> Iterator[None]:
    """Thread switches as often as CPython allows, to give a race every chance."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def test_no_update_is_lost_under_concurrent_reads(eager_switching: None) -> None:
    measured = Measured("threads", FlujoSources(Registry(), Config(rate_unit="ratio"), time.monotonic_ns))
    retried = SimpleNamespace(metadata_={}, attempts=2)
    cached = SimpleNamespace(metadata_={"cache_hit": True}, attempts=3)
    step = SimpleNamespace(name="step", is_complex=False)
    windowed: list[int] = []  # executions per window, as each read took it
    done = threading.Event()

    def execute() -> None:
        for i in range(PER_THREAD):
            measured.running.append(None)  # what the wrapper does when it starts one
            measured.end(0.0, FAILURE if i % 4 == 0 else SUCCESS,
                         cached if i % 4 == 1 else retried, step)

    def collect() -> None:
        while not done.is_set():
            windowed.append(measured.take_window()[3][0])

    reader = threading.Thread(target=collect)
    workers = [threading.Thread(target=execute) for _ in range(THREADS)]
    for thread in [reader, *workers]:
        thread.start()
    for worker in workers:
        worker.join()
    done.set()
    reader.join()
    windowed.append(measured.take_window()[3][0])
    stats = measured.get_optimization_stats()
    total = THREADS * PER_THREAD

    assert len(windowed) > 2  # the reader really ran alongside
    assert sum(windowed) == total  # each execution in exactly one window
    assert stats["execution"]["total_executions"] == total
    assert stats["execution"]["failed_executions"] == total // 4
    assert stats["concurrency"]["current_level"] == 0
    # Failures, and successes after a retry (cache hits are not retries), had errors.
    assert stats["error_handling"]["error_rate"] == pytest.approx(3 / 4)
    assert stats["error_handling"]["recovery_success_rate"] == pytest.approx(2 / 3)


def test_step_names_are_length_limited_and_capped() -> None:
    measured = Measured("limits", FlujoSources(Registry(), Config(max_step_names=2),
                                               time.monotonic_ns))
    labels = [measured.step_label(name) for name in ("s" * 1000, "short", "third", None)]
    assert labels == ["s" * 128, "short", "_other", "_other"]


def test_a_fresh_runtime_serves_the_provider_and_the_executors_after_close() -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader

    from opentelemetry.instrumentation.flujo._internal.catalog import EXECUTION_DURATION
    from opentelemetry.instrumentation.flujo._internal.flujo_hooks.measured import ATTRIBUTE
    from opentelemetry.instrumentation.flujo._internal.runtime import get_runtime, open_runtime

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    old = get_runtime()
    old.bind(provider)
    old.measure_flujo()
    class ExecutorCore:  # as the wrapper sees flujo's: no stats of its own
        pass

    executor = ExecutorCore()
    before = old.flujo.attach(executor, "twice")
    assert before is not None
    old.close()  # uninstrument(); then instrument() again:
    new = open_runtime()
    assert new is not old
    new.bind(provider)
    new.measure_flujo()
    assert getattr(executor, ATTRIBUTE, None) is None  # the executor chooses anew
    after = new.flujo.attach(executor, "twice")
    assert after is not None and after is not before
    for measured in (before, after):  # one execution each: only the new runtime records
        measured.running.append(None)
        measured.end(0.0, SUCCESS, None, SimpleNamespace(name="step"))
    data = reader.get_metrics_data()
    assert data is not None
    counts = [p.count for rm in data.resource_metrics for sm in rm.scope_metrics
              for m in sm.metrics if m.name == EXECUTION_DURATION.name
              for p in m.data.data_points if isinstance(p, HistogramDataPoint)]
    assert counts == [1]
    provider.shutdown()


def test_the_journals_stay_bounded_without_a_collection() -> None:
    """With nothing collecting (a provider without a reader), the hot path folds the
    journals itself once they are full: memory stays bounded and nothing is lost."""
    sources = FlujoSources(Registry(), Config(), time.monotonic_ns)
    measured = Measured("bounded", sources)
    step = SimpleNamespace(name="step", is_complex=False)
    done = SimpleNamespace(metadata_={}, attempts=1)
    measured.spend.run_started(SimpleNamespace(limited=False))
    executions = 3 * JOURNAL_CAPACITY + 7
    longest = 0
    for _ in range(executions):
        measured.running.append(None)
        measured.end(0.0, SUCCESS, done, step)
        measured.spend.add("step", 0.5, 2, None, None)
        longest = max(longest, len(measured.journal), len(measured.spend._journal))
    assert longest == JOURNAL_CAPACITY  # past it, folded on the hot path
    stats = measured.get_optimization_stats()
    assert stats["execution"]["total_executions"] == executions
    assert stats["pipeline"] == {"cost_usd": executions * 0.5, "tokens": executions * 2}
