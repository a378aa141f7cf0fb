"""Fault matrix 3: garbage from a source, fuzzed with hypothesis.

10,000 random documents through normalisation, combining and a full snapshot, and a
smaller run through a real MeterProvider collection: nothing escapes into the host,
every refused value is counted, every exported value is a finite number.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from decimal import Decimal
from fractions import Fraction
from numbers import Real
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faults import DROPPED, Source, budgeted_runtime
from opentelemetry.instrumentation.flujo import instrument_executor
from opentelemetry.instrumentation.flujo._internal.catalog import (
    CATEGORIES,
    CIRCUIT_STATES,
    COUNTER_STATS,
    FAILURE_RATIO,
    STATS,
    Conversion,
)
from opentelemetry.instrumentation.flujo._internal.collect.fetch import TRUSTED_AFTER, StatsFetcher
from opentelemetry.instrumentation.flujo._internal.collect.normalise import Normaliser
from opentelemetry.instrumentation.flujo._internal.collect.registry import Registry
from opentelemetry.instrumentation.flujo._internal.collect.snapshot import SnapshotTaker

from conftest import StaticExecutor, collect, log_now

RATIO_STATS = frozenset(
    s.id for s in STATS if s.conversion in (Conversion.RATE, Conversion.RATIO))
STATE_STATS = frozenset(s.id for s in STATS if s.conversion.name == "STATE")
KEYS_BY_CATEGORY = {c: [s.key for s in STATS if s.category == c] for c in CATEGORIES}


class BadFloat(Real):
    """A Real whose conversion to float raises something unexpected."""

    def __float__(self) -> float:
        raise RuntimeError("no float for you")

    # The rest of the Real ABC, never reached by normalisation.
    __abs__ = __add__ = __ceil__ = __eq__ = __floor__ = __floordiv__ = __le__ = __lt__ = (
        __mod__) = __mul__ = __neg__ = __pos__ = __pow__ = __radd__ = __rfloordiv__ = (
        __rmod__) = __rmul__ = __round__ = __rpow__ = __rtruediv__ = __truediv__ = (
        __trunc__) = lambda *a: NotImplemented
    __hash__ = object.__hash__


class HostileMapping(Mapping[Any, Any]):
    """A Mapping that raises from every look-up."""

    def __getitem__(self, key: Any) -> Any:
        raise RuntimeError("hostile")

    def __iter__(self) -> Iterator[Any]:
        raise RuntimeError("hostile")

    def __len__(self) -> int:
        return 1


def _deep(depth: int) -> Any:
    node: Any = {"total_executions": 1}
    for _ in range(depth):
        node = {"execution": node, "memory": [node]}
    return node


# Built once: a section with every stat key and 100,000 junk keys, and deep nesting.
HUGE = {c: {**{f"junk{i}": i for i in range(100_000)}, **{k: 1 for k in KEYS_BY_CATEGORY[c]}}
        for c in CATEGORIES}
DEEP = _deep(5_000)

leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.just(10**400), st.just(-(10**400)),
    st.floats(), st.floats(min_value=0, max_value=100), st.text(max_size=12),
    st.sampled_from(["N/A", "OPEN", "closed", "half-open", " Half_Open ", "nan", "1e999", ""]),
    st.binary(max_size=6), st.fractions(), st.decimals(), st.complex_numbers(),
    st.just(BadFloat()), st.just(Fraction(10**400, 3)), st.builds(object),
)
keys = st.one_of(st.sampled_from([s.key for s in STATS]), st.sampled_from(CATEGORIES),
                 st.text(max_size=8), st.integers(), st.none(), st.tuples(st.integers()))
anything = st.recursive(
    leaves,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=4),
    max_leaves=6,
)
sections = st.one_of(
    st.fixed_dictionaries({}, optional={k: anything for k in KEYS_BY_CATEGORY["execution"]}),
    st.dictionaries(keys, anything, max_size=8),
    anything,
    st.just(HostileMapping()),
)
documents = st.one_of(
    st.fixed_dictionaries({}, optional={c: st.fixed_dictionaries(
        {}, optional={k: leaves for k in KEYS_BY_CATEGORY[c]}) for c in CATEGORIES}),
    st.dictionaries(st.sampled_from(CATEGORIES) | keys, sections, max_size=7),
    anything,
    st.sampled_from([HUGE, DEEP, HostileMapping()]),
)


# The 10,000-example property: hypothesis draws a shape and a seed, and a seeded
# builder makes the garbage. Three draws per example instead of hundreds keeps
# 10,000 examples within seconds; a failure prints (shape, seed), which rebuilds
# the same document with build_document().
SPECIAL_LEAVES: tuple[Any, ...] = (
    None, True, False, 0, -1, 10**400, -(10**400), 2**63, 1e308, -0.0, 5e-324,
    math.nan, math.inf, -math.inf, "N/A", "OPEN", "closed", "half-open", " Half_Open ",
    "nan", "1e999", "", "\x00", "\u202e", b"\xff", Fraction(10**400, 3), Fraction(1, 3),
    Decimal("NaN"), Decimal("1e999"), complex(1, 1), BadFloat(), object(), [], {}, (1,),
)
STRANGE_KEYS: tuple[Any, ...] = (
    None, 0, 1, True, -1.5, (), ("execution",), frozenset({"memory"}), "", " execution",
    "EXECUTION", "total_executions ", "\u202etotal", "\x00", "💥", *CATEGORIES,
    *(s.key for s in STATS),
)


def _leaf(rng: random.Random) -> Any:
    pick = rng.random()
    if pick < 0.35:
        return rng.choice(SPECIAL_LEAVES)
    if pick < 0.55:
        return rng.uniform(0, 120)
    if pick < 0.7:
        return rng.randint(-(2**70), 2**70)
    if pick < 0.8:
        if rng.random() < 0.5:
            return rng.expovariate(1e-300)
        return rng.random() * 10 ** rng.randint(-5, 308)
    return "".join(chr(rng.randint(0, 0x10FFFF) if rng.random() < 0.3 else rng.randint(32, 126))
                   for _ in range(rng.randint(0, 8))).encode("utf-8", "replace").decode(
                       "utf-8", "replace")


def _anything(rng: random.Random, budget: int) -> Any:
    if budget <= 0 or rng.random() < 0.5:
        return _leaf(rng)
    if rng.random() < 0.3:
        return [_anything(rng, budget // 2) for _ in range(rng.randint(0, 3))]
    return {rng.choice(STRANGE_KEYS): _anything(rng, budget // 2) for _ in range(rng.randint(0, 4))}


def _schema(rng: random.Random) -> dict[Any, Any]:
    doc: dict[Any, Any] = {}
    for category, stat_keys in KEYS_BY_CATEGORY.items():
        roll = rng.random()
        if roll < 0.15:
            continue
        if roll < 0.25:
            doc[category] = _anything(rng, 4)  # often not a mapping
            continue
        doc[category] = {key: (_leaf(rng) if rng.random() < 0.8 else _anything(rng, 6))
                         for key in stat_keys if rng.random() < 0.7}
        for _ in range(rng.randint(0, 3)):
            doc[category][rng.choice(STRANGE_KEYS)] = _anything(rng, 4)
    return doc


SHAPES = {
    "schema": _schema,
    "random": lambda rng: _anything(rng, 32),
    "strange_top_keys": lambda rng: {rng.choice(STRANGE_KEYS): _schema(rng).get(
        rng.choice(CATEGORIES)) for _ in range(rng.randint(1, 8))},
    "deep": lambda rng: _deep(rng.randint(100, 2_000)),
    "huge": lambda rng: HUGE,
    "hostile": lambda rng: rng.choice([HostileMapping(), {rng.choice(CATEGORIES):
                                                          HostileMapping()}]),
}


def build_document(shape: str, seed: int) -> Any:
    return SHAPES[shape](random.Random(seed))


NORMALISER = Normaliser("percent", log_now)
FETCHER = StatsFetcher()  # shared: one worker pool for every example


def _expected_reads(raw: Any) -> tuple[int, int, int]:
    """(values that must be produced or counted, sections that are not mappings, keys
    and categories the catalog does not know)."""
    if not isinstance(raw, Mapping):
        return 0, 1, 0
    present = not_mapping = 0
    unknown = sum(1 for category in raw if category not in KEYS_BY_CATEGORY)
    for category, stat_keys in KEYS_BY_CATEGORY.items():
        section = raw.get(category)
        if section is None:
            continue
        if not isinstance(section, Mapping):
            not_mapping += 1
            continue
        known = sum(1 for key in stat_keys if key in section)
        present += known
        unknown += len(section) - known
    return present, not_mapping, unknown


def _check_values(values: Mapping[str, Any]) -> None:
    for stat_id, v in values.items():
        if stat_id in STATE_STATS:
            assert v in CIRCUIT_STATES
            continue
        assert type(v) is float, (stat_id, v)
        assert math.isfinite(v), (stat_id, v)
        assert v >= 0, (stat_id, v)
        if stat_id in RATIO_STATS or stat_id == FAILURE_RATIO:
            assert v <= 1.0, (stat_id, v)


def _hostile(raw: Any) -> bool:
    return isinstance(raw, HostileMapping) or (
        isinstance(raw, Mapping) and any(isinstance(raw.get(c), HostileMapping)
                                         for c in CATEGORIES))


HEALTHY = {"execution": {"total_executions": 50, "successful_executions": 40,
                         "failed_executions": 10}}
RESTARTED = {"execution": {"total_executions": 3, "successful_executions": 3,
                           "failed_executions": 0}}


@pytest.mark.slow  # 10,000 examples: ~20 s of CPU, a minute on a busy machine
@settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(shape=st.sampled_from(sorted(SHAPES)), seed=st.integers(0, 2**64 - 1),
       same_name=st.booleans())
def test_fuzzed_stats_never_escape_and_every_drop_is_counted(
    shape: str, seed: int, same_name: bool
) -> None:
    raw = build_document(shape, seed)
    # 1. normalisation alone: each present stat value is either produced or counted
    if not _hostile(raw):
        dropped: Counter[str] = Counter()
        values = NORMALISER.normalise(raw, dropped)
        present, not_mapping, unknown = _expected_reads(raw)
        assert dropped["not_a_mapping"] == not_mapping
        assert dropped["unknown"] == unknown
        assert len(values) + sum(dropped.values()) - not_mapping - unknown == present
        _check_values(values)

    # 2. a full snapshot, twice, of the fuzzed executor next to a healthy one that
    # then restarts (and takes the garbage): never raises, counters never go back.
    registry = Registry()
    taker = SnapshotTaker(registry, NORMALISER, 5.0, FETCHER, time.monotonic_ns, log_now)
    fuzzed, healthy = StaticExecutor(raw), StaticExecutor(HEALTHY)
    for executor, name in ((fuzzed, "fuzz"), (healthy, "fuzz" if same_name else "other")):
        # Read inline: the worker hand-off is fault-tested elsewhere, here it is only time.
        registry.add(executor, name).fast_reads = TRUSTED_AFTER
    before = taker.take()
    fuzzed.stats, healthy.stats = RESTARTED, raw
    after = taker.take()
    for snapshot in (before, after):
        assert {reason for _, reason in snapshot.errors} <= {"invalid_stats"}
        for group in snapshot.groups:
            _check_values(group.values)
    earlier = {g.name: g.values for g in before.groups}
    for group in after.groups:
        for stat_id in COUNTER_STATS & earlier.get(group.name, {}).keys() & group.values.keys():
            assert group.values[stat_id] >= earlier[group.name][stat_id]


_E2E: dict[str, Any] = {}


def _e2e_runtime() -> tuple[Any, Any]:
    """One runtime and MeterProvider for every example (creating them is the slow part)."""
    if not _E2E:
        _E2E["context"] = budgeted_runtime(budget_s=5.0)
        _E2E["runtime"], _E2E["reader"] = _E2E["context"].__enter__()
        _E2E["dropped"] = Counter()
    return _E2E["runtime"], _E2E["reader"]


def teardown_module() -> None:
    if _E2E:
        _E2E["context"].__exit__(None, None, None)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=documents)
def test_fuzzed_stats_through_a_meter_provider_export_only_finite_numbers(raw: Any) -> None:
    runtime, reader = _e2e_runtime()
    runtime.registry.clear()
    source = Source(lambda _call: raw)  # held: the registry's reference is weak
    instrument_executor(source, "fuzz")
    points = collect(reader)
    expected: Counter[str] = _E2E["dropped"]
    try:  # a hostile mapping raises part-way: what was counted by then stays counted
        NORMALISER.normalise(raw, expected)
    except RuntimeError:
        assert _hostile(raw)
    exported = {dict(attrs)["reason"]: v for (name, attrs), v in points.items() if name == DROPPED}
    assert exported == {reason: n for reason, n in expected.items() if n}
    for (name, _), v in points.items():
        if not name.startswith("flujo.otel."):
            assert isinstance(v, (int, float)), (name, v)
            assert math.isfinite(v), (name, v)
