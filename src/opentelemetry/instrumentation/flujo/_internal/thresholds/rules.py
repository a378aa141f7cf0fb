"""Threshold rules in the catalog's terms: one rule per metric and level."""

from __future__ import annotations

import fnmatch
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from opentelemetry.instrumentation.flujo._internal.catalog import (
    METRICS,
    Conversion,
    Direction,
    Metric,
)

LEVELS = ("warning", "critical")


@dataclass(frozen=True)
class Rule:
    """``metric`` is in state ``level`` when its value is strictly beyond ``limit``.

    ``limit`` is in the metric's exported unit (By, s, ratio ...); for a relative rule
    it is a fraction of ``relative_to``'s value. A state rule matches when the metric's
    state equals ``state``. A rate rule compares the counter's per-second increase
    over the collection window.

    ``scope`` limits the rule to executor names matching a glob (``checkout``,
    ``checkout-*``); None applies to every name that no scoped rule of the metric
    matches (see :func:`scope_rank`).
    """

    metric: str
    level: str
    direction: Direction
    limit: float = 0.0
    relative_to: str | None = None
    state: str | None = None
    rate: bool = False
    scope: str | None = None


_GLOB_CHARS = re.compile(r"\[[^\]]*\]|[*?]")


def is_glob(scope: str) -> bool:
    return _GLOB_CHARS.search(scope) is not None


def scope_rank(scope: str | None) -> tuple[int, int]:
    """How specific a scope is; the most specific matching scope wins.

    An exact name beats any glob, a glob beats no scope, and of two globs the one
    with more literal characters wins (``checkout-eu-*`` over ``checkout-*``). Equal
    ranks: the rule given later wins (file, then environment, then code).
    """
    if scope is None:
        return (0, 0)
    if not is_glob(scope):
        return (2, len(scope))
    return (1, len(_GLOB_CHARS.sub("", scope)))


def in_scope(scope: str, name: str) -> bool:
    return fnmatch.fnmatchcase(name, scope)


def default_rules() -> tuple[Rule, ...]:
    rules = []
    for metric in METRICS:
        t = metric.thresholds
        if t is None:
            continue
        if t.state is not None:
            rules.append(Rule(metric.name, "critical", t.direction, state=t.state))
            continue
        for level, limit in (("warning", t.warning), ("critical", t.critical)):
            if limit is not None:
                rules.append(Rule(metric.name, level, t.direction, limit, t.relative_to))
    return tuple(rules)


# The one comparison of the engine, the offline report and the rule pairs' check, by
# direction: strict (a value at the limit is within it). C functions, so that the
# engine's comparison per value and checked metric costs no Python frame.
BEYOND: dict[Direction, Callable[[float, float], bool]] = {
    Direction.ABOVE: operator.gt, Direction.BELOW: operator.lt}


def beyond(value: float, limit: float, direction: Direction) -> bool:
    """``value`` is strictly beyond ``limit``."""
    return BEYOND[direction](value, limit)


def level_beyond(value: float, warning: float | None, critical: float | None,
                 direction: Direction) -> int:
    """The worst level whose limit ``value`` is beyond, as its index in the catalog's
    ``THRESHOLD_STATES``: 0 (ok), 1 (warning) or 2 (critical). (The engine inlines it.)"""
    past = BEYOND[direction]
    return 2 if critical is not None and past(value, critical) else \
        1 if warning is not None and past(value, warning) else 0


def value_key(metric: Metric) -> str:
    """Where the metric's value is in a snapshot group's values."""
    return metric.name if metric.derived else metric.stats[0].id


def is_state_metric(metric: Metric) -> bool:
    return metric.stats[0].conversion is Conversion.STATE


def pair_problem(rules: list[Rule]) -> str | None:
    """Why a metric's warning and critical rules contradict each other, or None."""
    by_level = {rule.level: rule for rule in rules}
    warning, critical = by_level.get("warning"), by_level.get("critical")
    if warning is None or critical is None:
        return None
    if warning.state is not None or critical.state is not None:
        return "warning and critical are the same state" if warning.state == critical.state \
            else None
    if warning.direction is not critical.direction:
        return (f"warning is {warning.direction.value} a limit but critical is "
                f"{critical.direction.value} one")
    if (warning.relative_to, warning.rate) != (critical.relative_to, critical.rate):
        return "warning and critical limits are not of the same kind"
    if not beyond(critical.limit, warning.limit, warning.direction):
        sign = ">" if warning.direction is Direction.ABOVE else "<"
        return (f"warning {sign} {warning.limit:g} is beyond critical {sign} "
                f"{critical.limit:g} (it could never be reached)")
    return None
