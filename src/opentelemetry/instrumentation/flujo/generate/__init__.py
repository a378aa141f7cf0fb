"""Files generated from the catalog. ``python -m opentelemetry.instrumentation.flujo.generate``
rewrites them; ``stale()`` lists the ones that differ (a test fails on any)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from opentelemetry.instrumentation.flujo.generate import metrics_doc

# Repository-relative path -> the function that renders it.
GENERATED: dict[str, Callable[[], str]] = {
    "docs/metrics.md": metrics_doc.render,
}


def write(root: Path) -> list[str]:
    written = []
    for relative, render in GENERATED.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(), encoding="utf-8")
        written.append(relative)
    return written


def stale(root: Path) -> list[str]:
    out = []
    for relative, render in GENERATED.items():
        path = root / relative
        if not path.exists() or path.read_text(encoding="utf-8") != render():
            out.append(relative)
    return out
