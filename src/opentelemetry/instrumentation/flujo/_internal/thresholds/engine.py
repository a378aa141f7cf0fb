"""The threshold engine: one per runtime, plugged into each of its bindings by a hook.

Per binding it registers, from bind time, every instrument the threshold layer can
ever need: per catalog metric ``flujo.executor.threshold.status.<metric>`` and (a
metric with a numeric limit) the limit gauge ``flujo.executor.threshold.<metric>``,
and ``flujo.otel.alerts.dropped``. A gauge without points exports nothing, so the
metrics no rule checks cost a callback each and nothing on the wire; and changing
thresholds (``set_thresholds``) never creates an instrument, which would take the
SDK's collection lock. A snapshot listener evaluates each new snapshot once and the
callbacks only hand out the results. The timing state is the engine's, shared by
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
    METRICS,
    THRESHOLD_STATES,
    THRESHOLD_STATUS_KIND,
    THRESHOLD_STATUS_UNIT,
    Kind,
    limit_gauge,
    status_gauge,
)
from opentelemetry.instrumentation.flujo._internal.collect.snapshot import Snapshot
from opentelemetry.instrumentation.flujo._internal.config import Config
from opentelemetry.instrumentation.flujo._internal.otel.binding import Binding
from opentelemetry.instrumentation.flujo._internal.thresholds.evaluate import (
    Evaluator,
    MetricChecks,
    Results,
    compile_rules,
)
from opentelemetry.instrumentation.flujo._internal.thresholds.limit_syntax import rate_unit
from opentelemetry.instrumentation.flujo._internal.thresholds.overrides import (
    Override,
    effective_rules,
)
from opentelemetry.instrumentation.flujo._internal.thresholds.rules import is_state_metric
from opentelemetry.instrumentation.flujo._internal.warn_once import WarnOnce

_logger = logging.getLogger(__name__)
_SEVERITIES = ", ".join(f"{rank} {state}" for rank, state in enumerate(THRESHOLD_STATES))


class _Latest:
    """What one binding's threshold gauges hand out: the results of its latest snapshot
    (replaced per snapshot by the binding's listener, read by its callbacks)."""

    def __init__(self, engine: ThresholdEngine) -> None:
        self.engine = engine
        self.results = Results()

    def on_snapshot(self, snapshot: Snapshot) -> None:
        self.results = self.engine.evaluate(snapshot)

    def status(self, name: str) -> Callable[[Snapshot], list[Observation]]:
        return lambda _snapshot: self.results.status.get(name, [])

    def limits(self, name: str) -> Callable[[Snapshot], list[Observation]]:
        return lambda _snapshot: self.results.limits.get(name, [])


class ThresholdEngine:
    """One runtime's thresholds: the rules in force, their evaluation and its events.

    Owns the overrides made from code (``set_thresholds``, through ``api``), the
    :class:`Evaluator` with its timing state, and the memory of the warnings given.
    The runtime builds it and runs :meth:`bind` on each binding; each binding's
    snapshot listener calls :meth:`evaluate`, which hands the events to the
    dispatcher (nothing user-supplied runs inside the collection).
    """

    def __init__(self, config: Config, alerts: Dispatcher, clock: Callable[[], int]) -> None:
        self.config = config
        self.alerts = alerts
        self._lock = threading.Lock()  # the evaluator's state
        self._overrides_lock = threading.Lock()  # callers of set_overrides, one at a time
        self._overrides: tuple[Override, ...] = ()  # from code, after the environment's
        self._warn = WarnOnce(_logger)
        self.evaluator = Evaluator(self._checks(()), config.threshold_for_s,
                                   config.threshold_keep_for_s, clock)

    def _checks(self, overrides: tuple[Override, ...]) -> tuple[MetricChecks, ...]:
        return compile_rules(effective_rules(self.config, overrides, self._warn))

    def bind(self, binding: Binding) -> None:
        """The runtime hook: every threshold instrument of this binding, and its listener."""
        latest = _Latest(self)
        for metric in METRICS:
            short = metric.name
            binding.add_observable(
                status_gauge(metric), THRESHOLD_STATUS_KIND, THRESHOLD_STATUS_UNIT,
                f"Threshold state of {short} per executor name ({_SEVERITIES}).",
                latest.status(status_gauge(metric)))
            if not is_state_metric(metric):
                binding.add_observable(
                    limit_gauge(metric), Kind.GAUGE, rate_unit(metric),
                    f"Warning/critical limit of {short}: without an executor name for "
                    "the names it applies to unchanged, with one where it differs.",
                    latest.limits(limit_gauge(metric)))
        binding.add_observable(
            ALERTS_DROPPED.name, ALERTS_DROPPED.kind, ALERTS_DROPPED.unit,
            ALERTS_DROPPED.description,
            lambda _snapshot: [Observation(count, {"handler": handler, "reason": reason})
                               for handler, reason, count in self.alerts.dropped_counts()])
        binding.add_listener(latest.on_snapshot)

    def set_overrides(self, overrides: tuple[Override, ...], replace: bool) -> None:
        """Rules from code, from the next evaluation on. The file and the inline text
        are read again outside the evaluator's lock, so a collection is not held up."""
        with self._overrides_lock:
            combined = overrides if replace else self._overrides + overrides
            checks = self._checks(combined)
            with self._lock:
                self._overrides = combined
                self.evaluator.replace(checks)

    def evaluate(self, snapshot: Snapshot) -> Results:
        with self._lock:
            results, events = self.evaluator.evaluate(snapshot)
        if events:
            self.alerts.publish(events)
        return results
