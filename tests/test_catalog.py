"""The catalog matches the metric contract, and generated files are current."""

from __future__ import annotations

import re

from opentelemetry.instrumentation.flujo._internal import catalog
from opentelemetry.instrumentation.flujo.tools import generate

from conftest import ROOT, require

SPEC = ROOT.parent / "shared" / "spec" / "metrics.md"
KINDS = {"G": catalog.Kind.GAUGE, "UDC": catalog.Kind.UP_DOWN_COUNTER, "C": catalog.Kind.COUNTER}


def spec_rows() -> list[list[str]]:
    rows = []
    for line in SPEC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[2].startswith("flujo.executor."):
            rows.append(cells)
    return rows


def test_every_contract_metric_is_in_the_catalog_with_its_kind_and_unit() -> None:
    require(SPEC.exists(), f"the metric contract at {SPEC}")
    rows = spec_rows()
    assert len(rows) == len(catalog.METRICS) == 33
    for _category, _stat, name, kind, unit, _thresholds in rows:
        metric = catalog.BY_NAME[name]
        assert metric.kind is KINDS[kind], name
        assert metric.unit == unit, name


def test_default_thresholds_match_the_contract() -> None:
    require(SPEC.exists(), f"the metric contract at {SPEC}")
    from opentelemetry.instrumentation.flujo.tools.generate.metrics_doc import thresholds_text

    for _category, _stat, name, _kind, _unit, spec_text in spec_rows():
        ours = thresholds_text(catalog.BY_NAME[name])
        numbers = re.findall(r"\d+(?:\.\d+)?", spec_text.split("(")[0])
        if "rate thresholds" in spec_text or not spec_text:
            assert ours == "", name
            continue
        assert re.findall(r"\d+(?:\.\d+)?", ours) == numbers, (name, ours, spec_text)
        for word in ("warning", "critical"):
            assert (word in ours) == (word in spec_text), name


def test_no_metric_name_is_a_namespace_of_another() -> None:
    names = [m.name for m in catalog.METRICS] + [s.name for s in catalog.SELF_METRICS]
    for name in names:
        assert not any(other.startswith(name + ".") for other in names), name


def test_generated_files_are_current() -> None:
    stale = generate.stale(ROOT)
    assert not stale, f"run `make generate`: stale {stale}"
