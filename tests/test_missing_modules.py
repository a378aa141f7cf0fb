"""Without an optional package (an extra not installed) or a POSIX-only module (Windows):
one line naming what to install and exit status 2, or the feature simply works.

Each case runs in a fresh interpreter whose import system refuses the named modules,
as if they were not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from opentelemetry.instrumentation.flujo.version import __version__

from conftest import ROOT

# Prepended to every program: refuses the modules named in FLUJO_TEST_BLOCKED (and their
# submodules) the way a missing package does.
BLOCKER = """
import os, sys
_BLOCKED = tuple(os.environ["FLUJO_TEST_BLOCKED"].split(","))
class _Blocker:
    def find_spec(self, name, path=None, target=None):
        if name in _BLOCKED or name.startswith(tuple(b + "." for b in _BLOCKED)):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _Blocker())
"""
CLI = "from opentelemetry.instrumentation.flujo.tools.cli import main; sys.exit(main(sys.argv[1:]))"


def run(blocked: str, program: str, *args: str, cwd: Path = ROOT,
        **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    environ.update(FLUJO_TEST_BLOCKED=blocked, **env)
    return subprocess.run([sys.executable, "-c", BLOCKER + program, *args], cwd=cwd,
                          env=environ, capture_output=True, text=True, timeout=120,
                          check=False)


def assert_one_line_hint(done: subprocess.CompletedProcess[str], what: str, module: str,
                         extra: str) -> None:
    assert done.returncode == 2, done.stderr
    assert done.stderr == (f"flujo-otel: error: {what} needs {module}: "
                           f"pip install 'opentelemetry-instrumentation-flujo[{extra}]'\n")


@pytest.mark.parametrize("module", ["rich", "opentelemetry.proto"])
def test_top_without_the_cli_extra_names_it(module: str) -> None:
    done = run(module, CLI, "top", "--once", "--listen", "127.0.0.1:0", "--wait", "0.1")
    assert_one_line_hint(done, "flujo-otel top", module, "cli")


def test_plots_without_matplotlib_name_the_plots_extra(tmp_path: Path) -> None:
    recording = tmp_path / "r.jsonl"
    recording.write_text("", encoding="utf-8")
    done = run("matplotlib", CLI, "report", str(recording), "--plots", str(tmp_path))
    assert_one_line_hint(done, "--plots", "matplotlib", "plots")


def test_a_configured_exporter_that_is_not_installed_names_its_extra() -> None:
    # The demo asked to export and cannot: a usage error, not a run without the export.
    done = run("opentelemetry.exporter.prometheus", CLI, "demo", "--duration", "0.1",
               OTEL_METRICS_EXPORTER="prometheus")
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        "flujo-otel: error: OTEL_METRICS_EXPORTER names 'prometheus', which is not "
        "installed: pip install 'opentelemetry-instrumentation-flujo[prometheus]'\n")
    # In an application (auto-instrumentation): one warning line, never an exception.
    done = run("opentelemetry.exporter.prometheus",
               "import opentelemetry.instrumentation.flujo.auto; print('app ran')",
               OTEL_METRICS_EXPORTER="prometheus")
    assert done.returncode == 0 and done.stdout == "app ran\n", done.stderr
    assert done.stderr.splitlines() == [
        "OTEL_METRICS_EXPORTER names 'prometheus', which is not installed: pip install "
        "'opentelemetry-instrumentation-flujo[prometheus]'; skipped"], done.stderr


WINDOWS_APP = """
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
import opentelemetry.instrumentation.flujo.auto
from opentelemetry.instrumentation.flujo import instrument_executor
from opentelemetry.instrumentation.flujo.exporters import JsonlMetricExporter

class Executor:
    def get_optimization_stats(self):
        return {"memory": {"usage_mb": 300.0}, "execution": {"total_executions": 5}}

reader = PeriodicExportingMetricReader(JsonlMetricExporter(sys.argv[1]),
                                       export_interval_millis=60_000)
provider = MeterProvider(metric_readers=[reader])
executor = Executor()
assert instrument_executor(executor, "api", meter_provider=provider)
for _ in range(3):
    reader.collect()
provider.shutdown()
print("recorded")
"""


def test_no_posix_only_module_is_needed_to_record_and_report(tmp_path: Path) -> None:
    """Windows has neither ``resource`` nor ``fcntl``: the package, auto-instrumentation,
    the recording exporter, ``flujo-otel --version`` and ``report`` still work."""
    blocked = "resource,fcntl"
    recording = tmp_path / "api.jsonl"
    done = run(blocked, WINDOWS_APP, str(recording), OTEL_METRICS_EXPORTER="none")
    assert done.returncode == 0 and done.stdout == "recorded\n", done.stderr
    assert done.stderr == ""

    done = run(blocked, CLI, "--version")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"flujo-otel {__version__}\n", "")

    done = run(blocked, CLI, "report", str(recording))
    assert done.returncode == 0, done.stderr
    assert "| api | memory.usage |" in done.stdout


def test_a_pull_exporter_entry_point_is_used_as_the_reader_it_is() -> None:
    # opentelemetry-exporter-prometheus's entry point makes a MetricReader, which must not
    # be wrapped in a periodic reader (the demo died with an AttributeError).
    program = (
        "from opentelemetry.instrumentation.flujo._internal.otel.sdk_setup import "
        "readers_from_env\n"
        "(reader,) = readers_from_env(os.environ)\n"
        "print(type(reader).__name__)\n")
    done = run("nothing", program, OTEL_METRICS_EXPORTER="prometheus",
               OTEL_EXPORTER_PROMETHEUS_HOST="127.0.0.1", OTEL_EXPORTER_PROMETHEUS_PORT="0")
    assert (done.returncode, done.stdout, done.stderr) == (
        0, "_AutoPrometheusMetricReader\n", "")
