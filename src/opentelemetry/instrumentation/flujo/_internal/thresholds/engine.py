"""The threshold engine: one per runtime, plugged into each of its bindings by a hook.

Per binding it registers ``flujo.executor.threshold.status``, a limit gauge per metric
that has a numeric rule, and ``flujo.otel.alerts.dropped``; a snapshot listener
evaluates each new snapshot once and the callbacks only hand out the results. The
hysteresis state is the engine's, shared by every binding, so two MeterProviders of one
runtime do not raise every alert twice. The engine also keeps the overrides made from
code (``set_thresholds``, ``set_hysteresis``) and the memory of the threshold warnings
it has given.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from opentelemetry.metrics import Observation

from opentelemetry.instrumentation.flujo._internal.alerts.dispatch import Dispatcher
from opentelemetry.instrumentation.flujo._internal.catalog import (
    ALERTS_DROPPED,
    THRESHOLD_STATUS,
    THRESHOLD_STATUS_DESCRIPTION,
    THRESHOLD_STATUS_KIND,
    THRESHOLD_STATUS_UNIT,
    Kind,
)
from opentelemetry.instrumentation.flujo._internal.collect.snapshot import Snapshot
from opentelemetry.instrumentation.flujo._internal.config import Config
from opentelemetry.instrumentation.flujo._internal.otel.binding import Binding
from opentelemetry.instrumentation.flujo._internal.thresholds.evaluate import (
    Check,
    Evaluator,
    Results,
    compile_rules,
)
from opentelemetry.instrumentation.flujo._internal.thresholds.overrides import (
    Entry,
    effective_rules,
)
from opentelemetry.instrumentation.flujo._internal.warn_once import WarnOnce

_logger = logging.getLogger(__name__)


class _BoundEngine:
    """What one binding's callbacks read: the results of its latest snapshot."""

    def __init__(self, engine: ThresholdEngine, binding: Binding) -> None:
        self.engine = engine
        self.binding = binding
        self.owner = binding.owner
        self.results = Results()
        self.gauges: set[str] = set()

    def on_snapshot(self, snapshot: Snapshot) -> None:
        self.results = self.engine.evaluate(snapshot)

    def status(self, _snapshot: Snapshot) -> Iterable[Observation]:
        return self.results.status

    def add_gauges(self, checks: tuple[Check, ...]) -> None:
        if self.binding.owner is not self.owner:  # the provider has a new runtime
            return
        for check in checks:
            gauge = check.gauge
            if gauge is None or gauge in self.gauges:
                continue
            self.gauges.add(gauge)
            self.binding.add_observable(
                gauge, Kind.GAUGE, check.unit,
                f"Configured warning/critical limit of {check.metric.name}.",
                self._limits(gauge))

    def _limits(self, gauge: str) -> Callable[[Snapshot], Iterable[Observation]]:
        return lambda _snapshot: self.results.limits.get(gauge, ())


class ThresholdEngine:
    def __init__(self, config: Config, alerts: Dispatcher) -> None:
        self.config = config
        self.alerts = alerts
        self._lock = threading.Lock()
        self._bound: list[_BoundEngine] = []
        self._overrides: tuple[Entry, ...] = ()  # from code, after the environment's
        self._warn = WarnOnce(_logger)
        self.evaluator = Evaluator(self._checks(), config.hysteresis_enter,
                                   config.hysteresis_exit)

    def _checks(self) -> tuple[Check, ...]:
        return compile_rules(effective_rules(self.config, self._overrides, self._warn))

    def bind(self, binding: Binding) -> None:
        """The runtime hook: this binding's threshold instruments and listener."""
        bound = _BoundEngine(self, binding)
        binding.add_observable(THRESHOLD_STATUS, THRESHOLD_STATUS_KIND, THRESHOLD_STATUS_UNIT,
                               THRESHOLD_STATUS_DESCRIPTION, bound.status)
        bound.add_gauges(self.evaluator.checks)
        binding.add_observable(
            ALERTS_DROPPED.name, ALERTS_DROPPED.kind, ALERTS_DROPPED.unit,
            ALERTS_DROPPED.description,
            lambda _snapshot: [Observation(count, {"handler": handler, "reason": reason})
                               for handler, reason, count in self.alerts.dropped_counts()])
        binding.add_listener(bound.on_snapshot)
        with self._lock:
            self._bound.append(bound)

    def release(self, binding: Binding) -> None:
        """``binding`` is served by another runtime now: no more gauges for it from here."""
        with self._lock:
            self._bound = [bound for bound in self._bound if bound.binding is not binding]

    def set_overrides(self, entries: tuple[Entry, ...], replace: bool) -> None:
        """Rules from code for the next evaluation; called outside any collection, so new
        limit gauges can be created (the SDK's collection lock is not re-entrant)."""
        with self._lock:
            self._overrides = entries if replace else self._overrides + entries
            checks = self._checks()
            self.evaluator.replace(checks)
            bound_list = list(self._bound)
        for bound in bound_list:
            bound.add_gauges(checks)

    def set_hysteresis(self, values: tuple[int, int] | None) -> None:
        """``(enter, exit)`` from code, or None for the configuration's."""
        enter, leave = values or (self.config.hysteresis_enter, self.config.hysteresis_exit)
        with self._lock:
            self.evaluator.enter, self.evaluator.leave = enter, leave

    def evaluate(self, snapshot: Snapshot) -> Results:
        with self._lock:
            results, events = self.evaluator.evaluate(snapshot)
        if events:
            self.alerts.publish(events)
        return results
