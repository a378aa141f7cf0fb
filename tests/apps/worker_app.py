"""A WSGI app for gunicorn (tests/test_workers.py), measured through ``import ...flujo.auto``.

One executor per process, named "api" in every worker as a real service's would be.
Each request is one execution in the worker that serves it; the answer is that
worker's pid and its total so far. The short sleep keeps a worker busy, so that
concurrent requests spread over the workers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any

import opentelemetry.instrumentation.flujo.auto  # noqa: F401
from opentelemetry.instrumentation.flujo import instrument_executor


class Executor:
    def __init__(self) -> None:
        self.total = 0

    def get_optimization_stats(self) -> dict[str, dict[str, int]]:
        return {"execution": {"total_executions": self.total,
                              "successful_executions": self.total, "failed_executions": 0}}


executor = Executor()
instrument_executor(executor, "api")


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    time.sleep(0.05)
    executor.total += 1
    body = f"{os.getpid()} {executor.total}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
