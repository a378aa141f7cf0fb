"""A typo gets the closest valid name, and every problem of a threshold text is named at
once: the first hour's messages, checked as a user meets them."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from opentelemetry.instrumentation.flujo import instrument_executor
from opentelemetry.instrumentation.flujo._internal.config import load_config
from opentelemetry.instrumentation.flujo._internal.runtime import Runtime
from opentelemetry.instrumentation.flujo._internal.thresholds.overrides import effective_rules

CLI = "from opentelemetry.instrumentation.flujo.tools.cli import main; raise SystemExit(main())"


def problems(**environ: str) -> list[str]:
    found: list[str] = []
    effective_rules(load_config(environ), warn=found.append)
    return found


def test_a_misspelt_metric_names_the_closest_one() -> None:
    (problem,) = problems(OTEL_PYTHON_FLUJO_THRESHOLDS="memory.usgae: warning>600MiB")
    assert "'memory.usgae' is not a flujo metric (did you mean 'memory.usage'?)" in problem


def test_every_bad_clause_is_reported_not_only_the_first() -> None:
    (problem,) = problems(
        OTEL_PYTHON_FLUJO_THRESHOLDS="memory.usage: warnng>600MiB, critical>>900MiB")
    assert "'warnng>600MiB' does not start with warning or critical" in problem
    assert "'>900MiB'" in problem


def test_every_bad_level_of_a_file_table_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('["memory.usage"]\nwarning = ">lots"\ncritical = 5\n')
    (problem,) = problems(OTEL_PYTHON_FLUJO_THRESHOLDS_FILE=str(path))
    assert "lots" in problem
    assert "critical = 5" in problem


def test_a_misspelt_exporter_names_the_closest_installed_one() -> None:
    result = subprocess.run([sys.executable, "-c", CLI, "demo", "--duration", "0.1"],
                            env={**{k: v for k, v in os.environ.items()
                                    if not k.startswith("OTEL_")},
                                 "OTEL_METRICS_EXPORTER": "flujo_cvs"},
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "flujo-otel: error: OTEL_METRICS_EXPORTER names 'flujo_cvs', which is not "
        "installed: install the package that provides it (did you mean 'flujo_csv'?)")


class _Garbage:
    def __init__(self, stats: Any) -> None:
        self.stats = stats

    def get_optimization_stats(self) -> Any:
        return self.stats


def test_garbage_stats_are_named_in_one_warning_each(
        runtime: Runtime, reader: InMemoryMetricReader,
        caplog: pytest.LogCaptureFixture) -> None:
    """None for the whole answer, or "lots" for a value: the README says a WARNING names
    them (a counter alone left the reader guessing which executor and which key)."""
    executors = [_Garbage(None), _Garbage({"memory": {"usage_mb": "lots"}})]
    for number, executor in enumerate(executors):
        instrument_executor(executor, f"garbage{number}")
    with caplog.at_level(logging.WARNING):
        reader.get_metrics_data()
        reader.get_metrics_data()  # once, not per collection
        assert runtime.alerts.flush()  # logged on the dispatcher's thread
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([w for w in warnings if "garbage0" in w]) == 1, warnings
    assert any("'garbage0': get_optimization_stats() is None, not a mapping" in w
               for w in warnings)
    assert any("'garbage1': stat memory.usage_mb is 'lots', not a number" in w
               for w in warnings)


def test_a_misspelt_excluded_metric_names_the_closest_one(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        config = load_config({"OTEL_PYTHON_FLUJO_EXCLUDED_METRICS": "cache.hit_ratoi"})
    assert config.excluded_metrics == ()
    assert "'cache.hit_ratoi' (did you mean 'cache.hit_ratio'?)" in caplog.text


def test_report_names_the_closest_recorded_metric_and_executor(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from opentelemetry.instrumentation.flujo.tools.cli import main
    from recordings import T0, row, write

    path = write(tmp_path / "r.csv", [row(T0, "checkout", "cache.hit_ratio", 0.5)])
    assert main(["report", str(path), "--metric", "cache.hit_rate"]) == 2
    assert "unknown metric 'cache.hit_rate' (did you mean 'cache.hit_ratio'?)" in \
        capsys.readouterr().err
    assert main(["report", str(path), "--executor", "chekout"]) == 2
    assert "unknown executor 'chekout' (did you mean 'checkout'?)" in capsys.readouterr().err
