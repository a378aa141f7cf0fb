"""The examples run as documented."""

from __future__ import annotations

import ast
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT
from receivers import HttpReceiver

BIN = Path(sys.executable).parent


def test_manual_instrumentation_example_prints_both_executors() -> None:
    result = subprocess.run([sys.executable, "examples/manual_instrumentation.py"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=True)
    assert "reference  flujo.executor.memory.usage" in result.stdout
    assert "mine       flujo.executor.cache.hit_ratio" in result.stdout
    # Each executions row says its outcome, as the docstring says.
    assert "mine       flujo.executor.executions{outcome=failure} " in result.stdout
    # A healthy workload: no alert (they are logged to stderr).
    assert "ALERT" not in result.stdout + result.stderr


def test_live_dashboard_example_on_its_healthy_workload_raises_no_alert() -> None:
    """The cold start (a 0 % cache hit ratio) is not observed: no alert that clears
    within seconds."""
    result = subprocess.run([sys.executable, "examples/live_dashboard.py", "3"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "checkout" in result.stdout and "cache.hit_ratio" in result.stdout
    assert "ALERT" not in result.stdout + result.stderr


def test_otlp_from_env_example_exports_the_demo() -> None:
    with HttpReceiver() as receiver:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        env.update(PATH=f"{BIN}:{env['PATH']}", DURATION="1.5",
                   OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
                   OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf", OTEL_METRIC_EXPORT_INTERVAL="500")
        result = subprocess.run(["sh", "examples/otlp_from_env.sh"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        assert "ALERT" not in result.stdout + result.stderr  # the demo is healthy
        points = receiver.wait_for(lambda ps: any(p.metric == "flujo.executor.cache.hit_ratio"
                                                  for p in ps))
        assert points[-1].resource["service.name"] == "flujo-demo"
        assert "demo" in {p.attributes.get("flujo.executor.name") for p in points}


PUBLIC_MODULES = {
    "opentelemetry.instrumentation.flujo", "opentelemetry.instrumentation.flujo.alerts",
    "opentelemetry.instrumentation.flujo.exporters", "opentelemetry.instrumentation.flujo.auto",
    "opentelemetry.instrumentation.flujo.environment_variables",
    "opentelemetry.instrumentation.flujo.tools.top",
    "opentelemetry.instrumentation.flujo.tools.demo",
}


def test_examples_and_docs_import_only_what_docs_api_declares_public() -> None:
    """What the examples and docs tell users to import is API (docs/api.md names each
    public module, and each exports the name in its ``__all__``)."""
    api = (ROOT / "docs" / "api.md").read_text()
    sources = [p.read_text() for p in (ROOT / "examples").glob("*.py")]
    for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        sources += re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
    imported = 0
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if not (isinstance(node, ast.ImportFrom) and node.module
                    and node.module.startswith("opentelemetry.instrumentation.flujo")):
                continue
            assert node.module in PUBLIC_MODULES, node.module
            assert f"## `{node.module}`" in api, node.module
            exported = importlib.import_module(node.module).__all__
            for alias in node.names:
                imported += 1
                assert alias.name in exported, (node.module, alias.name)
    assert imported > 10


def test_the_flujo_example_without_flujo_says_how_to_get_it() -> None:
    """The README sends a newcomer from `make demo`'s venv to the examples: the one that
    needs flujo says which command builds its environment, in one line."""
    # Runs in test-main's environment, which has no flujo (tests/flujo/
    # test_flujo_example.py runs the example for real in .venv-flujo).
    result = subprocess.run([sys.executable, "examples/flujo_pipeline.py"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "examples/flujo_pipeline.py needs flujo 0.6 (Python 3.13): run `make dev-flujo`, "
        "then `.venv-flujo/bin/python examples/flujo_pipeline.py`"]
