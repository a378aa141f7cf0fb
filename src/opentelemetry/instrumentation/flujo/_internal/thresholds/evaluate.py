"""Evaluation: each snapshot's values against the compiled rules, timed in seconds.

Runs once per snapshot, on the collection thread (inside the SDK's collection lock: it
only computes, and hands its events to the dispatcher), so it is kept to a dictionary
look-up and a comparison or two per metric: rules are compiled per metric (and scope) ahead of
time, each executor name's rule per metric is resolved once, and the observations a
state or a fixed limit produces are built once per executor name and reused.

What it exports (docs/thresholds.md): per checked metric, a status gauge with one
point per executor name (0 ok, 1 warning, 2 critical), and a limit gauge with one
point per level for the metric's unscoped rule plus one per level for each name whose
limit differs from it (a relative limit, or a scoped rule with other limits).

Absent is not "still breaching": a metric of a name that has no value at a collection
(a per-run gauge between runs, an average with no executions in the interval, an
executor that went away) exports no status point, and its breach is treated as over:
a pending level is dropped, a firing one is kept ``keep_for`` and then left with an
event whose value is None ("no longer reported"). Its next breach is a new alert:
the incidents Prometheus sees from the exported series, whose alert resolves when the
series goes (after ``keep_firing_for``) and fires again when it comes back breaching.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from opentelemetry.metrics import Observation

from opentelemetry.instrumentation.flujo._internal.alerts.event import AlertEvent
from opentelemetry.instrumentation.flujo._internal.catalog import (
    BY_NAME,
    EXECUTOR_NAME,
    THRESHOLD_LEVEL,
    THRESHOLD_STATES,
    Direction,
    Metric,
    limit_gauge,
    status_gauge,
)
from opentelemetry.instrumentation.flujo._internal.collect.snapshot import Snapshot
from opentelemetry.instrumentation.flujo._internal.rate import Rate
from opentelemetry.instrumentation.flujo._internal.thresholds.limit_syntax import rate_unit
from opentelemetry.instrumentation.flujo._internal.thresholds.rules import (
    BEYOND,
    LEVELS,
    Rule,
    in_scope,
    is_state_metric,
    value_key,
)

OK, WARNING, CRITICAL = 0, 1, 2


@dataclass(frozen=True)
class Check:
    """Every rule of one metric for one scope, ready to compare."""

    metric: Metric
    key: str
    unit: str
    status: str  # the status gauge
    gauge: str | None  # the limit gauge; a state rule has no number to draw
    direction: Direction
    beyond: Callable[[float, float], bool]  # the direction's comparison (rules.BEYOND)
    limits: tuple[float | None, float | None]
    states: tuple[str | None, str | None]
    other_key: str | None = None
    rate: bool = False
    scope: str | None = None

    def same_limits(self, other: Check | None) -> bool:
        return other is not None and (self.limits, self.states, self.other_key) == (
            other.limits, other.states, other.other_key)


@dataclass(frozen=True)
class MetricChecks:
    """A metric's unscoped check (None when only scopes check it) and its scoped checks,
    the most specific first."""

    default: Check | None
    scoped: tuple[Check, ...]

    def for_name(self, name: str) -> Check | None:
        for check in self.scoped:
            if in_scope(check.scope or "", name):
                return check
        return self.default


def _check(levels: dict[str, Rule]) -> Check:
    pair = (levels.get("warning"), levels.get("critical"))
    first = next(rule for rule in pair if rule is not None)
    metric = BY_NAME[first.metric]
    limits = tuple(None if r is None or r.state else float(r.limit) for r in pair)
    other = BY_NAME[first.relative_to] if first.relative_to else None
    return Check(
        metric=metric,
        key=value_key(metric),
        unit=rate_unit(metric) if first.rate else metric.unit,
        status=status_gauge(metric),
        gauge=None if is_state_metric(metric) else limit_gauge(metric),
        direction=first.direction,
        beyond=BEYOND[first.direction],
        limits=(limits[0], limits[1]),
        states=(pair[0].state if pair[0] else None, pair[1].state if pair[1] else None),
        other_key=value_key(other) if other else None,
        rate=first.rate,
        scope=first.scope,
    )


def compile_rules(rules: tuple[Rule, ...]) -> tuple[MetricChecks, ...]:
    """Checks per metric, in the order of ``rules`` (scoped rules come most specific
    first from ``effective_rules``)."""
    by_metric: dict[str, dict[str | None, dict[str, Rule]]] = {}
    for rule in rules:
        by_metric.setdefault(rule.metric, {}).setdefault(rule.scope, {})[rule.level] = rule
    out = []
    for scopes in by_metric.values():
        default = scopes.pop(None, None)
        out.append(MetricChecks(_check(default) if default else None,
                                tuple(_check(levels) for levels in scopes.values())))
    return tuple(out)


class Track:
    """The state of one metric of one executor name, and how long each level's
    condition has held (Prometheus's ``for`` / ``keep_firing_for``, per level)."""

    __slots__ = ("busy", "check", "clear_since", "firing", "limits", "rate", "seen", "since",
                 "state")

    def __init__(self, check: Check) -> None:
        self.state = OK
        # The check and limits of the latest value, and the evaluation that saw it: an
        # absent value's event (see Evaluator) says what was left.
        self.check = check
        self.limits: tuple[float | None, float | None] = check.limits
        self.seen = 0
        self.busy = False  # a level is pending or being kept: step even when steady
        self.firing = [False, False, False]  # by level: [unused, warning, critical]
        # By level: when (monotonic ns) its breach began, and when a firing level went
        # back within its limit; None while that is not the case.
        self.since: list[int | None] = [None, None, None]
        self.clear_since: list[int | None] = [None, None, None]
        self.rate: Rate | None = None  # a counter-rate rule's

    def per_second(self, value: float, now: int) -> float | None:
        """A counter-rate rule's value: the counter's increase per second since the
        previous value, over a real interval (with two readers, snapshots come in pairs
        milliseconds apart: see _internal/rate.py)."""
        if self.rate is None:
            self.rate = Rate()
        return self.rate.update(value, now / 1e9)

    def step(self, raw: int, now: int, enter_ns: int, leave_ns: int) -> bool:
        """Take ``raw`` (the level the value is beyond now) at ``now``; True when the
        state changed. A level fires once its breach has held ``enter_ns`` and stops
        once the value has been within it for ``leave_ns``."""
        busy = False
        for level in (WARNING, CRITICAL):
            if raw >= level:
                self.clear_since[level] = None
                if not self.firing[level]:
                    since = self.since[level]
                    if since is None:
                        since = self.since[level] = now
                    self.firing[level] = now - since >= enter_ns
                    busy |= not self.firing[level]
            else:
                self.since[level] = None
                if self.firing[level]:
                    cleared = self.clear_since[level]
                    if cleared is None:
                        cleared = self.clear_since[level] = now
                    self.firing[level] = now - cleared < leave_ns
                    busy |= self.firing[level]
                    if not self.firing[level]:
                        self.clear_since[level] = None
        self.busy = busy
        old = self.state
        self.state = CRITICAL if self.firing[CRITICAL] else WARNING if self.firing[WARNING] \
            else OK
        return self.state != old


@dataclass
class Results:
    """One evaluation's points, by instrument name: what a binding's threshold gauges
    hand out until the next snapshot."""

    status: dict[str, list[Observation]] = field(default_factory=dict)
    limits: dict[str, list[Observation]] = field(default_factory=dict)


# Per executor name, per checked metric: its check, the per-name fixed-limit points
# (empty when the name's limits are the metric's unscoped ones, or relative) and the
# limit gauge whose unscoped points the name's value calls for (None: own or relative
# limits, or no gauge).
Prebuilt = tuple[tuple[Observation, ...],
                 list[tuple[Check, tuple[Observation, ...], str | None]]]


def _limit_points(check: Check, extra: dict[str, str]) -> tuple[Observation, ...]:
    return tuple(Observation(limit, {**extra, THRESHOLD_LEVEL: level})
                 for level, limit in zip(LEVELS, check.limits, strict=True) if limit is not None)


class Evaluator:
    """Each snapshot's values against the compiled checks, and the timing state.

    Owns a :class:`Track` per executor name and checked metric, and the observations
    built ahead per name. Called by the :class:`ThresholdEngine` (which serialises
    the calls) once per snapshot, and on ``set_thresholds`` (``replace``); reads the
    runtime's clock (monotonic nanoseconds).
    """

    def __init__(self, checks: tuple[MetricChecks, ...], enter_s: float,
                 leave_s: float, clock: Callable[[], int]) -> None:
        self.clock = clock
        self.enter_ns, self.leave_ns = int(enter_s * 1e9), int(leave_s * 1e9)
        self.replace(checks)
        self._tracks: dict[str, dict[str, Track]] = {}
        # Tracks not at rest (a state other than ok, or a level pending or kept), by
        # (name, metric): those an absent value moves on.
        self._active: dict[tuple[str, str], Track] = {}
        self._generation = 0

    def replace(self, checks: tuple[MetricChecks, ...]) -> None:
        self.checks = checks
        # The unscoped limits, exported once per metric without an executor name.
        self._shared = {c.default.gauge: _limit_points(c.default, {}) for c in checks
                        if c.default and c.default.gauge and not c.default.other_key}
        self._prebuilt: dict[str, Prebuilt] = {}
        every = self.all_checks()
        self._statuses = tuple(dict.fromkeys(check.status for check in every))
        self._gauges = tuple(dict.fromkeys(check.gauge for check in every if check.gauge))

    def all_checks(self) -> list[Check]:
        return [check for c in self.checks
                for check in ((c.default,) if c.default else ()) + c.scoped]

    def _build(self, name: str) -> Prebuilt:
        attrs = {EXECUTOR_NAME: name}
        levels = tuple(Observation(level, attrs) for level in range(len(THRESHOLD_STATES)))
        resolved = []
        for checks in self.checks:
            check = checks.for_name(name)
            if check is None:
                continue
            own = () if check.other_key or check.gauge is None or \
                check.same_limits(checks.default) else _limit_points(check, attrs)
            shared = None if own or check.other_key else check.gauge
            resolved.append((check, own, shared))
        built = self._prebuilt[name] = (levels, resolved)
        return built

    def evaluate(self, snapshot: Snapshot) -> tuple[Results, list[AlertEvent]]:
        # A list per instrument up front: the loop below only appends.
        results = Results(status={status: [] for status in self._statuses},
                          limits={gauge: [] for gauge in self._gauges})
        status, limits = results.status, results.limits
        shared_used: set[str] = set()
        events: list[AlertEvent] = []
        self._forget(snapshot.names)
        generation = self._generation = self._generation + 1
        now = self.clock()
        for group in snapshot.groups:
            values = group.values
            tracks = self._tracks.setdefault(group.name, {})
            levels, resolved = self._prebuilt.get(group.name) or self._build(group.name)
            for check, own, shared in resolved:
                value = values.get(check.key)
                if value is None:
                    continue  # absent is not ok: no status point (see the module's doc)
                track = tracks.get(check.metric.name)
                if track is None:
                    track = tracks[check.metric.name] = Track(check)
                warning, critical = check.limits
                if shared:
                    shared_used.add(shared)
                elif own:
                    limits[check.gauge].extend(own)  # type: ignore[index]
                elif check.other_key and check.gauge:
                    capacity = values.get(check.other_key)
                    if not isinstance(capacity, float):
                        continue  # relative to an unknown capacity: not evaluated
                    warning, critical = _relative(check, capacity, group.name,
                                                  limits[check.gauge])
                if check.rate:
                    value = track.per_second(float(value), now)
                    if value is None:
                        continue
                if isinstance(value, str):
                    raw = CRITICAL if value == check.states[1] else \
                        WARNING if value == check.states[0] else OK
                else:  # rules.level_beyond, inline: two calls less per value
                    past = check.beyond
                    raw = CRITICAL if critical is not None and past(value, critical) else \
                        WARNING if warning is not None and past(value, warning) else OK
                state = track.state
                # Steady (same state, nothing pending) is the common case: no call then,
                # and a steady track not at rest is already among the active ones.
                if raw != state or track.busy:
                    if track.step(raw, now, self.enter_ns, self.leave_ns):
                        events.append(_event(group.name, check, state, track.state, value,
                                             (warning, critical), snapshot.taken_ns))
                    state = track.state
                    if state or track.busy:
                        self._active[(group.name, check.metric.name)] = track
                if state or track.busy:  # (one that came to rest here: see _absent)
                    track.seen = generation
                    track.check, track.limits = check, (warning, critical)
                status[check.status].append(levels[state])
        if self._active:
            self._absent(generation, now, snapshot, events)
        for gauge in shared_used:
            limits[gauge].extend(self._shared[gauge])
        return results, events

    def _absent(self, generation: int, now: int, snapshot: Snapshot,
                events: list[AlertEvent]) -> None:
        """Move on the tracks not at rest that had no value this time, as if within
        their limits; forget those at rest again (and a gone name's last ones)."""
        for key, track in list(self._active.items()):
            if track.seen != generation:
                old = track.state
                if track.step(OK, now, self.enter_ns, self.leave_ns):
                    events.append(_event(key[0], track.check, old, track.state, None,
                                         track.limits, snapshot.taken_ns))
            if track.state or track.busy:
                continue
            del self._active[key]
            name, metric = key
            if name not in snapshot.names:
                tracks = self._tracks.get(name, {})
                tracks.pop(metric, None)
                if not tracks:
                    self._tracks.pop(name, None)

    def _forget(self, names: frozenset[str]) -> None:
        """Free the state of names no longer registered (their executors are gone),
        apart from the tracks not at rest: those leave their state when absent long
        enough (``_absent``), with an event. A name that comes back starts at ok."""
        if not self._prebuilt.keys() <= names:
            for name in self._prebuilt.keys() - names:
                del self._prebuilt[name]
        if not self._tracks.keys() <= names:
            for name in self._tracks.keys() - names:
                kept = {metric: track for metric, track in self._tracks[name].items()
                        if (name, metric) in self._active}
                if kept:
                    self._tracks[name] = kept
                else:
                    del self._tracks[name]


def _relative(check: Check, capacity: float, name: str, out: list[Observation]
              ) -> tuple[float | None, float | None]:
    """A relative check's limits for a name whose capacity is ``capacity``; their
    points go to ``out``."""
    warning, critical = check.limits
    warning = None if warning is None else warning * capacity
    critical = None if critical is None else critical * capacity
    out.extend([Observation(limit, {EXECUTOR_NAME: name, THRESHOLD_LEVEL: level}, None)
                for level, limit in zip(LEVELS, (warning, critical), strict=True)
                if limit is not None])
    return warning, critical


def _event(name: str, check: Check, old: int, new: int, value: float | str | None,
           limits: tuple[float | None, float | None], taken_ns: int) -> AlertEvent:
    # The limit of the state entered: warning's or critical's own, the warning limit
    # (the lowest) for ok; a level without one shows the other's.
    index = max(new, 1) - 1
    given = check.states if isinstance(value, str) or check.gauge is None else limits
    limit = given[index] if given[index] is not None else given[1 - index]
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
