"""A real pre-fork server: gunicorn (from PyPI) with three workers, preloaded and not,
exporting over OTLP to a test receiver.

Every worker must export under its own service.instance.id, so that a backend keeps
one series per worker: with a shared resource (SDK 1.42 and older, or 1.43 with a
preloaded app) the workers' cumulative counters land in one series that goes back
and forth between their totals. Runs in every test environment (the SDKs differ).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from faults import EXECUTIONS, app_env, free_port, otlp_env

from conftest import eventually, require
from receivers import GrpcReceiver, HttpReceiver, Point

GUNICORN = Path(sys.executable).parent / "gunicorn"
APPS = Path(__file__).parent / "apps"
WORKERS = 3
SERVICE_INSTANCE_ID = "service.instance.id"
RECEIVERS = {"grpc": GrpcReceiver, "http/protobuf": HttpReceiver}


def _get(url: str) -> tuple[int, int]:
    """(pid of the worker that answered, its total so far)."""
    with urllib.request.urlopen(url, timeout=10) as response:
        pid, total = response.read().decode().split()
    return int(pid), int(total)


def _wait_until_serving(url: str, server: subprocess.Popen[bytes]) -> None:
    def answers() -> bool:
        assert server.poll() is None, "gunicorn exited"
        try:
            _get(url)
        except OSError:
            return False
        return True

    eventually(answers, "gunicorn to answer", 60, poll_s=0.2)


def _final_totals(points: list[Point]) -> dict[object, float]:
    """{service.instance.id: its last successful-executions total}."""
    final: dict[object, float] = {}
    for point in points:
        if point.metric == EXECUTIONS and point.attributes.get("flujo.execution.outcome") \
                == "success":
            instance = point.resource.get(SERVICE_INSTANCE_ID)
            final[instance] = max(point.value, final.get(instance, 0))
    return final


def _serving(final: dict[object, float]) -> Counter[float]:
    """The totals of the instances that executed something (a preloading master exports
    its own series too, with no executions)."""
    return Counter(value for value in final.values() if value > 0)


def _serve_until_every_worker_answered(url: str) -> dict[int, int]:
    """{worker pid: its final total}; concurrent requests, so that every worker gets some."""
    totals: dict[int, int] = {}
    with ThreadPoolExecutor(max_workers=2 * WORKERS) as pool:
        for _ in range(20):  # bounded: 20 rounds of 12 requests
            for pid, total in pool.map(_get, [url] * 4 * WORKERS):
                totals[pid] = max(total, totals.get(pid, 0))
            if len(totals) == WORKERS:
                break
    return totals


def _series(points: list[Point]) -> dict[tuple[object, ...], list[Point]]:
    """Cumulative monotonic points by series (resource, metric, attributes), in time order."""
    series: dict[tuple[object, ...], list[Point]] = defaultdict(list)
    for point in points:
        if point.kind == "sum" and point.is_monotonic:
            key = (tuple(sorted(point.resource.items())), point.metric,
                   tuple(sorted(point.attributes.items())))
            series[key].append(point)
    for each in series.values():
        each.sort(key=lambda p: p.time_unix_nano)
    return series


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
@pytest.mark.parametrize("preload", [False, True], ids=["per-worker-import", "preload"])
def test_gunicorn_workers_export_distinct_series_that_never_decrease(
        preload: bool, protocol: str, tmp_path: Path) -> None:
    require(GUNICORN.exists(), "gunicorn")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = tmp_path / "gunicorn.log"
    # gRPC: the exporter's channel is made in the master when preloaded, used in workers
    with RECEIVERS[protocol]() as receiver, log.open("wb") as log_file:
        env = otlp_env(receiver.endpoint, protocol, OTEL_SERVICE_NAME="checkout",
                       OTEL_EXPORTER_OTLP_TIMEOUT="5")
        command = [str(GUNICORN), "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}",
                   "--chdir", str(APPS), "--graceful-timeout", "20",
                   *(["--preload"] if preload else []), "worker_app:app"]
        server = subprocess.Popen(command, env=app_env(env), stdout=log_file,
                                  stderr=subprocess.STDOUT)
        try:
            _wait_until_serving(url, server)
            totals = _serve_until_every_worker_answered(url)
            # every worker's total exported by its periodic reader, before any exit
            receiver.wait_for(lambda points: _serving(_final_totals(points))
                              == Counter(totals.values()), timeout=60)
        finally:
            server.send_signal(signal.SIGTERM)  # graceful: each worker exports at exit
            server.wait(timeout=60)
        points = receiver.points()
    output = log.read_text()
    assert server.returncode == 0, output
    assert "Traceback" not in output, output
    assert len(totals) == WORKERS, totals

    assert {p.resource["service.name"] for p in points if p.metric == EXECUTIONS} == {
        "checkout"}
    # one series per worker, each ending at that worker's total
    final = _final_totals(points)
    assert _serving(final) == Counter(totals.values()), (final, totals)

    series = _series(points)
    assert series
    for key, each in series.items():
        values = [p.value for p in each]
        assert values == sorted(values), (key, values)
