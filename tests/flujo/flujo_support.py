"""Shared by the real-flujo tests (``make test-flujo``, Python 3.13 environment).

Deliberately not a conftest.py: the suite imports ``tests/conftest.py`` as ``conftest``,
and a second conftest module would shadow it. Nothing here imports flujo, so the main
suite (``-m "not flujo"``) collects these modules without flujo installed.
"""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from opentelemetry.instrumentation.flujo._internal.catalog import EXECUTION_DURATION, PREFIX

from conftest import require, value

HERE = Path(__file__).parent
# The app a test starts imports these helpers and this checkout's package: its own src
# first, not whichever one the environment's editable install points at.
APP_PYTHONPATH = os.pathsep.join([str(HERE), str(HERE.parent.parent / "src")])
EXECUTIONS = PREFIX + "executions"
DURATION = EXECUTION_DURATION.name
Points = dict[tuple[str, frozenset[tuple[str, Any]]], Any]


def flujo_version() -> str | None:
    try:
        return importlib.metadata.version("flujo")
    except importlib.metadata.PackageNotFoundError:
        return None


def require_flujo() -> None:
    """Skip on a developer machine without flujo 0.6.x; fail under CI=true."""
    version = flujo_version()
    require(version is not None and version.startswith("0.6."), "flujo 0.6.x")


def load_pipelines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The pipeline helpers, run from a temp dir: a flujo run writes flujo.lock and
    flujo_ops.db into the cwd."""
    require_flujo()
    monkeypatch.chdir(tmp_path)
    import flujo_pipelines

    return flujo_pipelines


def executions(points: Points, name: str) -> dict[str, float]:
    return {outcome: value(points, EXECUTIONS, flujo__executor__name=name,
                           flujo__execution__outcome=outcome)
            for outcome in ("success", "failure")}


def durations(points: Points, name: str) -> dict[tuple[str, str], int]:
    """{(step name, outcome): histogram count} for one executor name."""
    out = {}
    for (metric, attrs), point in points.items():
        attributes = dict(attrs)
        if metric == DURATION and attributes["flujo.executor.name"] == name:
            out[(attributes["flujo.step.name"], attributes["flujo.execution.outcome"])] = (
                point.count)
    return out
