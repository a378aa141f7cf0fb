from __future__ import annotations

import logging
import math
from collections import Counter
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from opentelemetry.instrumentation.flujo._internal.catalog import MIB
from opentelemetry.instrumentation.flujo._internal.collect.normalise import (
    EXAMINED_KEYS,
    Normaliser,
)

from conftest import full_stats, log_now


def normalise(raw: Any, rate_unit: str = "percent") -> tuple[dict[str, Any], Counter[str]]:
    dropped: Counter[str] = Counter()
    return Normaliser(rate_unit, log_now).normalise(raw, dropped), dropped


@pytest.mark.parametrize(
    ("bad", "reason"),
    [("N/A", "not_a_number"), (None, "null"), (math.nan, "non_finite"), (math.inf, "non_finite"),
     (True, "bool"), (-1, "negative"), ([1], "not_a_number"), ({"a": 1}, "not_a_number"),
     (10**400, "non_finite"), ("42", "not_a_number"), (b"1", "not_a_number")],
)
def test_a_bad_value_is_absent_never_zero_and_counted(bad: Any, reason: str) -> None:
    values, dropped = normalise(full_stats(memory__usage_mb=bad, cache__misses=bad))
    assert "memory.usage_mb" not in values
    assert "cache.misses" not in values
    assert dropped == Counter({reason: 2})
    assert values["memory.objects_in_pool"] == 12  # the rest survives


def test_missing_keys_and_categories_are_absent_and_not_counted() -> None:
    values, dropped = normalise({"memory": {"usage_mb": 1}})
    assert values == {"memory.usage_mb": MIB}
    assert not dropped


def test_non_mapping_stats_and_sections_are_counted() -> None:
    assert normalise(["memory"]) == ({}, Counter({"not_a_mapping": 1}))
    values, dropped = normalise({"memory": "full", "cache": {"size": 3}})
    assert values == {"cache.size": 3}
    assert dropped == Counter({"not_a_mapping": 1})


def test_conversions_to_otel_units() -> None:
    values, _ = normalise(full_stats())
    assert values["memory.usage_mb"] == 256 * MIB
    assert values["memory.allocation_rate_mb_s"] == 2 * MIB
    assert values["execution.avg_time_ms"] == pytest.approx(0.12)
    assert values["cache.hit_rate"] == pytest.approx(0.6)
    assert values["memory.pressure_level"] == 0.25  # always 0..1, never percent
    assert values["error_handling.circuit_breaker_state"] == "closed"


def test_percent_and_ratio_inputs_give_the_same_values() -> None:
    percent, _ = normalise(full_stats())
    ratio_stats = full_stats()
    for category, key in [("memory", "object_pool_utilization"), ("memory", "pool_hit_rate"),
                          ("memory", "pool_miss_rate"), ("cache", "hit_rate"),
                          ("cache", "utilization"), ("concurrency", "contention_rate"),
                          ("error_handling", "error_rate"),
                          ("error_handling", "recovery_success_rate")]:
        ratio_stats[category][key] /= 100
    ratio, _ = normalise(ratio_stats, "ratio")
    assert ratio == pytest.approx(percent)


def test_ratios_beyond_one_are_out_of_range_and_at_one_kept() -> None:
    values, dropped = normalise(full_stats(cache__hit_rate=150.0, memory__pressure_level=1.5))
    assert "cache.hit_rate" not in values and "memory.pressure_level" not in values
    assert dropped == Counter({"out_of_range": 2})
    # 100 % (an int: the fast path) is 1.0; just past it is refused
    values, dropped = normalise({"memory": {"pool_hit_rate": 100, "pool_miss_rate": 100.5}})
    assert values == {"memory.pool_hit_rate": 1.0}
    assert dropped == Counter({"out_of_range": 1})
    # Percent figures read as ratios are out of range: all eight rates of the schema.
    _, dropped = normalise(full_stats(), "ratio")
    assert dropped == Counter({"out_of_range": 8})


@pytest.mark.parametrize(("raw", "state"), [("OPEN", "open"), ("half-open", "half_open"),
                                            ("Half_Open", "half_open"), (" closed ", "closed")])
def test_circuit_states_in_any_case(raw: str, state: str) -> None:
    values, _ = normalise(full_stats(error_handling__circuit_breaker_state=raw))
    assert values["error_handling.circuit_breaker_state"] == state


@pytest.mark.parametrize("raw", ["BROKEN", 1, "", None])
def test_unknown_circuit_states_are_absent(raw: Any) -> None:
    values, dropped = normalise(full_stats(error_handling__circuit_breaker_state=raw))
    assert "error_handling.circuit_breaker_state" not in values
    assert sum(dropped.values()) == 1


def test_other_real_number_types_are_accepted() -> None:
    values, dropped = normalise({"cache": {"size": Decimal("3"), "misses": Fraction(7, 1)}})
    assert values == {"cache.size": 3.0, "cache.misses": 7.0}
    assert not dropped


def test_an_unknown_key_is_counted_and_warned_once_per_name_and_key(
        caplog: pytest.LogCaptureFixture) -> None:
    normaliser = Normaliser("percent", log_now)
    dropped: Counter[str] = Counter()
    stats = {"memory": {"current_usage_mb": 300}, "cache": {"max_size": 10, "size": 3},
             "caching": {"hits": 1}}
    with caplog.at_level(logging.WARNING):
        for name in ("api", "api", "worker"):
            values = normaliser.normalise(stats, dropped, name)
    assert values == {"cache.size": 3}
    assert dropped == Counter({"unknown": 9})  # three per read: counted on every read
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 6, warnings  # once per executor name and key
    assert warnings[0].startswith(
        "executor 'api' reports stat memory.current_usage_mb, which the metric catalog does "
        "not know, so it is not exported; the closest known is memory.usage_mb (counted in "
        'flujo.otel.stats.dropped{reason="unknown"}')
    assert "stat cache.max_size" in warnings[1] and "closest known is cache.size" in warnings[1]
    assert "stats category caching" in warnings[2] and "closest known is cache " in warnings[2]
    assert all("'worker'" in w for w in warnings[3:])


def test_unknown_keys_cost_a_bounded_look_per_read(caplog: pytest.LogCaptureFixture) -> None:
    section = {f"junk{i}": i for i in range(100_000)} | {"usage_mb": 1}
    with caplog.at_level(logging.WARNING):
        values, dropped = normalise({"memory": section, "execution": {"\n": 1}})
    assert values == {"memory.usage_mb": MIB}
    assert dropped == Counter({"unknown": 100_001})
    assert len(caplog.records) == EXAMINED_KEYS + 1
    assert "stat execution.'\\n'" in caplog.records[-1].getMessage()  # shown escaped


@pytest.mark.parametrize(("nothing", "something", "ratio"), [
    ({"cache": {"hit_rate": 0, "misses": 0}}, {"cache": {"hit_rate": 0, "misses": 4}},
     "cache.hit_rate"),
    ({"memory": {"pool_hit_rate": 0, "pool_miss_rate": 0}},
     {"memory": {"pool_hit_rate": 0, "pool_miss_rate": 100}}, "memory.pool_hit_rate"),
    ({"execution": {"total_executions": 0}, "error_handling": {"error_rate": 0}},
     {"execution": {"total_executions": 9}, "error_handling": {"error_rate": 0}},
     "error_handling.error_rate"),
    ({"execution": {"total_executions": 0}, "concurrency": {"contention_rate": 0}},
     {"execution": {"total_executions": 9}, "concurrency": {"contention_rate": 0}},
     "concurrency.contention_rate"),
    ({"error_handling": {"error_rate": 0, "recovery_success_rate": 0}},
     {"error_handling": {"error_rate": 10, "recovery_success_rate": 0}},
     "error_handling.recovery_success_rate"),
])
def test_a_ratio_of_nothing_is_absent_not_zero(nothing: dict[str, Any], something: dict[str, Any],
                                               ratio: str) -> None:
    values, dropped = normalise(nothing)
    assert ratio not in values  # 0 % of no look-ups (requests, executions) would alert
    assert dropped["undefined"] >= 1
    values, dropped = normalise(something)  # with a denominator, 0 is a real 0
    assert values[ratio] == 0 and not dropped
