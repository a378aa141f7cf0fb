"""Files generated from the catalog. ``python -m opentelemetry.instrumentation.flujo.generate``
rewrites them; ``stale()`` lists the ones that differ (a test fails on any)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from opentelemetry.instrumentation.flujo.generate import metrics_doc, readme

# Repository-relative path -> the function that renders it from the repository root.
GENERATED: dict[str, Callable[[Path], str]] = {
    "docs/metrics.md": lambda _root: metrics_doc.render(),
    "README.md": readme.render,
}


def write(root: Path) -> list[str]:
    written = []
    for relative, render in GENERATED.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(root), encoding="utf-8")
        written.append(relative)
    return written


def stale(root: Path) -> list[str]:
    out = []
    for relative, render in GENERATED.items():
        path = root / relative
        if not path.exists() or path.read_text(encoding="utf-8") != render(root):
            out.append(relative)
    return out
