"""One flat shape for metric data points, whatever they came from.

The dashboard, the recording exporters and the report all work on ``Sample``s: SDK
``MetricsData`` (in-process readers, exporters) and OTLP protobuf requests (the
``top`` receiver) are both flattened to it here, and the threshold engine's points are
read back into a state and limits per executor and metric.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from opentelemetry.instrumentation.flujo._internal.catalog import (
    EXECUTOR_NAME,
    PIPELINE_NAME,
    PREFIX,
    SELF_BY_NAME,
    SYNC_BY_NAME,
    THRESHOLD_LEVEL,
    THRESHOLD_STATES,
    checked_metric,
)

Attributes = tuple[tuple[str, str], ...]
T = TypeVar("T")
_SEVERITY = frozenset(float(rank) for rank in range(len(THRESHOLD_STATES)))
_LEVELS = THRESHOLD_STATES[1:]  # the levels a limit gauge's points carry


@dataclass(frozen=True)
class Sample:
    """One exported data point, flattened: what the recorders write and the tools read."""

    time_ns: int
    executor: str
    metric: str
    value: float
    unit: str
    # Attributes other than the executor name, sorted, as strings.
    attributes: Attributes = field(default=())

    def attribute(self, name: str) -> str | None:
        return dict(self.attributes).get(name)


def label(metric: str, attributes: Attributes) -> str:
    """A series' short label: ``execution.avg_duration``, ``executions{outcome=failure}``."""
    name = metric.removeprefix(PREFIX)
    extra = ",".join(f"{key.rsplit('.', 1)[-1]}={value}" for key, value in attributes)
    return f"{name}{{{extra}}}" if extra else name


def make_sample(time_ns: int, metric: str, unit: str, attributes: Any, value: Any) -> Sample:
    attrs = {str(k): str(v) for k, v in dict(attributes).items()}
    # Run and spend points belong to a pipeline: its name is the executor's (runs.py).
    executor = attrs.pop(EXECUTOR_NAME, "") or attrs.pop(PIPELINE_NAME, "")
    return Sample(int(time_ns), executor, metric, float(value), unit or "",
                  tuple(sorted(attrs.items())))


def from_metrics_data(data: Any) -> list[Sample]:
    """Every number point (Gauge, Sum) in SDK ``MetricsData``; histograms are skipped."""
    out: list[Sample] = []
    if data is None:
        return out
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in getattr(metric.data, "data_points", ()):
                    value = getattr(point, "value", None)
                    if value is not None:
                        out.append(make_sample(point.time_unix_nano, metric.name,
                                               metric.unit or "", point.attributes, value))
    return out


def is_limit(metric: str) -> bool:
    """A threshold limit gauge (``flujo.executor.threshold.<metric>``)."""
    found = checked_metric(metric)
    return found is not None and not found[1]


def is_status(metric: str) -> bool:
    """A threshold status gauge (``flujo.executor.threshold.status.<metric>``)."""
    found = checked_metric(metric)
    return found is not None and found[1]


def limit_of(metric: str) -> str:
    """The metric a threshold limit or status gauge is about."""
    found = checked_metric(metric)
    return found[0] if found else metric


def levels_for(limits: Mapping[tuple[str, str, str], T], executor: str,
               metric: str) -> dict[str, T]:
    """``executor``'s limits of ``metric`` by level: its own where the engine exported
    any (a relative or per-pipeline limit), else the metric's, exported without a name."""
    def of(name: str) -> dict[str, T]:
        return {level: limits[key] for level in _LEVELS
                if (key := (name, metric, level)) in limits}

    return of(executor) or of("")


@dataclass
class ThresholdPoints:
    """What the threshold engine said in one batch: state and limits per executor and
    metric (limits exported without a name are under executor ``""``)."""

    states: dict[tuple[str, str], str] = field(default_factory=dict)
    limits: dict[tuple[str, str, str], float] = field(default_factory=dict)

    @classmethod
    def of(cls, samples: Iterable[Sample]) -> ThresholdPoints:
        points = cls()
        for s in samples:
            found = checked_metric(s.metric)
            if found is None:
                continue
            metric, status = found
            if status:
                if s.value in _SEVERITY:
                    points.states[(s.executor, metric)] = THRESHOLD_STATES[int(s.value)]
            else:
                level = s.attribute(THRESHOLD_LEVEL)
                if level:
                    points.limits[(s.executor, metric, level)] = s.value
        return points


def flujo_samples(samples: Iterable[Sample]) -> Iterator[Sample]:
    """The points worth recording or showing: flujo's, minus the threshold status points
    (their content travels as each metric's threshold state)."""
    for s in samples:
        if (s.metric.startswith(PREFIX) or s.metric in SELF_BY_NAME
                or s.metric in SYNC_BY_NAME) and not is_status(s.metric):
            yield s
