"""Shared pieces of the fault-injection suite (tests/test_faults_*.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from opentelemetry.instrumentation.flujo._internal.runtime import Runtime

from conftest import eventually, fresh_runtime

ROOT = Path(__file__).resolve().parent.parent
APP = Path(__file__).resolve().parent / "fault_app.py"
EXECUTIONS = "flujo.executor.executions"
ERRORS = "flujo.otel.collection.errors"
DROPPED = "flujo.otel.stats.dropped"


def stats(total: int, failed: int = 0, **extra: Any) -> dict[str, Any]:
    """A minimal stats document: executions plus one gauge (cache hit rate, percent)."""
    return {
        "execution": {"total_executions": total, "successful_executions": total - failed,
                      "failed_executions": failed},
        "cache": {"hit_rate": extra.get("hit_rate", 50.0)},
    }


class Source:
    """An executor whose ``get_optimization_stats`` runs ``behave(call number)``."""

    def __init__(self, behave: Callable[[int], Any]) -> None:
        self.behave = behave
        self.calls = 0

    def get_optimization_stats(self) -> Any:
        self.calls += 1
        return self.behave(self.calls)


@contextmanager
def budgeted_runtime(budget_s: float = 0.2) -> Iterator[tuple[Runtime, InMemoryMetricReader]]:
    """A fresh runtime with a short stats budget, bound to a MeterProvider with a reader."""
    runtime = fresh_runtime({"OTEL_PYTHON_FLUJO_STATS_TIMEOUT": f"{budget_s * 1000:g}"})
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    runtime.bind(provider)
    try:
        yield runtime, reader
    finally:
        runtime.close()
        provider.shutdown()


def run_app(env: Mapping[str, str], *args: str, timeout: float = 60.0
            ) -> subprocess.CompletedProcess[str]:
    """Run tests/fault_app.py in a fresh interpreter with ``env`` on top of a clean one."""
    return subprocess.run([sys.executable, str(APP), *args], env=app_env(env),
                          capture_output=True, text=True, timeout=timeout, check=False)


def app_env(extra: Mapping[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("OTEL_", "GRPC_"))}
    base["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), base.get("PYTHONPATH", "")])
    return {**base, **extra}


def start_app(env: Mapping[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(APP), *args], env=app_env(env),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_line(process: subprocess.Popen[str], prefix: str, timeout: float = 30.0) -> str:
    """The next stdout line of ``process`` starting with ``prefix`` (others are skipped)."""
    assert process.stdout is not None
    found: list[str] = []

    def scan() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(prefix):
                found.append(line.strip())
                return

    reader = threading.Thread(target=scan, daemon=True)
    reader.start()
    reader.join(timeout)
    if not found:
        process.kill()
        _, err = process.communicate(timeout=10)
        raise AssertionError(f"no {prefix!r} line from the app in {timeout}s; stderr:\n{err}")
    return found[0]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def otlp_env(endpoint: str, protocol: str = "grpc", **extra: str) -> dict[str, str]:
    """The standard OTLP environment of an app exporting every 200 ms with a 1 s timeout."""
    return {
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_METRIC_EXPORT_INTERVAL": "200",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "1",  # seconds, for the Python exporters
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        **extra,
    }


class App:
    """tests/fault_app.py in ``phases`` mode: run N executions on command, then exit."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.process = start_app(env, "phases")
        # stderr is drained as it comes: an app that logs a lot (a traceback per failed
        # export with the HTTP exporter before 1.40) would otherwise block on a full pipe
        self._stderr: list[str] = []
        self._drain = threading.Thread(target=self._read_stderr, daemon=True)
        self._drain.start()
        wait_line(self.process, "ready=")

    def stderr_lines(self) -> list[str]:
        """What the app has logged so far."""
        return list(self._stderr)

    def wait_failed_exports(self, count: int) -> None:
        """Until the app has logged ``count`` lines about exports (failed ones or retries:
        the only exporter lines when exports fail; the wording differs by version)."""
        eventually(lambda: sum("export" in line.lower() for line in self.stderr_lines()) >= count,
                   f"{count} log lines about failed exports")

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr.append(line)

    def run(self, count: int) -> tuple[int, float]:
        """(total executions so far, seconds this batch took)."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"run {count}\n")
        self.process.stdin.flush()
        fields = dict(part.split("=") for part in wait_line(self.process, "total=").split())
        return int(fields["total"]), float(fields["seconds"])

    def exit(self, timeout: float = 60.0) -> tuple[float, str]:
        """(seconds from the app's last statement to the process' end, its stderr)."""
        assert self.process.stdin is not None
        self.process.stdin.write("exit\n")
        self.process.stdin.flush()
        line = wait_line(self.process, "exiting=")
        self.process.wait(timeout=timeout)
        ended = time.time()
        self._drain.join(timeout=10)
        err = "".join(self._stderr)
        assert self.process.returncode == 0, err
        return ended - float(line.split("=")[1]), err
