"""Prometheus's template functions for numbers, and which one suits each unit.

An alert annotation shows the value with ``{{ $value | <function> }}`` and the limit,
rendered here at generation time by the same rules (Prometheus 2.x
``template/template.go``), so both read alike ("612MiB, above 500MiB"). The promtool
tests expand annotations with these functions too, so a divergence fails a test.
"""

from __future__ import annotations

import math
from collections.abc import Callable


def _g4(value: float) -> str:
    # Go's %.4g and Python's agree for finite numbers.
    return f"{value:.4g}"


def _scaled(value: float, up: tuple[str, ...], down: tuple[str, ...], step: float) -> str:
    prefix = ""
    if abs(value) >= 1:
        for p in up:
            if abs(value) < step:
                break
            prefix, value = p, value / step
    else:
        for p in down:
            if abs(value) >= 1:
                break
            prefix, value = p, value * step
    return _g4(value) + prefix


def humanize(value: float) -> str:
    if value == 0 or not math.isfinite(value):
        return _g4(value)
    return _scaled(value, ("k", "M", "G", "T", "P", "E", "Z", "Y"),
                   ("m", "u", "n", "p", "f", "a", "z", "y"), 1000)


def humanize1024(value: float) -> str:
    if abs(value) <= 1 or not math.isfinite(value):
        return _g4(value)
    return _scaled(value, ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"), (), 1024)


def humanize_duration(value: float) -> str:
    if not math.isfinite(value):
        return _g4(value)
    if value == 0:
        return _g4(value) + "s"
    if abs(value) < 1:
        return _scaled(value, (), ("m", "u", "n", "p", "f", "a", "z", "y"), 1000) + "s"
    sign = "-" if value < 0 else ""
    whole = int(abs(value))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
    if hours:
        return f"{sign}{hours}h {minutes}m {seconds}s"
    if minutes:
        return f"{sign}{minutes}m {seconds}s"
    return f"{sign}{_g4(abs(value))}s"


def humanize_percentage(value: float) -> str:
    return _g4(value * 100) + "%"


FUNCTIONS: dict[str, Callable[[float], str]] = {
    "humanize": humanize,
    "humanize1024": humanize1024,
    "humanizeDuration": humanize_duration,
    "humanizePercentage": humanize_percentage,
}

# OpenTelemetry unit -> (template function, suffix). Anything else is a count.
_BY_UNIT = {
    "By": ("humanize1024", "B"),
    "By/s": ("humanize1024", "B/s"),
    "s": ("humanizeDuration", ""),
    "1": ("humanizePercentage", ""),
}


def _format(unit: str, rate: bool) -> tuple[str, str]:
    if rate:
        return "humanize", "/s"
    return _BY_UNIT.get(unit, ("humanize", ""))


def value_template(unit: str, rate: bool = False) -> str:
    """The annotation text that shows an alert's ``$value`` in ``unit``."""
    function, suffix = _format(unit, rate)
    return f"{{{{ $value | {function} }}}}{suffix}"


def human(value: float, unit: str, rate: bool = False) -> str:
    """``value`` as ``value_template`` would show it."""
    function, suffix = _format(unit, rate)
    return FUNCTIONS[function](value) + suffix
