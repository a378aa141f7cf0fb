"""Observable instruments for every catalog metric, reading the shared snapshot."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from opentelemetry.metrics import Observation

from opentelemetry.instrumentation.flujo.binding import Binding, Observe
from opentelemetry.instrumentation.flujo.catalog import (
    CIRCUIT_STATE,
    CIRCUIT_STATES,
    EXECUTOR_NAME,
    FAILED_STAT,
    METRICS,
    OUTCOME,
    SUCCESS_STAT,
    WEIGHT_STAT,
    Metric,
)
from opentelemetry.instrumentation.flujo.snapshot import Snapshot


def _single(key: str) -> Observe:
    def observe(snapshot: Snapshot) -> Iterable[Observation]:
        for group in snapshot.groups:
            value = group.values.get(key)
            if value is not None:
                yield Observation(cast(float, value), group.attributes)

    return observe


def _executions(snapshot: Snapshot) -> Iterable[Observation]:
    for group in snapshot.groups:
        values = group.values
        # Counter stats are always numbers; only the circuit state is a string.
        success = cast("float | None", values.get(SUCCESS_STAT))
        failure = cast("float | None", values.get(FAILED_STAT))
        if success is not None:
            yield Observation(success, {EXECUTOR_NAME: group.name, OUTCOME: "success"})
        if failure is not None:
            yield Observation(failure, {EXECUTOR_NAME: group.name, OUTCOME: "failure"})
        total = values.get(WEIGHT_STAT)
        if isinstance(total, float) and success is not None and failure is not None:
            other = total - float(success) - float(failure)
            if other > 0:
                yield Observation(other, {EXECUTOR_NAME: group.name, OUTCOME: "other"})


def _circuit(key: str) -> Observe:
    def observe(snapshot: Snapshot) -> Iterable[Observation]:
        for group in snapshot.groups:
            current = group.values.get(key)
            if current is None:
                continue
            for state in CIRCUIT_STATES:
                yield Observation(
                    1 if state == current else 0,
                    {EXECUTOR_NAME: group.name, CIRCUIT_STATE: state},
                )

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
            metric.name, metric.kind.value, metric.unit, metric.description, observer(metric)
        )
