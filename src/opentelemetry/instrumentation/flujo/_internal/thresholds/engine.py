"""The threshold engine: one engine per runtime, plugged into every binding by a hook.

Per binding it registers ``flujo.executor.threshold.status``, a limit gauge per metric
that has a numeric rule, and ``flujo.otel.alerts.dropped``; a snapshot listener
evaluates each new snapshot once and the callbacks only hand out the results. The
hysteresis state is the engine's, shared by every binding, so two MeterProviders do not
raise every alert twice.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterable

from opentelemetry.metrics import Observation

from opentelemetry.instrumentation.flujo._internal import alerts
from opentelemetry.instrumentation.flujo._internal.alerts.dispatch import DISPATCHER
from opentelemetry.instrumentation.flujo._internal.catalog import (
    SELF_BY_NAME,
    THRESHOLD_STATUS,
    THRESHOLD_STATUS_KIND,
    THRESHOLD_STATUS_UNIT,
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

_logger = logging.getLogger(__name__)

ALERTS_DROPPED = "flujo.otel.alerts.dropped"
_STATUS_DESCRIPTION = ("Threshold state of a metric: 1 for the current state (ok, warning, "
                       "critical), 0 for the others.")

# The Python API's overrides, and the engines alive in this process that apply them.
_api: tuple[Entry, ...] = ()
_api_hysteresis: tuple[int, int] | None = None  # (enter, exit); None: the environment's
_api_lock = threading.Lock()
_engines: weakref.WeakSet[ThresholdEngine] = weakref.WeakSet()


def publish_hysteresis(values: tuple[int, int] | None) -> None:
    """``(enter, exit)`` from code, or None to go back to the environment's."""
    global _api_hysteresis
    with _api_lock:
        _api_hysteresis = values
        engines = list(_engines)
    for engine in engines:
        engine.set_hysteresis(values)


def publish_api(entries: tuple[Entry, ...], replace: bool) -> None:
    global _api
    with _api_lock:
        _api = entries if replace else _api + entries
        api, engines = _api, list(_engines)
    for engine in engines:
        engine.set_api_overrides(api)


class _BoundEngine:
    """What one binding's callbacks read: the results of its latest snapshot."""

    def __init__(self, engine: ThresholdEngine, binding: Binding) -> None:
        self.engine = engine
        self.binding = binding
        self.results = Results()
        self.gauges: set[str] = set()

    def on_snapshot(self, snapshot: Snapshot) -> None:
        self.results = self.engine.evaluate(snapshot)

    def status(self, _snapshot: Snapshot) -> Iterable[Observation]:
        return self.results.status

    def add_gauges(self, checks: tuple[Check, ...]) -> None:
        for check in checks:
            gauge = check.gauge
            if gauge is None or gauge in self.gauges:
                continue
            self.gauges.add(gauge)
            self.binding.add_observable(
                gauge, "Gauge", check.unit,
                f"Configured warning/critical limit of {check.metric.name}.",
                self._limits(gauge))

    def _limits(self, gauge: str) -> Callable[[Snapshot], Iterable[Observation]]:
        return lambda _snapshot: self.results.limits.get(gauge, ())


class ThresholdEngine:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._bound: list[_BoundEngine] = []
        # Built from the overrides and registered for later ones in one step: one
        # published in between would otherwise never reach this engine.
        with _api_lock:
            enter, leave = _api_hysteresis or (config.hysteresis_enter, config.hysteresis_exit)
            self.evaluator = Evaluator(compile_rules(effective_rules(config, _api)),
                                       enter, leave)
            _engines.add(self)
        try:
            alerts.configure(config)
        except Exception:  # a handler that cannot be built must not stop the metrics
            _logger.warning("alert handlers could not be configured", exc_info=True)

    def bind(self, binding: Binding, _config: Config) -> None:
        """The runtime hook: this binding's threshold instruments and listener."""
        bound = _BoundEngine(self, binding)
        binding.add_observable(THRESHOLD_STATUS, THRESHOLD_STATUS_KIND.value, THRESHOLD_STATUS_UNIT,
                               _STATUS_DESCRIPTION,
                               bound.status)
        bound.add_gauges(self.evaluator.checks)
        dropped = SELF_BY_NAME[ALERTS_DROPPED]
        binding.add_observable(
            dropped.name, dropped.kind, dropped.unit, dropped.description,
            lambda _snapshot: [Observation(count, {"handler": handler, "reason": reason})
                               for handler, reason, count in DISPATCHER.dropped_counts()])
        binding.add_listener(bound.on_snapshot)
        with self._lock:
            self._bound.append(bound)

    def set_api_overrides(self, api: tuple[Entry, ...]) -> None:
        """New rules for the next evaluation; called outside any collection, so new limit
        gauges can be created (the SDK's collection lock is not re-entrant)."""
        checks = compile_rules(effective_rules(self.config, api))
        with self._lock:
            self.evaluator.replace(checks)
            bound_list = list(self._bound)
        for bound in bound_list:
            bound.add_gauges(checks)

    def set_hysteresis(self, values: tuple[int, int] | None) -> None:
        enter, leave = values or (self.config.hysteresis_enter, self.config.hysteresis_exit)
        with self._lock:
            self.evaluator.enter, self.evaluator.leave = enter, leave

    def evaluate(self, snapshot: Snapshot) -> Results:
        with self._lock:
            results, events = self.evaluator.evaluate(snapshot)
        if events:
            DISPATCHER.publish(events)
        return results
