"""The names OpenTelemetry metrics get in Prometheus, which depend on the path.

``collector``: the OpenTelemetry Collector's ``prometheus`` and
``prometheusremotewrite`` exporters with their default ``add_metric_suffixes: true``
(and Prometheus's own OTLP receiver, which uses the same translator): the name is
split into words on anything that is not a letter or digit, the unit's word is
appended unless the name already has it (``By`` -> ``bytes``, ``s`` -> ``seconds``,
``By/s`` -> ``bytes_per_second``; ``{...}`` annotations give none), monotonic
counters end in ``_total`` and gauges with unit ``1`` in ``_ratio``.

``python``: ``opentelemetry-exporter-prometheus`` (``PrometheusMetricReader``):
the same unit words, but unit ``1`` gives no suffix (no ``_ratio``), the unit is
appended unless the name already *ends* with it, and counters end in ``_total``.
Checked against the installed exporter by tests/test_prometheus_naming.py.
"""

from __future__ import annotations

import enum
import re

from opentelemetry.instrumentation.flujo._internal.catalog import Kind, Metric

# Both translators share these tables (the Python exporter copied the Collector's).
_UNITS = {
    "d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds",
    "us": "microseconds", "ns": "nanoseconds", "By": "bytes", "KiBy": "kibibytes",
    "MiBy": "mebibytes", "GiBy": "gibibytes", "TiBy": "tibibytes", "KBy": "kilobytes",
    "MBy": "megabytes", "GBy": "gigabytes", "TBy": "terabytes", "m": "meters", "V": "volts",
    "A": "amperes", "J": "joules", "W": "watts", "g": "grams", "Cel": "celsius", "Hz": "hertz",
    "1": "", "%": "percent",
}
_PER_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week",
              "mo": "month", "y": "year"}
_NOT_NAME = re.compile(r"[^a-zA-Z0-9:]+")
_NOT_WORD = re.compile(r"[^a-zA-Z0-9]+")


class Naming(enum.Enum):
    COLLECTOR = "collector"
    PYTHON = "python"


def label(attribute: str) -> str:
    """An attribute's label name (the same on both paths)."""
    return _NOT_WORD.sub("_", attribute)


def _unit_words(unit: str) -> tuple[str, str]:
    """(main, per) unit words; a part with a ``{...}`` annotation gives none."""
    main, _, per = (part.strip() for part in unit.partition("/"))
    main_word = "" if "{" in main or "}" in main else _UNITS.get(main, main)
    per_word = "" if not per or "{" in per or "}" in per else _PER_UNITS.get(per, per)
    return _NOT_WORD.sub("_", main_word).strip("_"), _NOT_WORD.sub("_", per_word).strip("_")


def _collector(name: str, unit: str, kind: Kind) -> str:
    words = [w for w in _NOT_WORD.split(name) if w]
    main, per = _unit_words(unit)
    if main and main not in words:
        words.append(main)
    if per and per not in words:
        words += ["per", per]
    if kind is Kind.COUNTER:
        words = [w for w in words if w != "total"] + ["total"]
    if unit == "1" and kind is Kind.GAUGE:
        words = [w for w in words if w != "ratio"] + ["ratio"]
    return "_".join(words)


def _python(name: str, unit: str, kind: Kind) -> str:
    base = _NOT_NAME.sub("_", name)
    main, per = _unit_words(unit)
    suffix = "_".join(filter(None, (main, "per_" + per if per else "")))
    if suffix and not base.endswith("_" + suffix):
        base += "_" + suffix
    if kind is Kind.COUNTER:
        base = base.removesuffix("_total") + "_total"
    return base


def series_name(name: str, unit: str, kind: Kind, naming: Naming) -> str:
    """The series name of an OpenTelemetry metric of instrument kind ``kind``
    (histograms get ``_bucket``/``_sum``/``_count`` on top)."""
    build = _collector if naming is Naming.COLLECTOR else _python
    return build(name, unit, kind)


def metric_series(metric: Metric, naming: Naming) -> str:
    return series_name(metric.name, metric.unit, metric.kind, naming)
