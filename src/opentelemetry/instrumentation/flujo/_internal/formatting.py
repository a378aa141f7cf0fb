"""Numbers in human units: By -> MiB, s -> ms, ratios -> %, for terminals, reports and plots;
and the closest-name hint that every "not a flujo metric / not installed" message gives."""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable

from opentelemetry.instrumentation.flujo._internal.catalog import MIB

# unit -> (factor to multiply by, unit shown)
_DISPLAY: dict[str, tuple[float, str]] = {
    "By": (1 / MIB, "MiB"),
    "By/s": (1 / MIB, "MiB/s"),
    "s": (1000.0, "ms"),
    "1": (100.0, "%"),
}


def display(unit: str) -> tuple[float, str]:
    """(factor, shown unit) for ``unit``; annotations such as ``{entry}`` show as nothing."""
    if unit in _DISPLAY:
        return _DISPLAY[unit]
    if unit.startswith("{"):
        # "{execution}/s" -> "/s": the annotation is noise in a table of numbers.
        rest = unit[unit.find("}") + 1:] if "}" in unit else ""
        return 1.0, rest
    return 1.0, unit


def number(value: float) -> str:
    """At most four significant digits, no exponent for everyday magnitudes."""
    if math.isnan(value):
        return "nan"
    if abs(value) >= 10_000:
        return f"{value:,.0f}"
    text = f"{value:.4g}"
    if "e" in text:  # tiny non-zero values
        return f"{value:.2e}"
    return text


def human_limit(unit: str, value: float | str | None) -> str:
    """An alert's value or limit (in ``unit``) the way the guide's readers think of it:
    seconds from 1 s up stay seconds, where a table column keeps one unit (``human``)."""
    if value is None or isinstance(value, str):
        return str(value)
    if unit.startswith("By"):
        return f"{value / MIB:.4g} MiB{unit[2:]}"
    if unit == "s":
        return f"{value * 1000:.4g} ms" if value < 1 else f"{value:.4g} s"
    if unit == "1":
        return f"{value * 100:.4g}%"
    return f"{value:.4g} {unit}"


def human(value: float, unit: str) -> str:
    factor, shown = display(unit)
    text = number(value * factor)
    if not shown:
        return text
    return f"{text}{shown}" if shown in ("%", "/s") else f"{text} {shown}"


def did_you_mean(name: str, names: Iterable[str]) -> str:
    """`` (did you mean 'memory.usage'?)`` for the valid name closest to a typo, or ``""``
    when none is close (difflib's 0.6 ratio)."""
    close = difflib.get_close_matches(name, sorted(set(names)), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
