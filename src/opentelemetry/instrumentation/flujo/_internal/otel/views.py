"""SDK views for this package's instruments: what they still buy over SDK defaults.

The observable instruments need no view to keep every name's points at the default
name cap: each has at most three points per executor name (the circuit breaker's
states, the executions' outcomes), so 100 names (+ ``_other``) stay far below the
SDK's default limit of 2,000 attribute sets per metric (since opentelemetry-sdk
1.44); the zero-code path, whose provider we cannot give views, loses nothing
(docs/thresholds.md). The views still buy:

- **Exemplars.** An observable instrument's values come from a collection callback,
  where no span is sampled: its default reservoir (one per series) is offered
  nothing, or with an always-on filter only the point's own value without a trace,
  yet the SDK walks and resets every one of them on every collection, ~10% of the
  SDK's collection time. The views give those instruments (the flujo wrappers' run
  and spend counters among them) one shared empty reservoir. The duration
  histograms keep the SDK's: they are recorded inside the step's or run's span, where
  an exemplar links a slow bucket to its trace.
- **The duration histogram's step dimension.** It has a series per name, step and
  outcome: past ~6 steps per name at 100 names that exceeds 2,000, so its view
  raises the limit to what the name and step caps allow.
- **A raised name cap.** Past ~660 names (``OTEL_PYTHON_FLUJO_MAX_EXECUTOR_NAMES``)
  three points per name pass 2,000; the observable instruments' limit is then raised
  to what the cap allows.

The views select by instrument type (and, for observable counters, the stats' name
prefix) or by name within this package's meter, so no instrument matches two of them
(the SDK exports an instrument once per matching view).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from opentelemetry.metrics import (
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
)
from opentelemetry.sdk.metrics import ExemplarReservoir
from opentelemetry.sdk.metrics.view import View

from opentelemetry.instrumentation.flujo._internal.catalog import (
    CIRCUIT_STATES,
    EXECUTION_DURATION,
    OUTCOMES,
    PREFIX,
    RUN_DURATION,
    RUN_OUTCOMES,
    RUNS,
    SCOPE,
    STEP_COST,
    STEP_TOKENS,
    TOKEN_TYPES,
    Kind,
)
from opentelemetry.instrumentation.flujo._internal.config import Config

_PARAMETERS = inspect.signature(View.__init__).parameters
CARDINALITY_LIMITS = "aggregation_cardinality_limit" in _PARAMETERS
SDK_DEFAULT_LIMIT = 2000  # attribute sets per metric, opentelemetry-sdk >= 1.44
# The most points an observable instrument has per executor name, and the few it has
# without one (a limit gauge's warning and critical for every name).
POINTS_PER_NAME = max(len(CIRCUIT_STATES), len(OUTCOMES))
SHARED_POINTS = 2
# Models an agent step typically switches between (a fallback model, a cheaper retry).
MODELS_PER_STEP = 4


class NoExemplars(ExemplarReservoir):
    """Keeps nothing: stateless, so one instance serves every series."""

    def offer(self, value: float, time_unix_nano: int, attributes: Any, context: Any) -> None:
        return None

    def collect(self, point_attributes: Any) -> list[Any]:
        return []


_NO_EXEMPLARS = NoExemplars()


def _no_exemplars(_aggregation: type) -> Callable[..., ExemplarReservoir]:
    return lambda **_parameters: _NO_EXEMPLARS


def flujo_views(config: Config | None = None) -> list[View]:
    """Views for a MeterProvider (the public ``flujo_views()`` passes the default
    runtime's configuration).

    Args:
        config: the settings whose name caps size the cardinality limits; the
            defaults when None.
    """
    config = config or Config()
    names = config.max_executor_names + 1  # + "_other"
    steps = max(config.max_step_names, 1) + 1
    observable = names * POINTS_PER_NAME + SHARED_POINTS
    raised: dict[str, Any] = ({"aggregation_cardinality_limit": observable}
                              if CARDINALITY_LIMITS and observable > SDK_DEFAULT_LIMIT else {})
    # The flujo wrappers' counters (runs, spend) are observable counters too (totals.py),
    # outside the stats' prefix: views of their own below, as their cardinality
    # follows the steps, so that none is exported twice.
    views = [
        View(meter_name=SCOPE, instrument_type=kind,
             instrument_name=PREFIX + "*" if kind is ObservableCounter else None,
             exemplar_reservoir_factory=_no_exemplars, **raised)
        for kind in (ObservableGauge, ObservableCounter, ObservableUpDownCounter)
    ]
    # Spend points per step: untyped, input and output; a step whose agents use
    # several models has that many more.
    spend = names * steps * (len(TOKEN_TYPES) + 1) * MODELS_PER_STEP
    limits = ((EXECUTION_DURATION, names * steps * len(OUTCOMES)),
              (RUNS, names * len(RUN_OUTCOMES)),
              (RUN_DURATION, names * len(RUN_OUTCOMES)),
              (STEP_COST, spend), (STEP_TOKENS, spend))
    for metric, limit in limits:
        settings: dict[str, Any] = (
            {"aggregation_cardinality_limit": limit} if CARDINALITY_LIMITS else {})
        if metric.kind is Kind.COUNTER:  # observed: no span to lead to
            settings["exemplar_reservoir_factory"] = _no_exemplars
        if settings:
            views.append(View(meter_name=SCOPE, instrument_name=metric.name, **settings))
    return views
