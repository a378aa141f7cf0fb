"""Threshold rules in the catalog's terms: one rule per metric and level."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.instrumentation.flujo.catalog import METRICS, Direction

LEVELS = ("warning", "critical")


@dataclass(frozen=True)
class Rule:
    """``metric`` is in state ``level`` when its value is strictly beyond ``limit``.

    ``limit`` is in the metric's exported unit (By, s, ratio ...); for a relative rule
    it is a fraction of ``relative_to``'s value. A state rule matches when the metric's
    state equals ``state``. A rate rule compares the counter's per-second increase
    over the collection window.
    """

    metric: str
    level: str
    direction: Direction
    limit: float = 0.0
    relative_to: str | None = None
    state: str | None = None
    rate: bool = False


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
