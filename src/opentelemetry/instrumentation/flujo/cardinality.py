"""SDK views that let every executor name's points through the SDK's cardinality limit.

Since opentelemetry-sdk 1.44 a reader keeps at most 2,000 attribute sets per metric
and folds the rest into one overflow point. ``flujo.executor.threshold.status`` has
three points per checked metric per name (63 per name with the defaults), so past
~31 names some names' states would silently disappear; the duration histogram has
one series per name, step and outcome. These views raise the limit of exactly those
metrics to what the name and step caps allow.
"""

from __future__ import annotations

import inspect

from opentelemetry.sdk.metrics.view import View

from opentelemetry.instrumentation.flujo.catalog import (
    EXECUTION_DURATION,
    METRICS,
    OUTCOMES,
    THRESHOLD_STATUS,
)
from opentelemetry.instrumentation.flujo.config import Config

_STATES = ("ok", "warning", "critical")


def _supported() -> bool:
    return "aggregation_cardinality_limit" in inspect.signature(View.__init__).parameters


def flujo_views(config: Config | None = None) -> list[View]:
    """Views to pass to ``MeterProvider(views=...)``; empty where the SDK has no limit.

    ``flujo-otel``, ``import ...flujo.auto`` and ``flujo-otel demo`` add them to the
    providers they build; add them to your own provider the same way.
    """
    if not _supported():
        return []
    config = config or Config()
    names = config.max_executor_names + 1  # + "_other"
    steps = max(config.max_step_names, 1) + 1
    # Every metric may get a rule (rate rules on counters too): a bound, not a guess.
    status = names * len(METRICS) * len(_STATES)
    duration = names * steps * len(OUTCOMES)
    # Two views only: an instrument that several views match is exported once per view.
    # The other metrics have at most three points per name, well inside the default.
    return [
        View(instrument_name=THRESHOLD_STATUS,
             aggregation_cardinality_limit=status),
        View(instrument_name=EXECUTION_DURATION.name,
             aggregation_cardinality_limit=duration),
    ]
