"""Observable instruments for every catalog metric, reading the shared snapshot."""

from __future__ import annotations

from opentelemetry.metrics import Observation

from opentelemetry.instrumentation.flujo._internal.catalog import (
    CIRCUIT_STATE,
    CIRCUIT_STATES,
    FAILED_STAT,
    METRICS,
    OUTCOME,
    SUCCESS_STAT,
    WEIGHT_STAT,
    Metric,
)
from opentelemetry.instrumentation.flujo._internal.collect.normalise import number
from opentelemetry.instrumentation.flujo._internal.collect.snapshot import Snapshot
from opentelemetry.instrumentation.flujo._internal.otel.binding import Binding, Observe

# Observers return lists, not generators: the binding hands the SDK a list anyway,
# and a comprehension costs less per point than resuming a generator. Every
# Observation is built with all three of its arguments (the context None, its
# default): CPython (3.13) specialises a class call only when the call passes exactly
# the parameters ``__init__`` has, and the generic call costs ~2x as much per point.


def _single(key: str) -> Observe:
    def observe(snapshot: Snapshot) -> list[Observation]:
        return [
            Observation(value, group.attributes, None)
            for group in snapshot.groups
            if (value := number(group.values, key)) is not None
        ]

    return observe


def _executions(snapshot: Snapshot) -> list[Observation]:
    out = []
    for group in snapshot.groups:
        values = group.values
        # Counters: always numbers (a state has its own observer).
        success = number(values, SUCCESS_STAT)
        failure = number(values, FAILED_STAT)
        if success is not None:
            out.append(Observation(success, group.point_attributes[OUTCOME, "success"], None))
        if failure is not None:
            out.append(Observation(failure, group.point_attributes[OUTCOME, "failure"], None))
        total = values.get(WEIGHT_STAT)
        if isinstance(total, float) and success is not None and failure is not None:
            other = total - success - failure
            if other > 0:
                out.append(Observation(other, group.point_attributes[OUTCOME, "other"], None))
    return out


def _circuit(key: str) -> Observe:
    def observe(snapshot: Snapshot) -> list[Observation]:
        return [
            Observation(1 if state == current else 0,
                        group.point_attributes[CIRCUIT_STATE, state], None)
            for group in snapshot.groups
            if (current := group.values.get(key)) is not None
            for state in CIRCUIT_STATES
        ]

    return observe


def observer(metric: Metric) -> Observe:
    if metric.attributes == (OUTCOME,):
        return _executions
    if metric.attributes == (CIRCUIT_STATE,):
        return _circuit(metric.stats[0].id)
    if metric.derived:
        return _single(metric.name)
    return _single(metric.stats[0].id)


def register_catalog(binding: Binding) -> None:
    for metric in METRICS:
        binding.add_observable(
            metric.name, metric.kind, metric.unit, metric.description, observer(metric)
        )
