"""Limits as users write them, and values as people read them.

A limit says its unit, so ``500MB`` and ``524288000By`` and ``0.5`` vs ``50%`` can
never be confused: a byte or time limit without a unit is refused, and a bare ratio
must lie in [0, 1]. ``MB``/``KB``/``GB`` are the monitoring guide's megabytes, i.e.
binary (what ``rss / 1024 / 1024`` computes), the same as ``MiB``/``KiB``/``GiB``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from opentelemetry.instrumentation.flujo._internal.catalog import MIB, Kind, Metric, metric_named

BYTES = {"B": 1.0, "By": 1.0, "KiB": 1024.0, "KB": 1024.0, "MiB": float(MIB), "MB": float(MIB),
         "GiB": 1024.0 * MIB, "GB": 1024.0 * MIB}
SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0}
# A budget reads naturally per hour (spend.cost: warning>5/h), a token rate per minute.
PER = {"/s": 1.0, "/min": 1 / 60, "/h": 1 / 3600}

_NUMBER = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(.*?)\s*$")


class LimitError(ValueError):
    """A limit that cannot be read; the message says what to write instead."""


@dataclass(frozen=True)
class Limit:
    """A parsed limit in the metric's exported unit: a fraction of ``relative_to``'s
    value for a relative limit, a per-second increase for a counter's rate."""

    value: float
    relative_to: str | None = None
    rate: bool = False


def _split(text: str) -> tuple[float, str]:
    if text.strip().startswith("-"):
        raise LimitError(f"{text.strip()!r} is negative")
    match = _NUMBER.match(text)
    if match is None:
        raise LimitError(f"{text.strip()!r} is not a number with a unit")
    value = float(match.group(1))
    if not math.isfinite(value):
        raise LimitError(f"{text.strip()!r} is not finite")
    return value, match.group(2)


def _ratio(value: float, suffix: str, text: str) -> float:
    if suffix == "%":
        value /= 100
    elif suffix:
        raise LimitError(f"{text!r}: a ratio is written 0.4 or 40%")
    if value > 1:
        raise LimitError(f"{text!r} is not a ratio in [0, 1]; write 40% or 0.4")
    return value


def _scaled(value: float, suffix: str, table: dict[str, float], text: str, per: str = "") -> float:
    for name, factor in table.items():
        if suffix == name + per:
            return value * factor
    units = ", ".join(name + per for name in table)
    raise LimitError(f"{text!r} needs one of the units {units}")


def parse_limit(metric: Metric, text: str) -> Limit:
    """``text`` as a limit for ``metric``, in the metric's exported unit."""
    text = text.strip()
    if "*" in text:
        fraction_text, _, other = text.partition("*")
        target = metric_named(other)
        if target is None:
            raise LimitError(f"{text!r}: {other.strip()!r} is not a metric")
        if target.unit != metric.unit or target is metric:
            raise LimitError(f"{text!r}: {target.name} is not a capacity for {metric.name}")
        value, suffix = _split(fraction_text)
        if suffix == "%":
            value /= 100
        elif suffix:
            raise LimitError(f"{text!r}: a fraction is written 0.8*{other} or 80%*{other}")
        return Limit(value, relative_to=target.name)
    value, suffix = _split(text)
    if metric.kind is Kind.COUNTER:
        # A counter only grows; what can be limited is how fast.
        if suffix not in PER:
            raise LimitError(f"{text!r}: {metric.name} is a counter; write a rate like 10/s")
        return Limit(value * PER[suffix], rate=True)
    unit = metric.unit
    if unit == "By":
        return Limit(_scaled(value, suffix, BYTES, text))
    if unit == "By/s":
        return Limit(_scaled(value, suffix, BYTES, text, "/s"))
    if unit == "s":
        return Limit(_scaled(value, suffix, SECONDS, text))
    if unit == "1":
        return Limit(_ratio(value, suffix, text))
    if unit.endswith("/s") and suffix in ("", "/s"):
        return Limit(value)
    if suffix:
        raise LimitError(f"{text!r}: {metric.name} is a count ({unit}); write a plain number")
    return Limit(value)


def rate_unit(metric: Metric) -> str:
    return metric.unit + "/s" if metric.kind is Kind.COUNTER else metric.unit

