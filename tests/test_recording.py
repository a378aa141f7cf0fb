"""flujo_csv / flujo_jsonl through OTEL_METRICS_EXPORTER in real subprocesses."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from opentelemetry.instrumentation.flujo._internal import catalog
from opentelemetry.instrumentation.flujo._internal.exporters.recording import FIELDS, rows
from opentelemetry.instrumentation.flujo.tools.analysis.load import load

from conftest import ROOT, readline, stand_in_threshold_view

APP = Path(__file__).parent / "apps" / "recording_app.py"
BIN = Path(sys.executable).parent
MEMORY = catalog.PREFIX + "memory.usage"


def _env(tmp_path: Path, exporters: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(OTEL_METRICS_EXPORTER=exporters, OTEL_TRACES_EXPORTER="none",
               OTEL_LOGS_EXPORTER="none",
               # Longer than any test: the only export is the one at shutdown.
               OTEL_METRIC_EXPORT_INTERVAL="600000",
               OTEL_PYTHON_FLUJO_CSV_PATH=str(tmp_path / "rec.csv"),
               OTEL_PYTHON_FLUJO_JSONL_PATH=str(tmp_path / "rec.jsonl"),
               PATH=f"{BIN}:{os.environ['PATH']}")
    return env


def _run(tmp_path: Path, executor: str = "api", mode: str = "auto",
         exporters: str = "flujo_csv,flujo_jsonl", *prefix: str) -> None:
    result = subprocess.run([*prefix, sys.executable, str(APP), mode, executor, "0"],
                            env=_env(tmp_path, exporters), cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


def _csv(tmp_path: Path) -> list[dict[str, str]]:
    with (tmp_path / "rec.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def _jsonl(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (tmp_path / "rec.jsonl").read_text().splitlines()]


def _complete(records: list[dict[str, Any]], executor: str) -> None:
    """Every catalog metric the app's stats produce is there, with the right value."""
    mine = [r for r in records if r["executor"] == executor]
    names = {r["metric"] for r in mine}
    assert {m.name for m in catalog.METRICS} <= names
    memory = [r for r in mine if r["metric"] == MEMORY]
    assert [float(r["value"]) for r in memory] == [600.0 * catalog.MIB]
    assert memory[0]["unit"] == "By"


def test_rows_are_complete_after_a_normal_exit(tmp_path: Path) -> None:
    _run(tmp_path)
    assert list(_csv(tmp_path)[0]) == list(FIELDS)
    _complete(_csv(tmp_path), "api")
    _complete(_jsonl(tmp_path), "api")


def test_rows_are_complete_after_sigterm(tmp_path: Path) -> None:
    app = subprocess.Popen([sys.executable, str(APP), "auto", "api", "60"],
                           env=_env(tmp_path, "flujo_csv,flujo_jsonl"), cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert readline(app.stdout).strip() == "ready"
        assert not (tmp_path / "rec.csv").exists()  # nothing exported yet
        app.send_signal(signal.SIGTERM)
        assert app.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        app.kill()
        app.communicate(timeout=10)
    _complete(_csv(tmp_path), "api")
    _complete(_jsonl(tmp_path), "api")


def test_opentelemetry_instrument_loads_the_exporter_by_name(tmp_path: Path) -> None:
    _run(tmp_path, "api", "plain", "flujo_csv", "opentelemetry-instrument")
    _complete(_csv(tmp_path), "api")


def test_restarts_append_below_one_header(tmp_path: Path) -> None:
    _run(tmp_path, exporters="flujo_csv")
    _run(tmp_path, exporters="flujo_csv")
    lines = (tmp_path / "rec.csv").read_text().splitlines()
    assert sum(line.startswith("timestamp,") for line in lines) == 1
    memory = [r for r in _csv(tmp_path) if r["metric"] == MEMORY]
    assert len(memory) == 2 and memory[0]["timestamp"] < memory[1]["timestamp"]


def test_a_torn_last_line_does_not_swallow_the_next_rows(tmp_path: Path) -> None:
    _run(tmp_path, exporters="flujo_csv")
    with (tmp_path / "rec.csv").open("a") as f:
        f.write("2024-01-01T00:00:00+00:00,api,flujo.exec")  # a crash mid-row
    _run(tmp_path, exporters="flujo_csv")
    recording = load([str(tmp_path / "rec.csv")])
    assert recording.skipped == 1
    assert len(recording.series[("api", MEMORY, ())].values) == 2


def test_formula_executor_names_are_neutralised_and_read_back(tmp_path: Path) -> None:
    _run(tmp_path, "=HYPERLINK(\"x\")", exporters="flujo_csv")
    cells = [r["executor"] for r in _csv(tmp_path) if r["metric"] == MEMORY]
    assert cells == ["'=HYPERLINK(\"x\")"]
    recording = load([str(tmp_path / "rec.csv")])
    assert ("=HYPERLINK(\"x\")", MEMORY, ()) in recording.series


def test_threshold_state_comes_from_the_threshold_status_gauge() -> None:
    """The engine's status gauge becomes each metric's threshold_state column; its
    limit gauges are rows of their own."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter("view")
    executor = {catalog.EXECUTOR_NAME: "api"}
    stand_in_threshold_view(meter, "api", MEMORY, "critical", 800 * catalog.MIB, "critical")
    meter.create_observable_gauge(MEMORY, [lambda _: [Observation(900 * catalog.MIB,
                                                                  executor)]], unit="By")
    recorded = rows(reader.get_metrics_data())
    provider.shutdown()
    by_metric = {r["metric"]: r for r in recorded}
    assert catalog.status_gauge(catalog.BY_NAME[MEMORY]) not in by_metric
    assert by_metric[MEMORY]["threshold_state"] == "critical"
    limit = by_metric[catalog.THRESHOLD_PREFIX + "memory.usage"]
    assert limit["attributes"] == {catalog.THRESHOLD_LEVEL: "critical"}


def test_sigterm_handler_is_not_installed_over_an_existing_one() -> None:
    """In a subprocess: a handler the app installed stays; the default one is replaced."""
    code = ("import signal\n"
            "from opentelemetry.instrumentation.flujo._internal.exporters.sigterm import exit_on_sigterm\n"
            "mine = lambda *a: None\n"
            "signal.signal(signal.SIGTERM, mine)\n"
            "print(exit_on_sigterm(), signal.getsignal(signal.SIGTERM) is mine)\n"
            "signal.signal(signal.SIGTERM, signal.SIG_DFL)\n"
            "print(exit_on_sigterm())\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.split() == ["False", "True", "True"]


# Building an exporter reads its one variable: it builds no plugin runtime, whose
# alert configuration (a bad webhook URL here) would warn and whose threads would start.
ONE_VARIABLE_APP = """
import logging, threading
logging.basicConfig(level=logging.DEBUG)
from opentelemetry.instrumentation.flujo.exporters import CsvMetricExporter, JsonlMetricExporter
print(CsvMetricExporter().path, JsonlMetricExporter().path, threading.active_count())
"""


def test_an_exporter_reads_its_path_without_building_the_runtime(tmp_path: Path) -> None:
    from faults import app_env

    env = app_env({"OTEL_PYTHON_FLUJO_CSV_PATH": str(tmp_path / "a.csv"),
                   "OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_URL": "ftp://not-a-webhook"})
    result = subprocess.run([sys.executable, "-c", ONE_VARIABLE_APP], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(tmp_path / "a.csv"), "flujo_metrics.jsonl", "1"]
    assert "WEBHOOK" not in result.stderr
