"""Raw executor stats -> clean numbers in OpenTelemetry units.

A value that is not a usable number is *absent* for that collection (no data point,
never a 0) and counted by reason; the monitoring guide's ``'N/A'`` strings, ``None``,
NaN, booleans and negative counts all end here.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping
from numbers import Real
from typing import Any

from opentelemetry.instrumentation.flujo.catalog import MIB, STATS, Conversion

Values = dict[str, "float | str"]


class Dropped(Exception):
    """A value that normalisation refuses, with the reason it is counted under."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise Dropped("bool")
    if not isinstance(value, Real):
        raise Dropped("null" if value is None else "not_a_number")
    try:
        number = float(value)
    except (OverflowError, ValueError, TypeError):
        raise Dropped("non_finite") from None
    except Exception:  # a Real subclass's __float__ may raise anything
        raise Dropped("not_a_number") from None
    if not math.isfinite(number):
        raise Dropped("non_finite")
    if number < 0:
        raise Dropped("negative")
    return number


def _ratio(scale: float) -> Callable[[Any], float]:
    def convert(value: Any) -> float:
        ratio = _number(value) / scale
        if ratio > 1.0:
            raise Dropped("out_of_range")
        return ratio

    return convert


def _scaled(factor: float) -> Callable[[Any], float]:
    def convert(value: Any) -> float:
        scaled = _number(value) * factor
        if not math.isfinite(scaled):  # e.g. 1e303 MiB is past float range in bytes
            raise Dropped("non_finite")
        return scaled

    return convert


_STATES = {"CLOSED": "closed", "OPEN": "open", "HALF_OPEN": "half_open"}


def _state(value: Any) -> str:
    if not isinstance(value, str):
        raise Dropped("null" if value is None else "unknown_state")
    state = _STATES.get(value.strip().upper().replace("-", "_"))
    if state is None:
        raise Dropped("unknown_state")
    return state


def converters(rate_unit: str) -> dict[Conversion, Callable[[Any], Any]]:
    return {
        Conversion.RATE: _ratio(100.0 if rate_unit == "percent" else 1.0),
        Conversion.RATIO: _ratio(1.0),
        Conversion.MIB: _scaled(MIB),
        Conversion.MIB_PER_S: _scaled(MIB),
        Conversion.MS: _scaled(0.001),
        Conversion.COUNT: _number,
        Conversion.STATE: _state,
    }


class Normaliser:
    """Compiled once per configuration; ``normalise`` runs once per executor per collection."""

    def __init__(self, rate_unit: str = "percent") -> None:
        convert = converters(rate_unit)
        by_category: dict[str, list[tuple[str, str, Callable[[Any], Any]]]] = {}
        for stat in STATS:
            by_category.setdefault(stat.category, []).append(
                (stat.key, stat.id, convert[stat.conversion])
            )
        self._plan = tuple((cat, tuple(keys)) for cat, keys in by_category.items())

    def normalise(self, raw: Any, dropped: Counter[str]) -> Values:
        """Clean values keyed by stat id; every refused value is added to ``dropped``."""
        values: Values = {}
        if not isinstance(raw, Mapping):
            dropped["not_a_mapping"] += 1
            return values
        for category, keys in self._plan:
            section = raw.get(category)
            if section is None:
                continue
            if not isinstance(section, Mapping):
                dropped["not_a_mapping"] += 1
                continue
            for key, stat_id, convert in keys:
                value = section.get(key)
                if value is None:
                    if key in section:
                        dropped["null"] += 1
                    continue
                try:
                    values[stat_id] = convert(value)
                except Dropped as refused:
                    dropped[refused.reason] += 1
        return values
