"""OTLP/HTTP protobuf request bodies -> ``Sample``s."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from opentelemetry.instrumentation.flujo._internal.samples import Sample, make_sample


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else ""


def parse(body: bytes) -> list[Sample]:
    """Number points of an ``ExportMetricsServiceRequest``; raises ``ValueError`` on garbage."""
    request = ExportMetricsServiceRequest()
    try:
        request.ParseFromString(body)
    except Exception as error:  # protobuf's DecodeError, or RuntimeWarning-ish oddities
        raise ValueError(f"not an OTLP metrics request: {error}") from error
    out = []
    for resource_metrics in request.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                if kind not in ("gauge", "sum"):
                    continue
                for point in getattr(metric, kind).data_points:
                    number = point.WhichOneof("value")
                    if number is None:
                        continue
                    attributes = {kv.key: _value(kv.value) for kv in point.attributes}
                    out.append(make_sample(point.time_unix_nano, metric.name, metric.unit,
                                           attributes, getattr(point, number)))
    return out
