from __future__ import annotations

import math
from collections import Counter
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from opentelemetry.instrumentation.flujo._internal.catalog import MIB
from opentelemetry.instrumentation.flujo._internal.collect.normalise import Normaliser

from conftest import full_stats


def normalise(raw: Any, rate_unit: str = "percent") -> tuple[dict[str, Any], Counter[str]]:
    dropped: Counter[str] = Counter()
    return Normaliser(rate_unit).normalise(raw, dropped), dropped


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


def test_ratios_beyond_one_are_out_of_range() -> None:
    values, dropped = normalise(full_stats(cache__hit_rate=150.0, memory__pressure_level=1.5))
    assert "cache.hit_rate" not in values and "memory.pressure_level" not in values
    assert dropped == Counter({"out_of_range": 2})
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
