"""Files generated from the catalog.

``python -m opentelemetry.instrumentation.flujo.tools.generate`` rewrites them;
``stale()`` lists the ones that differ (a test fails on any)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from opentelemetry.instrumentation.flujo._internal.thresholds.rules import default_rules
from opentelemetry.instrumentation.flujo.tools.generate import (
    grafana,
    metrics_doc,
    names_doc,
    prometheus_rules,
    promtool_tests,
    readme,
)
from opentelemetry.instrumentation.flujo.tools.generate.naming import Naming

# collector-config/ ships the default thresholds, for the Collector path (what the
# docker-compose stack runs); users regenerate with their overrides via the CLI.
RULES_FILE = "collector-config/prometheus/flujo-rules.yml"

# Repository-relative path -> the function that renders it from the repository root.
GENERATED: dict[str, Callable[[Path], str]] = {
    "docs/metrics.md": lambda _root: metrics_doc.render(),
    "docs/prometheus-names.md": lambda _root: names_doc.render(),
    RULES_FILE: lambda _root: prometheus_rules.render(default_rules(), Naming.COLLECTOR),
    RULES_FILE.replace(".yml", ".test.yml"): lambda _root: promtool_tests.render(
        default_rules(), Naming.COLLECTOR, Path(RULES_FILE).name),
    "collector-config/grafana/dashboards/flujo-executors.json": lambda _root: grafana.render(
        default_rules(), Naming.COLLECTOR),
    "docs/configuration.md": readme.page("docs/configuration.md"),
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
