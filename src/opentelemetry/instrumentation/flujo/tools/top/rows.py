"""The dashboard's rows, independent of how they are drawn (rich table or plain text)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from opentelemetry.instrumentation.flujo._internal.catalog import (
    BY_NAME,
    METRICS,
    PREFIX,
    Direction,
)
from opentelemetry.instrumentation.flujo._internal.formatting import human
from opentelemetry.instrumentation.flujo._internal.samples import (
    Sample,
    is_limit,
    label,
    levels_for,
)
from opentelemetry.instrumentation.flujo.tools.analysis.limits import (
    Limits,
    default_limits,
    level_of,
    recorded_limits,
    state_rule,
)
from opentelemetry.instrumentation.flujo.tools.top.board import Board

_ORDER = {m.name: i for i, m in enumerate(METRICS)}


@dataclass(frozen=True)
class Row:
    label: str
    value: str
    warning: str = ""
    critical: str = ""
    state: str = ""  # ok | warning | critical, "" when the metric has no threshold
    assumed: bool = False  # state from the default limits: the data carried none


def _state_set_row(metric: str, points: list[Sample], state: str | None) -> Row:
    """One row for a state-set metric: the state whose point is 1."""
    current = next((dict(p.attributes) for p in points if p.value >= 1), {})
    value = ",".join(current.values()) or "?"
    rule = state_rule(metric)
    assumed = state is None and rule is not None
    if state is None and rule is not None:
        state = "critical" if value == rule.state else "ok"
    return Row(metric.removeprefix(PREFIX), value, state=state or "", assumed=assumed)


def _limits(board: Board, executor: str, metric: str,
            reference: Callable[[str], float | None]) -> tuple[Limits | None, bool]:
    recorded = levels_for(board.thresholds.limits, executor, metric)
    limits = recorded_limits(metric, recorded)
    if limits is not None:
        return limits, False
    return default_limits(metric, reference), True


def limit_text(limit: float, unit: str, direction: Direction) -> str:
    """``> 500 MiB``, ``< 30%``: the side a value breaches it on, and a limit on a count
    as the whole number that says the same (``> 102.4`` entries is ``> 102``, a relative
    limit: 80 % of 128)."""
    if unit.startswith("{") and not unit.endswith("/s"):
        limit = math.floor(limit) if direction is Direction.ABOVE else math.ceil(limit)
    return f"{'>' if direction is Direction.ABOVE else '<'} {human(limit, unit)}"


def executor_rows(board: Board, executor: str) -> list[Row]:
    points = sorted((s for (e, _, _), s in board.latest.items()
                     if e == executor and not is_limit(s.metric)),
                    key=lambda s: (_ORDER.get(s.metric, len(_ORDER)), s.metric, s.attributes))
    plain = {s.metric: s.value for s in points if not s.attributes}
    rows: list[Row] = []
    done: set[str] = set()
    for s in points:
        metric = BY_NAME.get(s.metric)
        state = board.thresholds.states.get((executor, s.metric))
        if metric is not None and metric.thresholds and metric.thresholds.state:
            if s.metric not in done:
                done.add(s.metric)
                rows.append(_state_set_row(
                    s.metric, [p for p in points if p.metric == s.metric], state))
            continue
        limits, assumed = _limits(board, executor, s.metric, plain.get)
        name, value = label(s.metric, s.attributes), human(s.value, s.unit)
        if limits is None:
            rows.append(Row(name, value, state=state or ""))
            continue
        shown = {level: limit_text(v, s.unit, limits.direction)
                 for level, v in limits.levels.items()}
        rows.append(Row(name, value, shown.get("warning", ""),
                        shown.get("critical", ""), state or level_of(s.value, limits),
                        assumed=state is None and assumed))
    return rows


def executors(board: Board) -> list[str]:
    return sorted({e for (e, _, _) in board.latest if e})


def plain_text(board: Board) -> str:
    """The dashboard as plain text, for pipes and logs."""
    lines = []
    for executor in executors(board):
        for row in executor_rows(board, executor):
            status = row.state + ("*" if row.assumed else "")
            lines.append(f"{executor:<12} {row.label:<40} {row.value:>14} {status}".rstrip())
    return "\n".join(lines) if lines else "(no data yet)"
