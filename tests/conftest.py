from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from opentelemetry.instrumentation.flujo._internal.runtime import (
    Runtime,
    get_runtime,
    open_runtime,
)

sys.path.insert(0, str(Path(__file__).parent))

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
T = TypeVar("T")


def eventually(condition: Callable[[], T | None], what: str, timeout_s: float = 30.0,
               poll_s: float = 0.01) -> T:
    """``condition()``'s first truthy result, asked every ``poll_s`` until it comes.

    For what has no event to wait on (another process, a server's state). ``timeout_s``
    is a hang guard: reaching it fails the test, it never paces it."""
    deadline = time.monotonic() + timeout_s
    while not (found := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(poll_s)
    return found


def readline(stream: IO[str] | None, timeout_s: float = 30.0) -> str:
    """The next line from a subprocess' pipe, or a failure after ``timeout_s`` (a hang
    guard: a process that neither writes nor exits). Kill the process on failure: the
    reading thread ends with the pipe."""
    assert stream is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    if not lines:
        raise AssertionError(f"no line from the process in {timeout_s:g} s")
    return lines[0]


def pytest_configure(config: pytest.Config) -> None:
    """SIGINT handled in the test process, so that the children it starts get the
    default a user's terminal gives them. A shell without job control starts background
    commands (``make test &``) with SIGINT ignored; an ignored signal stays ignored
    across exec (a handled one is reset to the default), and a Python started that way
    installs no KeyboardInterrupt handler: the Ctrl-C tests' children would never quit."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def ctrl_c(process: subprocess.Popen[str], timeout_s: float = 60.0) -> tuple[str, str]:
    """Ctrl-C to ``process``, then its (stdout, stderr) once it has ended. Past
    ``timeout_s`` (a hang guard) it gets SIGABRT, which makes a child started with
    PYTHONFAULTHANDLER=1 print every thread's stack: the failure shows where it hung."""
    process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        _, err = process.communicate(timeout=30)
        raise AssertionError(f"still running {timeout_s:g} s after Ctrl-C:\n{err[-8000:]}"
                             ) from None
    return out, err


def require(available: bool, what: str) -> None:
    """Skip when a component is missing on a developer machine; fail under CI=true."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true")
    pytest.skip(f"{what} is not available")


_OURS = ("OTEL_PYTHON_FLUJO_", "OTEL_EXPORTER_", "OTEL_METRIC")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No OTEL_PYTHON_FLUJO_* (or exporter) variable from outside, nor from an earlier
    test (``fresh_runtime`` sets some)."""
    for name in list(os.environ):
        if name.startswith(_OURS):
            monkeypatch.delenv(name, raising=False)
    yield
    for name in list(os.environ):
        if name.startswith(_OURS):
            monkeypatch.delenv(name, raising=False)


def fresh_runtime(env: dict[str, str] | None = None) -> Runtime:
    """The process's runtime started anew with ``env`` in the environment (removed after
    the test), as an application's ``uninstrument()`` then ``instrument()`` would."""
    for name, value in (env or {}).items():
        os.environ[name] = value
    get_runtime().close()
    return open_runtime()


@pytest.fixture(autouse=True)
def _fresh_runtime(_clean_env: None) -> Iterator[None]:
    """Every test starts on a new runtime (no handlers, overrides or executors of an
    earlier test) and closes it (its alert threads end)."""
    fresh_runtime()
    yield
    get_runtime().close()


def log_now(logger: logging.Logger, level: int, message: str, *args: Any,
            exc_info: bool = False) -> None:
    """What a runtime hands its stages as ``log`` (its dispatcher's), for a test that
    builds a stage alone: logged at once, on the calling thread."""
    logger.log(level, message, *args, exc_info=exc_info)


@pytest.fixture
def runtime() -> Runtime:
    """The test's default runtime, read from the (clean) environment."""
    return get_runtime()


@pytest.fixture
def provider_and_reader(runtime: Runtime) -> Iterator[tuple[MeterProvider, InMemoryMetricReader]]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    runtime.bind(provider)
    yield provider, reader
    provider.shutdown()


@pytest.fixture
def reader(provider_and_reader: tuple[MeterProvider, InMemoryMetricReader]) -> InMemoryMetricReader:
    return provider_and_reader[1]


def collect(reader: InMemoryMetricReader) -> dict[tuple[str, frozenset[tuple[str, Any]]], Any]:
    """{(metric name, attributes): value} for one collection (histograms: the point)."""
    data = reader.get_metrics_data()
    out: dict[tuple[str, frozenset[tuple[str, Any]]], Any] = {}
    if data is None:
        return out
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    key = (metric.name, frozenset(point.attributes.items()))
                    out[key] = getattr(point, "value", point)
    return out


def units(reader: InMemoryMetricReader) -> dict[str, tuple[str, str]]:
    """{metric name: (unit, data type name)} for one collection."""
    data = reader.get_metrics_data()
    out = {}
    if data is not None:
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    out[metric.name] = (metric.unit or "", type(metric.data).__name__)
    return out


def value(points: dict[tuple[str, frozenset[tuple[str, Any]]], Any], metric: str,
          **attributes: str) -> Any:
    wanted = {k.replace("__", "."): v for k, v in attributes.items()}
    for (name, attrs), v in points.items():
        if name == metric and wanted.items() <= dict(attrs).items():
            return v
    raise KeyError(f"{metric} {wanted} not in {sorted({n for n, _ in points})}")


class StaticExecutor:
    """A duck-typed executor that reports whatever ``stats`` holds and counts its reads."""

    def __init__(self, stats: Any = None) -> None:
        self.stats = stats if stats is not None else {}
        self.calls = 0

    def get_optimization_stats(self) -> Any:
        self.calls += 1
        return self.stats


def full_stats(**overrides: Any) -> dict[str, dict[str, Any]]:
    """Every stat of the guide's schema, in the guide's units (percent, ms, MB)."""
    stats: dict[str, dict[str, Any]] = {
        "memory": {"object_pool_utilization": 40.0, "objects_in_pool": 12,
                   "pool_hit_rate": 75.0, "pool_miss_rate": 25.0, "usage_mb": 256.0,
                   "pressure_level": 0.25, "allocation_rate_mb_s": 2.0, "cleanup_events": 3},
        "execution": {"avg_time_ms": 120.0, "min_time_ms": 5.0, "max_time_ms": 900.0,
                      "total_executions": 100, "successful_executions": 90,
                      "failed_executions": 8},
        "cache": {"hit_rate": 60.0, "size": 50, "capacity": 200, "utilization": 25.0,
                  "evictions": 4, "misses": 40},
        "concurrency": {"current_level": 3, "max_level": 10, "avg_wait_time_ms": 20.0,
                        "contention_rate": 5.0, "queue_size": 2},
        "error_handling": {"error_rate": 8.0, "recovery_success_rate": 70.0,
                           "cached_patterns": 6, "circuit_breaker_state": "CLOSED",
                           "failure_count": 1},
        "telemetry": {"batch_size": 50, "flush_rate": 1.5, "overhead_ms": 0.2,
                      "metrics_collected": 1000},
    }
    for dotted, new in overrides.items():
        category, key = dotted.split("__")
        stats[category][key] = new
    return stats


def with_runs(stats: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``stats`` and the pipeline category flujo's runs add (flujo_hooks/runs.py); any
    executor may report it."""
    return {**stats, "pipeline": {"cost_usd": 1.25, "tokens": 4321,
                                  "usage_limit_utilization": 0.5}}


class OneExecutorRig:
    """A runtime configured from ``env``, its own MeterProvider and reader, and one
    StaticExecutor registered under ``name`` (held here: the registry's ref is weak).

    The runtime is the process's (the public API acts on it) unless ``default`` is
    False: then it is one built directly, beside it, on ``clock`` if given.
    """

    def __init__(self, env: dict[str, str] | None = None, name: str = "api",
                 default: bool = True, clock: Any = None) -> None:
        from opentelemetry.instrumentation.flujo._internal.config import load_config

        self.runtime: Runtime = fresh_runtime(env) if default else \
            Runtime(load_config(env or {}), clock)
        self.reader = InMemoryMetricReader()
        self.provider = MeterProvider(metric_readers=[self.reader])
        self.runtime.bind(self.provider)
        self.executor = StaticExecutor({})
        self.runtime.registry.add(self.executor, name)


def stand_in_threshold_view(meter: Any, executor: str, metric: str, state: str,
                            limit: float, level: str) -> None:
    """The threshold engine's two output metrics for one metric of one executor, as fixed
    observations: for consumers (dashboard, recorders) tested on exact states."""
    from opentelemetry.metrics import Observation

    from opentelemetry.instrumentation.flujo._internal import catalog

    name = {catalog.EXECUTOR_NAME: executor}
    checked = catalog.BY_NAME[metric]
    severity = catalog.THRESHOLD_SEVERITY[state]
    meter.create_observable_gauge(
        catalog.status_gauge(checked), [lambda _: [Observation(severity, name)]],
        unit=catalog.THRESHOLD_STATUS_UNIT)
    unit = checked.unit
    meter.create_observable_gauge(
        catalog.limit_gauge(checked),
        [lambda _: [Observation(limit, {**name, catalog.THRESHOLD_LEVEL: level})]], unit=unit)
