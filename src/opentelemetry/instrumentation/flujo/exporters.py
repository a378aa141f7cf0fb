"""Recording metric exporters: ``flujo_csv`` and ``flujo_jsonl``.

Registered under the ``opentelemetry_metrics_exporter`` entry point group, so
``OTEL_METRICS_EXPORTER=otlp,flujo_csv`` records next to the normal export.
"""

from opentelemetry.instrumentation.flujo._internal.exporters.recording import (
    FIELDS,
    CsvMetricExporter,
    JsonlMetricExporter,
)

__all__ = ["FIELDS", "CsvMetricExporter", "JsonlMetricExporter"]
