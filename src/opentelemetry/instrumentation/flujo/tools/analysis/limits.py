"""Static comparisons against threshold limits, for data that carries no threshold state.

The threshold engine (with its alert timing) is the authority: where its state or limits
were recorded, they are used. This module only fills the gap for data without them
(an app without the engine, an old recording): a value strictly beyond the catalog's
default limit (``thresholds.rules.default_rules``) is in that level.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from opentelemetry.instrumentation.flujo._internal.catalog import (
    BY_NAME,
    THRESHOLD_STATES,
    Direction,
)
from opentelemetry.instrumentation.flujo._internal.thresholds.rules import (
    Rule,
    default_rules,
    level_beyond,
)


@dataclass(frozen=True)
class Limits:
    direction: Direction
    levels: Mapping[str, float]  # level -> absolute limit, in the metric's unit


@lru_cache(maxsize=1)
def _rules() -> dict[str, tuple[Rule, ...]]:
    out: dict[str, list[Rule]] = {}
    for rule in default_rules():
        out.setdefault(rule.metric, []).append(rule)
    return {metric: tuple(rules) for metric, rules in out.items()}


def state_rule(metric: str) -> Rule | None:
    """The rule of a state-set metric (the circuit breaker): critical in ``rule.state``."""
    return next((r for r in _rules().get(metric, ()) if r.state is not None), None)


def default_limits(metric: str, reference: Callable[[str], float | None]) -> Limits | None:
    """The default limits of ``metric``; relative ones multiplied by ``reference(other)``,
    and left out when that other metric has no value."""
    levels: dict[str, float] = {}
    direction = None
    for rule in _rules().get(metric, ()):
        if rule.state is not None or rule.rate:
            continue
        direction = rule.direction
        if rule.relative_to is None:
            levels[rule.level] = rule.limit
        else:
            base = reference(rule.relative_to)
            if base is not None:
                levels[rule.level] = rule.limit * base
    return Limits(direction, levels) if direction is not None and levels else None


def warning_limit(metric: str) -> float | None:
    """The default warning limit of ``metric`` (its critical one when it has no warning
    level): the yardstick of how big a change of it is. None for relative limits."""
    limits = default_limits(metric, lambda _: None)
    if limits is None:
        return None
    return limits.levels.get("warning", limits.levels.get("critical"))


def recorded_limits(metric: str, levels: Mapping[str, float]) -> Limits | None:
    """Limits the threshold engine exported, with the catalog's direction."""
    thresholds = BY_NAME[metric].thresholds if metric in BY_NAME else None
    if thresholds is None or not levels:
        return None
    return Limits(thresholds.direction, dict(levels))


def level_of(value: float, limits: Limits) -> str:
    """The worst level whose limit ``value`` is strictly beyond; ``ok`` otherwise."""
    index = level_beyond(value, limits.levels.get("warning"), limits.levels.get("critical"),
                         limits.direction)
    return THRESHOLD_STATES[index]


def good_direction(metric: str) -> str | None:
    """``lower`` or ``higher`` is better, from the threshold direction; None when unclear.

    Metrics whose limit is relative to another metric (cache size vs capacity) have no
    direction of their own: a bigger cache is fine when the capacity grew too. State-set
    metrics (the circuit breaker) have none either: each state is its own series.
    """
    thresholds = BY_NAME[metric].thresholds if metric in BY_NAME else None
    if thresholds is None or thresholds.relative_to or thresholds.state:
        return None
    return "lower" if thresholds.direction is Direction.ABOVE else "higher"
