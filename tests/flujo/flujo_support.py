"""Shared by the real-flujo tests (``make test-flujo``, Python 3.13 environment).

Deliberately not a conftest.py: the suite imports ``tests/conftest.py`` as ``conftest``,
and a second conftest module would shadow it. Nothing here imports flujo, so the main
suite (``-m "not flujo"``) collects these modules without flujo installed.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from types import ModuleType

import pytest

from conftest import require


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
