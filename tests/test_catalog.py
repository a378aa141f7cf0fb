"""The catalog matches the metric contract, and generated files are current."""

from __future__ import annotations

import re

from opentelemetry.instrumentation.flujo._internal import catalog
from opentelemetry.instrumentation.flujo.tools import generate

from conftest import ROOT

# The metric contract's table (names, kinds, units, default thresholds), pinned here: a
# change to the catalog that breaks it fails this file, and must be made on purpose.
CONTRACT = """
| memory | object_pool_utilization | flujo.executor.object_pool.utilization | G | 1 | warning > 0.8 |
| memory | objects_in_pool | flujo.executor.object_pool.objects | UDC | {object} | |
| memory | pool_hit_rate | flujo.executor.object_pool.hit_ratio | G | 1 | warning < 0.5 |
| memory | pool_miss_rate | flujo.executor.object_pool.miss_ratio | G | 1 | warning > 0.5 |
| memory | usage_mb | flujo.executor.memory.usage | UDC | By | warning > 500 MiB, critical > 800 MiB |
| memory | pressure_level | flujo.executor.memory.pressure | G | 1 | warning > 0.8 |
| memory | allocation_rate_mb_s | flujo.executor.memory.allocation_rate | G | By/s | warning > 10 MiB/s |
| memory | cleanup_events | flujo.executor.memory.cleanup_events | C | {event} | |
| execution | avg_time_ms | flujo.executor.execution.avg_duration | G | s | warning > 1 s, critical > 5 s |
| execution | min_time_ms | flujo.executor.execution.min_duration | G | s | |
| execution | max_time_ms | flujo.executor.execution.max_duration | G | s | warning > 5 s |
| execution | total / successful / failed_executions | flujo.executor.executions | C | {execution} | |
| execution | (derived) failed / total | flujo.executor.execution.failure_ratio | G | 1 | warning > 0.1 |
| cache | hit_rate | flujo.executor.cache.hit_ratio | G | 1 | warning < 0.3, critical < 0.1 |
| cache | size | flujo.executor.cache.size | UDC | {entry} | warning > 0.8 x cache.max (when known) |
| cache | capacity (extension key, or configured) | flujo.executor.cache.max | UDC | {entry} | |
| cache | utilization | flujo.executor.cache.utilization | G | 1 | warning > 0.9 |
| cache | evictions | flujo.executor.cache.evictions | C | {eviction} | none by default (rate thresholds allowed) |
| cache | misses | flujo.executor.cache.misses | C | {miss} | none by default (rate thresholds allowed) |
| concurrency | current_level | flujo.executor.concurrency.level | UDC | {execution} | warning > 0.8 x concurrency.max |
| concurrency | max_level | flujo.executor.concurrency.max | UDC | {execution} | |
| concurrency | avg_wait_time_ms | flujo.executor.concurrency.avg_wait_time | G | s | warning > 0.1 s |
| concurrency | contention_rate | flujo.executor.concurrency.contention_ratio | G | 1 | warning > 0.2 |
| concurrency | queue_size | flujo.executor.queue.size | UDC | {execution} | warning > 50 |
| error_handling | error_rate | flujo.executor.error.ratio | G | 1 | warning > 0.1, critical > 0.3 |
| error_handling | recovery_success_rate | flujo.executor.error.recovery_ratio | G | 1 | warning < 0.5 |
| error_handling | cached_patterns | flujo.executor.error.cached_patterns | UDC | {pattern} | |
| error_handling | circuit_breaker_state | flujo.executor.circuit_breaker.status | UDC | 1 | critical when state = open |
| error_handling | failure_count | flujo.executor.error.consecutive_failures | UDC | {failure} | warning > 5 |
| telemetry | batch_size | flujo.executor.telemetry.batch_size | G | {metric} | |
| telemetry | flush_rate | flujo.executor.telemetry.flush_rate | G | {flush}/s | |
| telemetry | overhead_ms | flujo.executor.telemetry.overhead | G | s | warning > 0.01 s |
| telemetry | metrics_collected | flujo.executor.telemetry.metrics_collected | C | {metric} | |
"""
KINDS = {"G": catalog.Kind.GAUGE, "UDC": catalog.Kind.UP_DOWN_COUNTER, "C": catalog.Kind.COUNTER}


def contract_rows() -> list[list[str]]:
    rows = []
    for line in CONTRACT.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[2].startswith("flujo.executor."):
            rows.append(cells)
    return rows


def test_every_contract_metric_is_in_the_catalog_with_its_kind_and_unit() -> None:
    rows = contract_rows()
    # The contract is the executor's stats; the pipeline category is flujo's runs (issue 14).
    assert len(rows) == len([m for m in catalog.METRICS if m.category != "pipeline"]) == 33
    for _category, _stat, name, kind, unit, _thresholds in rows:
        metric = catalog.BY_NAME[name]
        assert metric.kind is KINDS[kind], name
        assert metric.unit == unit, name


def test_default_thresholds_match_the_contract() -> None:
    from opentelemetry.instrumentation.flujo.tools.generate.metrics_doc import thresholds_text

    for _category, _stat, name, _kind, _unit, contract_text in contract_rows():
        ours = thresholds_text(catalog.BY_NAME[name])
        numbers = re.findall(r"\d+(?:\.\d+)?", contract_text.split("(")[0])
        if "rate thresholds" in contract_text or not contract_text:
            assert ours == "", name
            continue
        assert re.findall(r"\d+(?:\.\d+)?", ours) == numbers, (name, ours, contract_text)
        for word in ("warning", "critical"):
            assert (word in ours) == (word in contract_text), name


def test_no_metric_name_is_a_namespace_of_another() -> None:
    names = [m.name for m in (*catalog.METRICS, *catalog.SELF_METRICS, *catalog.SYNC_METRICS)]
    for name in names:
        assert not any(other.startswith(name + ".") for other in names), name


def test_generated_files_are_current() -> None:
    stale = generate.stale(ROOT)
    assert not stale, f"run `make generate`: stale {stale}"
