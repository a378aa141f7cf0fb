"""SDK views for this package's instruments: every name's points kept, no dead exemplars.

- **Cardinality.** Since opentelemetry-sdk 1.44 a reader keeps at most 2,000
  attribute sets per metric and folds the rest into one overflow point.
  ``flujo.executor.threshold.status`` has three points per checked metric per name
  (63 per name with the defaults), so past ~31 names some names' states would
  silently disappear; the duration histogram has one series per name, step and
  outcome. The views raise those limits to what the name and step caps allow.
- **Exemplars.** An observable instrument's values come from a collection callback,
  where no span is sampled: its default reservoir (one per series) is offered
  nothing, or with an always-on filter only the point's own value without a trace,
  yet the SDK walks and resets every one of them on every collection, ~10% of the
  SDK's collection time. The views give those instruments one shared empty
  reservoir. The duration histogram keeps the SDK's: it is recorded inside the
  step's span, where an exemplar links a slow bucket to its trace.

The views select by instrument type within this package's meter, so no instrument
matches two of them (the SDK exports an instrument once per matching view).
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
    EXECUTION_DURATION,
    METRICS,
    OUTCOMES,
    SCOPE,
    THRESHOLD_STATES,
)
from opentelemetry.instrumentation.flujo._internal.config import Config

_PARAMETERS = inspect.signature(View.__init__).parameters
CARDINALITY_LIMITS = "aggregation_cardinality_limit" in _PARAMETERS


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
    """Views to pass to ``MeterProvider(views=...)``.

    ``flujo-otel``, ``import ...flujo.auto`` and ``flujo-otel demo`` add them to the
    providers they build; add them to your own provider the same way.

    Args:
        config: the settings whose name caps size the cardinality limits; the
            defaults when None.
    """
    config = config or Config()
    names = config.max_executor_names + 1  # + "_other"
    steps = max(config.max_step_names, 1) + 1
    # Every metric may get a rule (rate rules on counters too): a bound, not a guess.
    # The limit is a bound, not an allocation: raising it for every observable
    # up-down counter (status among them) costs the others nothing.
    status: dict[str, Any] = {}
    duration: dict[str, Any] = {}
    if CARDINALITY_LIMITS:
        status["aggregation_cardinality_limit"] = names * len(METRICS) * len(THRESHOLD_STATES)
        duration["aggregation_cardinality_limit"] = names * steps * len(OUTCOMES)
    views = [
        View(meter_name=SCOPE, instrument_type=kind, exemplar_reservoir_factory=_no_exemplars,
             **(status if kind is ObservableUpDownCounter else {}))
        for kind in (ObservableGauge, ObservableCounter, ObservableUpDownCounter)
    ]
    if duration:
        views.append(View(meter_name=SCOPE, instrument_name=EXECUTION_DURATION.name,
                          **duration))
    return views
