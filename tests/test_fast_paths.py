"""The fast paths give exactly what the general paths give: the collection's, and the
flujo hooks' remembered model ids."""

from __future__ import annotations

import gc
import math
import sys
from collections import Counter
from fractions import Fraction
from typing import Any

import pytest

from opentelemetry.instrumentation.flujo._internal.catalog import COUNTER_STATS
from opentelemetry.instrumentation.flujo._internal.collect.normalise import Normaliser
from opentelemetry.instrumentation.flujo._internal.collect.registry import (
    COUNTERS,
    ExecutorEntry,
    Registry,
)
from opentelemetry.instrumentation.flujo._internal.flujo_hooks.agent_calls import ModelIds

from conftest import log_now

EDGE_VALUES: list[Any] = [
    0, 7, 100, 101, -1, 2**1100, 0.0, 42.5, 100.0, 100.5, -0.5, math.nan, math.inf,
    -math.inf, True, None, "12", Fraction(1, 2), 10**20, -0.0, sys.float_info.max, 2.0**1004,
    2**1023,
]


class IntSubclass(int):
    pass


@pytest.mark.parametrize("value", EDGE_VALUES)
def test_exact_types_and_their_look_alikes_normalise_alike(value: Any) -> None:
    """A float or int takes the fast path; an int subclass or Fraction the general one."""
    normaliser = Normaliser("percent", log_now)
    stats = {"memory": {"pool_hit_rate": value, "usage_mb": value, "objects_in_pool": value},
             "execution": {"avg_time_ms": value}}
    fast_drops: Counter[str] = Counter()
    fast = normaliser.normalise(stats, fast_drops)
    if type(value) in (int, float) and abs(value) < 2**1000 and math.isfinite(value):
        slow_value: Any = Fraction(value) if value == int(value) else value
        slow_value = IntSubclass(value) if isinstance(value, int) else slow_value
    else:
        slow_value = value
    slow_drops: Counter[str] = Counter()
    slow = Normaliser("percent", log_now).normalise(
        {k: {kk: slow_value for kk in v} for k, v in stats.items()}, slow_drops)
    assert fast == slow
    assert fast_drops == slow_drops


def _monotonic(entry: ExecutorEntry, stat: str, raw: float | None) -> float | None:
    """The entry's monotonic value of counter ``stat`` after reading ``raw``."""
    totals: list[float | None] = [None] * len(COUNTERS)
    entry.add_counters({} if raw is None else {stat: raw}, totals)
    return totals[COUNTERS.index(stat)]


def test_counter_state_survives_resets_gaps_and_retirement() -> None:
    class Source:
        pass

    registry = Registry()
    source = Source()
    entry = registry.add(source, "a")
    stat = "execution.total_executions"
    assert _monotonic(entry, stat, None) is None
    assert [_monotonic(entry, stat, v) for v in (5.0, 7.0, 2.0, None, 3.0)] == [
        5.0, 7.0, 9.0, 9.0, 10.0]
    other = sorted(COUNTER_STATS - {stat})[0]
    assert _monotonic(entry, other, None) is None
    assert _monotonic(entry, other, 4.0) == 4.0
    registry.remove(source)
    # Only counters ever read are retired, with their reset offsets.
    assert entry.group.retired == {stat: 10.0, other: 4.0}
    assert registry.groups() == [entry.group]


def test_one_read_adds_every_counter_to_the_totals() -> None:
    class Source:
        pass

    entry = Registry().add(Source(), "a")
    totals: list[float | None] = [1.0] + [None] * (len(COUNTERS) - 1)
    entry.add_counters({stat: float(i) for i, stat in enumerate(COUNTERS)}, totals)
    assert totals == [1.0] + [float(i) for i in range(1, len(COUNTERS))]


def test_retired_totals_keep_a_shared_name_monotonic() -> None:
    class Source:
        pass

    registry = Registry()
    first, second = Source(), Source()
    stat = "cache.misses"
    entry = registry.add(first, "shared")
    registry.add(second, "shared")
    _monotonic(entry, stat, 10.0)
    _monotonic(entry, stat, 4.0)  # a reset: 14 so far
    registry.remove(first)
    assert registry.groups()[0].retired == {stat: 14.0}


class Agent:
    def __init__(self, model_id: str | None) -> None:
        self.model_id = model_id


class SlottedAgent:  # takes no weak reference
    __slots__ = ("model_id",)

    def __init__(self, model_id: str | None) -> None:
        self.model_id = model_id


def test_an_agents_model_id_is_asked_of_flujo_once_while_the_agent_lives() -> None:
    asked: list[Any] = []

    def model_of(agent: Any, step_name: str) -> str | None:  # as flujo's extract_model_id
        asked.append(agent)
        return getattr(agent, "model_id", None)

    model_ids = ModelIds(model_of)
    llm, callable_step, slotted = Agent("openai:gpt-4o"), Agent(None), SlottedAgent("x:y")
    for _ in range(3):
        assert model_ids(llm, "s") == "openai:gpt-4o"
        assert model_ids(callable_step, "s") is None
        assert model_ids(slotted, "s") == "x:y"
        assert model_ids(None, "s") is None  # flujo warns about a missing agent: asked
    assert asked == [llm, callable_step, slotted, None] + [slotted, None] * 2
    # a dead agent's entry goes with it: a new agent (at the same address or not) is
    # asked about, never answered with the old one's id
    del llm
    gc.collect()
    asked.clear()
    successor = Agent("anthropic:claude-sonnet-4")
    assert model_ids(successor, "s") == "anthropic:claude-sonnet-4"
    assert asked == [successor]
