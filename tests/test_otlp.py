"""Real OTLP export from a subprocess configured only by environment variables."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.metadata import requires
from pathlib import Path

import pytest

from opentelemetry.instrumentation.flujo._internal import catalog

from conftest import ROOT, require
from receivers import GrpcReceiver, HttpReceiver, Point, latest

APP = Path(__file__).parent / "apps" / "static_app.py"
BIN = Path(sys.executable).parent


def run_app(mode: str, endpoint: str, protocol: str, *prefix: str,
            **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        OTEL_SERVICE_NAME="checkout",
        OTEL_RESOURCE_ATTRIBUTES="deployment.environment=test,team=sre",
        OTEL_METRIC_EXPORT_INTERVAL="300",
        OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_EXPORTER_OTLP_INSECURE="true",
        OTEL_METRICS_EXPORTER="otlp",
        OTEL_TRACES_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        PYTHONPATH=str(ROOT / "src"),
    )
    env.update(extra)
    return subprocess.run([*prefix, sys.executable, str(APP), mode], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)


def check_every_metric(points: list[Point]) -> None:
    assert points, "nothing arrived"
    resource = points[-1].resource
    assert resource["service.name"] == "checkout"
    assert resource["deployment.environment"] == "test" and resource["team"] == "sre"
    names = {p.metric for p in points}
    assert {m.name for m in catalog.METRICS} <= names
    assert latest(points, "flujo.executor.memory.usage", **{"flujo.executor.name": "app"}).value \
        == 256 * catalog.MIB
    assert latest(points, "flujo.executor.cache.hit_ratio").value == pytest.approx(0.6)
    assert latest(points, "flujo.executor.execution.avg_duration").unit == "s"
    usage = latest(points, "flujo.executor.memory.usage")
    assert (usage.unit, usage.kind, usage.is_monotonic) == ("By", "sum", False)
    executions = latest(points, "flujo.executor.executions",
                        **{"flujo.execution.outcome": "failure"})
    assert (executions.value, executions.kind, executions.is_monotonic) == (8, "sum", True)
    assert latest(points, "flujo.executor.circuit_breaker.status",
                  **{"flujo.circuit_breaker.state": "closed"}).value == 1
    assert points[-1].scope == "opentelemetry.instrumentation.flujo"


@pytest.mark.parametrize(("receiver_class", "protocol"),
                         [(GrpcReceiver, "grpc"), (HttpReceiver, "http/protobuf")])
def test_import_auto_exports_every_metric(receiver_class: type, protocol: str) -> None:
    with receiver_class() as receiver:
        result = run_app("auto", receiver.endpoint, protocol)
        assert result.returncode == 0, result.stderr
        check_every_metric(receiver.wait_for(lambda ps: any(
            p.metric == "flujo.executor.telemetry.overhead" for p in ps)))


@pytest.mark.parametrize(("receiver_class", "protocol"),
                         [(GrpcReceiver, "grpc"), (HttpReceiver, "http/protobuf")])
def test_opentelemetry_instrument_exports_every_metric(receiver_class: type, protocol: str) -> None:
    tool = shutil.which("opentelemetry-instrument", path=str(BIN))
    require(tool is not None, "opentelemetry-instrument")
    assert tool is not None
    with receiver_class() as receiver:
        result = run_app("plain", receiver.endpoint, protocol, tool)
        assert result.returncode == 0, result.stderr
        check_every_metric(receiver.wait_for(lambda ps: any(
            p.metric == "flujo.executor.telemetry.overhead" for p in ps)))


def test_opentelemetry_instrument_without_a_configurator_exports_through_the_plugin() -> None:
    # What opentelemetry-instrument does without opentelemetry-distro (not a dependency):
    # no distro's defaults and no configurator, so nothing sets a MeterProvider. Naming
    # a distro and a configurator that are not installed selects none of the installed
    # ones. The plugin's post-instrument hook then sets its own provider.
    tool = shutil.which("opentelemetry-instrument", path=str(BIN))
    require(tool is not None, "opentelemetry-instrument")
    assert tool is not None
    with HttpReceiver() as receiver:
        result = run_app("plain", receiver.endpoint, "http/protobuf", tool,
                         OTEL_PYTHON_DISTRO="none", OTEL_PYTHON_CONFIGURATOR="none")
        assert result.returncode == 0, result.stderr
        points = receiver.wait_for(lambda ps: any(
            p.metric == "flujo.executor.telemetry.overhead" for p in ps))
    check_every_metric(points)
    # the plugin's provider: its own service.instance.id on every SDK
    assert "service.instance.id" in points[-1].resource


def test_opentelemetry_distro_is_not_a_runtime_dependency() -> None:
    # It only matters under opentelemetry-instrument, where it also turns on trace and
    # log exporters the application may not want (docs/deployment.md).
    requirements = requires("opentelemetry-instrumentation-flujo") or []
    runtime = [r for r in requirements if "extra ==" not in r]
    assert runtime and not [r for r in runtime if r.startswith("opentelemetry-distro")]


def test_sdk_disabled_exports_nothing_and_runs() -> None:
    with HttpReceiver() as receiver:
        result = run_app("auto", receiver.endpoint, "http/protobuf", OTEL_SDK_DISABLED="true")
        assert result.returncode == 0, result.stderr
        assert receiver.points() == []


def test_console_exporter_prints_the_metrics() -> None:
    result = run_app("auto", "http://127.0.0.1:9", "grpc", OTEL_METRICS_EXPORTER="console")
    assert result.returncode == 0, result.stderr
    assert "flujo.executor.memory.usage" in result.stdout
