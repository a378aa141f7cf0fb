"""The threshold engine: one per runtime, plugged into each of its bindings by a hook.

Per binding it registers, per checked metric, ``flujo.executor.threshold.status.<metric>``
and (for a numeric rule) the limit gauge ``flujo.executor.threshold.<metric>``, and
``flujo.otel.alerts.dropped``; a snapshot listener evaluates each new snapshot once and
the callbacks only hand out the results. The timing state is the engine's, shared by
every binding, so two MeterProviders of one runtime do not raise every alert twice, and
it counts time, not collections: how many readers collect, and how often, changes
nothing. The engine also keeps the overrides made from code (``set_thresholds``) and
the memory of the threshold warnings it has given.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from opentelemetry.metrics import Observation

from opentelemetry.instrumentation.flujo._internal.alerts.dispatch import Dispatcher
from opentelemetry.instrumentation.flujo._internal.catalog import (
    ALERTS_DROPPED,
    THRESHOLD_STATES,
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
    MetricChecks,
    Results,
    compile_rules,
)
from opentelemetry.instrumentation.flujo._internal.thresholds.overrides import (
    Entry,
    effective_rules,
)
from opentelemetry.instrumentation.flujo._internal.warn_once import WarnOnce

_logger = logging.getLogger(__name__)
_SEVERITIES = ", ".join(f"{rank} {state}" for rank, state in enumerate(THRESHOLD_STATES))


class _BoundEngine:
    """What one binding's callbacks read: the results of its latest snapshot."""

    def __init__(self, engine: ThresholdEngine, binding: Binding) -> None:
        self.engine = engine
        self.binding = binding
        self.owner = binding.owner
        self.results = Results()
        self.instruments: set[str] = set()

    def on_snapshot(self, snapshot: Snapshot) -> None:
        self.results = self.engine.evaluate(snapshot)

    def add_instruments(self, checks: list[Check]) -> None:
        """The status and limit gauges of ``checks`` not registered yet."""
        if self.binding.owner is not self.owner:  # the provider has a new runtime
            return
        for check in checks:
            metric = check.metric.name
            self._add(check.status, THRESHOLD_STATUS_KIND, THRESHOLD_STATUS_UNIT,
                      f"Threshold state of {metric} per executor name ({_SEVERITIES}).",
                      lambda: self.results.status)
            if check.gauge is not None:
                self._add(check.gauge, Kind.GAUGE, check.unit,
                          f"Warning/critical limit of {metric}: without an executor name for "
                          "the names it applies to unchanged, with one where it differs.",
                          lambda: self.results.limits)

    def _add(self, name: str, kind: Kind, unit: str, description: str,
             points: Callable[[], dict[str, list[Observation]]]) -> None:
        """One gauge handing out ``points()[name]`` of the latest results (read at
        collection time: ``self.results`` is replaced per snapshot)."""
        if name in self.instruments:
            return
        self.instruments.add(name)
        self.binding.add_observable(name, kind, unit, description,
                                    lambda _snapshot: points().get(name, ()))


class ThresholdEngine:
    def __init__(self, config: Config, alerts: Dispatcher) -> None:
        self.config = config
        self.alerts = alerts
        self._lock = threading.Lock()
        self._bound: list[_BoundEngine] = []
        self._overrides: tuple[Entry, ...] = ()  # from code, after the environment's
        self._warn = WarnOnce(_logger)
        self.evaluator = Evaluator(self._checks(), config.threshold_for_s,
                                   config.threshold_keep_for_s)

    def _checks(self) -> tuple[MetricChecks, ...]:
        return compile_rules(effective_rules(self.config, self._overrides, self._warn))

    def bind(self, binding: Binding) -> None:
        """The runtime hook: this binding's threshold instruments and listener."""
        bound = _BoundEngine(self, binding)
        bound.add_instruments(self.evaluator.all_checks())
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
            self.evaluator.replace(self._checks())
            checks = self.evaluator.all_checks()
            bound_list = list(self._bound)
        for bound in bound_list:
            bound.add_instruments(checks)

    def evaluate(self, snapshot: Snapshot) -> Results:
        with self._lock:
            results, events = self.evaluator.evaluate(snapshot)
        if events:
            self.alerts.publish(events)
        return results
