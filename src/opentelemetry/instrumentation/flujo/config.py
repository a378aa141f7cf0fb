"""Reads and validates the ``OTEL_PYTHON_FLUJO_*`` environment, once.

A bad value never raises: it gets one warning that names the variable, the value
given and the value used instead.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from opentelemetry.instrumentation.flujo import environment_variables as ev

_logger = logging.getLogger(__name__)

T = TypeVar("T")

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


@dataclass(frozen=True)
class Config:
    enabled: bool = True
    excluded_metrics: tuple[str, ...] = ()
    rate_unit: str = "percent"
    max_executor_names: int = 100
    stats_timeout_s: float = 1.0


MAX_LOGGED_VALUE = 80


def warn_invalid(variable: str, value: str, problem: str, used: object) -> None:
    # repr() escapes control characters (no forged log lines); a huge value is cut.
    shown = value if len(value) <= MAX_LOGGED_VALUE else value[:MAX_LOGGED_VALUE] + "..."
    _logger.warning("%s=%r %s; using %r instead", variable, shown, problem, used)


def read(
    environ: Mapping[str, str],
    variable: str,
    parse: Callable[[str], T],
    default: T,
    problem: str,
) -> T:
    """The parsed value of ``variable``, or ``default`` with one warning if it is bad."""
    raw = environ.get(variable)
    if raw is None or raw.strip() == "":
        return default
    try:
        return parse(raw.strip())
    except (ValueError, TypeError, OverflowError):
        warn_invalid(variable, raw, problem, default)
        return default


def parse_bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(raw)


def parse_choice(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        lowered = raw.lower()
        if lowered not in choices:
            raise ValueError(raw)
        return lowered

    return parse


def parse_int(minimum: int, maximum: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw)
        if not minimum <= value <= maximum:
            raise ValueError(raw)
        return value

    return parse


def parse_float(minimum: float, maximum: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        value = float(raw)
        # NaN fails both comparisons, so it is rejected here too.
        if not minimum <= value <= maximum:
            raise ValueError(raw)
        return value

    return parse


def parse_globs(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    env = os.environ if environ is None else environ
    default = Config()
    return Config(
        enabled=read(env, ev.OTEL_PYTHON_FLUJO_ENABLED, parse_bool, default.enabled,
                     "is not true or false"),
        excluded_metrics=read(env, ev.OTEL_PYTHON_FLUJO_EXCLUDED_METRICS, parse_globs,
                              default.excluded_metrics, "is not a list of globs"),
        rate_unit=read(env, ev.OTEL_PYTHON_FLUJO_RATE_UNIT, parse_choice("percent", "ratio"),
                       default.rate_unit, "is not 'percent' or 'ratio'"),
        max_executor_names=read(env, ev.OTEL_PYTHON_FLUJO_MAX_EXECUTOR_NAMES,
                                parse_int(1, 100_000), default.max_executor_names,
                                "is not a whole number from 1 to 100000"),
        stats_timeout_s=read(env, ev.OTEL_PYTHON_FLUJO_STATS_TIMEOUT,
                             parse_float(1.0, 600_000.0), default.stats_timeout_s * 1000,
                             "is not a number of milliseconds from 1 to 600000") / 1000,
    )
