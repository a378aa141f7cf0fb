"""Evaluation: each snapshot's values against the compiled rules, with hysteresis.

Runs once per snapshot, on the collection thread, so it is kept to a dictionary look-up
and a comparison or two per metric: rules are compiled per metric ahead of time, and
the observations a state or a fixed limit produces are built once per executor name
and reused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from opentelemetry.metrics import Observation

from opentelemetry.instrumentation.flujo._internal.alerts.event import AlertEvent
from opentelemetry.instrumentation.flujo._internal.catalog import (
    BY_NAME,
    EXECUTOR_NAME,
    THRESHOLD_LEVEL,
    THRESHOLD_METRIC,
    THRESHOLD_PREFIX,
    THRESHOLD_STATE,
    THRESHOLD_STATES,
    Direction,
    Metric,
)
from opentelemetry.instrumentation.flujo._internal.collect.snapshot import Snapshot
from opentelemetry.instrumentation.flujo._internal.thresholds.limit_syntax import rate_unit
from opentelemetry.instrumentation.flujo._internal.thresholds.rules import (
    LEVELS,
    Rule,
    is_state_metric,
    level_beyond,
    value_key,
)

OK, WARNING, CRITICAL = 0, 1, 2


@dataclass(frozen=True)
class Check:
    """Every rule of one metric, ready to compare."""

    metric: Metric
    key: str
    unit: str
    gauge: str | None  # the limit gauge; a state rule has no number to draw
    direction: Direction
    limits: tuple[float | None, float | None]
    states: tuple[str | None, str | None]
    other_key: str | None = None
    rate: bool = False


def compile_rules(rules: tuple[Rule, ...]) -> tuple[Check, ...]:
    by_metric: dict[str, dict[str, Rule]] = {}
    for rule in rules:
        by_metric.setdefault(rule.metric, {})[rule.level] = rule
    checks = []
    for name, levels in by_metric.items():
        metric = BY_NAME[name]
        pair = (levels.get("warning"), levels.get("critical"))
        first = next(rule for rule in pair if rule is not None)
        limits = tuple(None if r is None or r.state else float(r.limit) for r in pair)
        other = BY_NAME[first.relative_to] if first.relative_to else None
        checks.append(Check(
            metric=metric,
            key=value_key(metric),
            unit=rate_unit(metric) if first.rate else metric.unit,
            gauge=None if is_state_metric(metric) else THRESHOLD_PREFIX + metric.short_name,
            direction=first.direction,
            limits=(limits[0], limits[1]),
            states=(pair[0].state if pair[0] else None, pair[1].state if pair[1] else None),
            other_key=value_key(other) if other else None,
            rate=first.rate,
        ))
    return tuple(checks)


class Track:
    """The state of one metric of one executor name, and its hysteresis streak."""

    __slots__ = ("prev", "prev_ns", "rising", "state", "streak", "target")

    def __init__(self) -> None:
        self.state = OK
        self.streak = 0
        self.rising = True
        self.target = OK
        self.prev: float | None = None
        self.prev_ns = 0

    def step(self, raw: int, enter: int, leave: int) -> bool:
        """Count ``raw`` towards a transition; True when the state changed."""
        if raw == self.state:
            self.streak = 0
            return False
        rising = raw > self.state
        if self.streak and rising == self.rising:
            self.streak += 1
            # Entering: the mildest level seen throughout the streak; leaving: the worst.
            self.target = min(self.target, raw) if rising else max(self.target, raw)
        else:
            self.streak, self.rising, self.target = 1, rising, raw
        if self.streak < (enter if rising else leave):
            return False
        self.state, self.streak = self.target, 0
        return True


@dataclass
class Results:
    status: list[Observation] = field(default_factory=list)
    limits: dict[str, list[Observation]] = field(default_factory=dict)


class Evaluator:
    def __init__(self, checks: tuple[Check, ...], enter: int = 1, leave: int = 1) -> None:
        self.checks = checks
        self.enter = enter
        self.leave = leave
        self._tracks: dict[str, dict[str, Track]] = {}
        # name -> per check: (status observations by state, fixed-limit observations)
        self._prebuilt: dict[str, list[tuple[tuple[tuple[Observation, ...], ...],
                                             tuple[Observation, ...]]]] = {}

    def replace(self, checks: tuple[Check, ...]) -> None:
        self.checks = checks
        self._prebuilt = {}

    def _build(self, name: str) -> list[tuple[tuple[tuple[Observation, ...], ...],
                                              tuple[Observation, ...]]]:
        built = []
        for check in self.checks:
            attrs = [{EXECUTOR_NAME: name, THRESHOLD_METRIC: check.metric.name,
                      THRESHOLD_STATE: state} for state in THRESHOLD_STATES]
            # Six observations, not nine: each state's 0 and 1 point is shared by the
            # three current-state tuples (they are only read).
            off = [Observation(0, a) for a in attrs]
            on = [Observation(1, a) for a in attrs]
            status = tuple(tuple(on[i] if i == current else off[i] for i in range(3))
                           for current in range(3))
            fixed = () if check.other_key or check.gauge is None else tuple(
                Observation(limit, {EXECUTOR_NAME: name, THRESHOLD_LEVEL: level})
                for level, limit in zip(LEVELS, check.limits, strict=True) if limit is not None)
            built.append((status, fixed))
        self._prebuilt[name] = built
        return built

    def evaluate(self, snapshot: Snapshot) -> tuple[Results, list[AlertEvent]]:
        results = Results(limits={c.gauge: [] for c in self.checks if c.gauge})
        status, limits = results.status, results.limits
        events: list[AlertEvent] = []
        self._forget(snapshot.names)
        taken_ns = snapshot.taken_ns
        for group in snapshot.groups:
            values = group.values
            tracks = self._tracks.setdefault(group.name, {})
            prebuilt = self._prebuilt.get(group.name) or self._build(group.name)
            for check, (by_state, fixed) in zip(self.checks, prebuilt, strict=True):
                value = values.get(check.key)
                if value is None:
                    continue  # absent is not ok: no status point
                track = tracks.get(check.metric.name)
                if track is None:
                    track = tracks[check.metric.name] = Track()
                warning, critical = check.limits
                if check.gauge:
                    if fixed:
                        limits[check.gauge].extend(fixed)
                    elif check.other_key:
                        capacity = values.get(check.other_key)
                        if not isinstance(capacity, float):
                            continue  # relative to an unknown capacity: not evaluated
                        warning = None if warning is None else warning * capacity
                        critical = None if critical is None else critical * capacity
                        limits[check.gauge].extend(
                            Observation(limit, {EXECUTOR_NAME: group.name, THRESHOLD_LEVEL: lv})
                            for lv, limit in zip(LEVELS, (warning, critical), strict=True)
                            if limit is not None)
                if check.rate:
                    rate = self._rate(track, float(value), taken_ns)
                    if rate is None:
                        continue
                    value = rate
                if isinstance(value, str):
                    raw = CRITICAL if value == check.states[1] else \
                        WARNING if value == check.states[0] else OK
                else:
                    raw = level_beyond(value, warning, critical, check.direction)
                old = track.state
                # Steady (same state, no streak) is the common case: no call then.
                if (raw != old or track.streak) and track.step(raw, self.enter, self.leave):
                    events.append(_event(group.name, check, old, track.state, value,
                                         (warning, critical), taken_ns))
                status.extend(by_state[track.state])
        return results, events

    def _forget(self, names: frozenset[str]) -> None:
        """Free the state of names no longer registered (their executors are gone).

        A name still registered keeps its state while it has no values (a read that
        timed out must not reset its hysteresis); one that comes back starts at ok.
        """
        for state in (self._tracks, self._prebuilt):
            if not state.keys() <= names:
                for name in state.keys() - names:
                    del state[name]

    @staticmethod
    def _rate(track: Track, value: float, taken_ns: int) -> float | None:
        """Increase per second since the previous snapshot; None for the first one, or
        across a reset (a new process behind the same name)."""
        prev, prev_ns = track.prev, track.prev_ns
        track.prev, track.prev_ns = value, taken_ns
        if prev is None or taken_ns <= prev_ns or value < prev:
            return None
        return (value - prev) * 1e9 / (taken_ns - prev_ns)


def _event(name: str, check: Check, old: int, new: int, value: float | str,
           limits: tuple[float | None, float | None], taken_ns: int) -> AlertEvent:
    # The limit that was crossed: the new level's going up; the lowest level left going down.
    index = (new if new > old else new + 1) - 1
    crossed = check.states if isinstance(value, str) else limits
    limit = crossed[index] if crossed[index] is not None else crossed[1 - index]
    return AlertEvent(
        executor=name,
        metric=check.metric.name,
        old_state=THRESHOLD_STATES[old],
        new_state=THRESHOLD_STATES[new],
        value=value,
        limit=limit,
        unit=check.unit,
        direction=check.direction.value,
        time_unix_nano=taken_ns,
    )
