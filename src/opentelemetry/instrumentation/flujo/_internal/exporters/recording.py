"""``flujo_csv`` and ``flujo_jsonl``: every flujo data point of every export, as a row.

Columns: timestamp (ISO 8601, UTC), executor, metric, value, unit, threshold_state
(``ok``/``warning``/``critical`` from the threshold engine, empty when the data carried
none), attributes (the point's other attributes, as a JSON object). The threshold
engine's limit gauges are recorded as rows too (so a report can draw and compare the
limits in force; a limit every name shares has an empty executor); its status gauges
are not: they are each metric's threshold_state. Histograms (self-telemetry
durations) are not recorded.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult

from opentelemetry.instrumentation.flujo._internal.config import recording_path
from opentelemetry.instrumentation.flujo._internal.exporters.appending import append
from opentelemetry.instrumentation.flujo._internal.exporters.sigterm import exit_on_sigterm
from opentelemetry.instrumentation.flujo._internal.samples import (
    ThresholdPoints,
    flujo_samples,
    from_metrics_data,
)
from opentelemetry.instrumentation.flujo.environment_variables import (
    OTEL_PYTHON_FLUJO_CSV_PATH,
    OTEL_PYTHON_FLUJO_JSONL_PATH,
)

_logger = logging.getLogger(__name__)

FIELDS = ("timestamp", "executor", "metric", "value", "unit", "threshold_state", "attributes")
# A cell starting with one of these is a formula to a spreadsheet. "'" is included so
# that the escaping can be undone without ambiguity (see ``unescape_cell``).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def escape_cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def unescape_cell(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_START) else text


def timestamp(time_ns: int) -> str:
    return datetime.fromtimestamp(time_ns / 1e9, tz=timezone.utc).isoformat(
        timespec="microseconds")


def rows(metrics_data: Any) -> list[dict[str, Any]]:
    samples = from_metrics_data(metrics_data)
    states = ThresholdPoints.of(samples).states
    return [{
        "timestamp": timestamp(s.time_ns),
        "executor": s.executor,
        "metric": s.metric,
        "value": s.value,
        "unit": s.unit,
        "threshold_state": states.get((s.executor, s.metric), ""),
        "attributes": dict(s.attributes),
    } for s in flujo_samples(samples)]


class _RecordingExporter(MetricExporter):
    """What the CSV and JSON-lines exporters share: the file (given, or read from the
    exporter's one variable, without building the plugin's runtime), appending each
    export's rows under a lock, and one warning per streak of failed writes. Built by
    the SDK's entry point (``OTEL_METRICS_EXPORTER``) or by the application."""

    def __init__(self, path: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = path or self._configured_path()
        self._lock = threading.Lock()
        self._failing = False
        exit_on_sigterm()

    def _configured_path(self) -> str:
        raise NotImplementedError

    render: Callable[[list[dict[str, Any]], bool], str]

    def export(self, metrics_data: Any, timeout_millis: float = 10_000,
               **kwargs: Any) -> MetricExportResult:
        try:
            batch = rows(metrics_data)
            if batch:
                with self._lock:
                    append(self.path, lambda new_file: self.render(batch, new_file))
        except Exception as error:
            # One warning per failure streak: a full disk must not flood the log.
            if not self._failing:
                _logger.warning("%s could not record to %s: %s", type(self).__name__,
                                self.path, error)
            self._failing = True
            return MetricExportResult.FAILURE
        self._failing = False
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True  # every export is already on disk (fsync)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass  # no file is held open between exports


def render_csv(batch: list[dict[str, Any]], new_file: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if new_file:
        writer.writerow(FIELDS)
    for row in batch:
        writer.writerow([
            row["timestamp"], escape_cell(row["executor"]), row["metric"],
            repr(row["value"]), row["unit"], row["threshold_state"],
            json.dumps(row["attributes"], sort_keys=True) if row["attributes"] else "",
        ])
    return out.getvalue()


def render_jsonl(batch: list[dict[str, Any]], new_file: bool) -> str:
    return "".join(json.dumps(row, sort_keys=True) + "\n" for row in batch)


class CsvMetricExporter(_RecordingExporter):
    """Appends every flujo data point of each export to a CSV file (columns ``FIELDS``;
    cells that a spreadsheet would run as formulas are escaped). A failed write is a
    failed export to the SDK, with one warning per streak of failures; never raises.

    Args:
        path: the file; ``OTEL_PYTHON_FLUJO_CSV_PATH`` (default ``flujo_metrics.csv``)
            when None.
        **kwargs: the SDK ``MetricExporter``'s (``preferred_temporality``,
            ``preferred_aggregation``).
    """

    render = staticmethod(render_csv)

    def _configured_path(self) -> str:
        return recording_path(OTEL_PYTHON_FLUJO_CSV_PATH, "flujo_metrics.csv")


class JsonlMetricExporter(_RecordingExporter):
    """Appends every flujo data point of each export to a file, one JSON object per line
    (keys ``FIELDS``); otherwise like :class:`CsvMetricExporter`.

    Args:
        path: the file; ``OTEL_PYTHON_FLUJO_JSONL_PATH`` (default
            ``flujo_metrics.jsonl``) when None.
        **kwargs: the SDK ``MetricExporter``'s (``preferred_temporality``,
            ``preferred_aggregation``).
    """

    render = staticmethod(render_jsonl)

    def _configured_path(self) -> str:
        return recording_path(OTEL_PYTHON_FLUJO_JSONL_PATH, "flujo_metrics.jsonl")
