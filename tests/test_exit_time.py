"""The exit time the README documents with a dead collector, measured as a property of
the exports rather than asserted as a wall-clock time: every attempt of the export at
exit (retries included) carries one shared deadline, OTEL_EXPORTER_OTLP_TIMEOUT after the
first, so the exit waits at most that long for it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc

from conftest import ROOT

SERVICE = "opentelemetry.proto.collector.metrics.v1.MetricsService"
TIMEOUT_S = 2.0


class DeadCollector:
    """Answers every export UNAVAILABLE, as a collector that is down does through its
    load balancer; records when each attempt arrived and the deadline it carried."""

    def __init__(self) -> None:
        self.attempts: list[tuple[float, float]] = []  # (arrival, absolute deadline)
        self.lock = threading.Lock()

        def export(_: bytes, context: Any) -> bytes:
            now = time.monotonic()
            with self.lock:
                self.attempts.append((now, now + context.time_remaining()))
            context.abort(grpc.StatusCode.UNAVAILABLE, "collector down")
            raise AssertionError("abort raises")

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        handler = grpc.unary_unary_rpc_method_handler(export)
        self.server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, {"Export": handler}),))
        self.endpoint = f"http://127.0.0.1:{self.server.add_insecure_port('127.0.0.1:0')}"

    def __enter__(self) -> DeadCollector:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop(None)


def quick_start(tmp_path: Path) -> Path:
    text = (ROOT / "docs" / "readme" / "01-quickstart.md").read_text()
    script = tmp_path / "quickstart.py"
    script.write_text(re.search(r"```python\n(.*?)```", text, re.S)[1])  # type: ignore[index]
    return script


def test_the_export_at_exit_gives_up_by_one_timeout_retries_included(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    with DeadCollector() as collector:
        env.update(OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint,
                   OTEL_EXPORTER_OTLP_TIMEOUT=f"{TIMEOUT_S:g}")
        result = subprocess.run([sys.executable, str(quick_start(tmp_path))], cwd=tmp_path,
                                env=env, capture_output=True, text=True, timeout=120,
                                check=False)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    attempts = collector.attempts
    assert len(attempts) >= 2, attempts  # it did retry: the bound is not trivially met
    first_arrival, deadline = attempts[0]
    # One deadline for the whole export, the timeout after it started (grpc's deadline
    # is sent rounded: a little slack); no retry extends it.
    assert deadline - first_arrival <= TIMEOUT_S + 0.1
    assert all(d <= deadline + 0.1 for _, d in attempts), attempts
