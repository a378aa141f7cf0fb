"""Raw executor stats -> clean numbers in OpenTelemetry units.

A value that is not a usable number is *absent* for that collection (no data point,
never a 0) and counted by reason; the monitoring guide's ``'N/A'`` strings, ``None``,
NaN, booleans and negative counts all end here.
"""

from __future__ import annotations

import difflib
import itertools
import logging
import math
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from decimal import Decimal
from numbers import Real
from typing import Any, NamedTuple, Protocol, cast

from opentelemetry.instrumentation.flujo._internal.catalog import (
    CATEGORIES,
    MIB,
    STATS,
    Conversion,
)

_logger = logging.getLogger(__name__)


class Log(Protocol):
    """``Dispatcher.log``: ``logger.log(level, message, *args)`` on the dispatcher's
    logging thread, so that a collection runs no log handler."""

    def __call__(self, logger: logging.Logger, level: int, message: str, *args: Any,
                 exc_info: bool = False) -> None: ...

Values = dict[str, "float | str"]
# ``values.get(stat)`` for a numeric stat (every stat but a state, which its own
# observer reads): ``dict.get`` typed for it once, so the per-point paths of a
# collection pay no ``typing.cast`` call (420 calls a collection at 10 names).
number: Callable[[Values, str], float | None] = cast(
    "Callable[[Values, str], float | None]", dict.get)


_LARGEST = sys.float_info.max
_EXACT = frozenset((float, int))  # the types converted inline (see Convert)


class Dropped(Exception):
    """A value that normalisation refuses, with the reason it is counted under."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _number(value: Any) -> float:
    """A finite, non-negative number, else :class:`Dropped` with the reason. The usual
    values (a float or int in range) never get here: see ``Normaliser.normalise``."""
    if isinstance(value, bool):
        raise Dropped("bool")
    if not isinstance(value, (Real, Decimal)):
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


class Convert(NamedTuple):
    """How one conversion turns a raw value into the exported number.

    The usual value, a float or an int within ``[0, upper]``, is converted inline by
    the normaliser as ``value * times / over`` (one of the two is 1.0, so that is bit
    for bit what ``convert`` returns); any other value goes through ``convert``, which
    converts it or refuses it with the reason.
    """

    convert: Callable[[Any], Any]
    upper: float
    times: float = 1.0
    over: float = 1.0


def converters(rate_unit: str) -> dict[Conversion, Convert]:
    rate, mib = (100.0 if rate_unit == "percent" else 1.0), float(MIB)
    return {
        Conversion.RATE: Convert(_ratio(rate), rate, over=rate),
        Conversion.RATIO: Convert(_ratio(1.0), 1.0),
        # Up to the largest value whose product is still finite (MIB is a power of two).
        Conversion.MIB: Convert(_scaled(mib), _LARGEST / mib, times=mib),
        Conversion.MIB_PER_S: Convert(_scaled(mib), _LARGEST / mib, times=mib),
        Conversion.MS: Convert(_scaled(0.001), _LARGEST, times=0.001),
        Conversion.COUNT: Convert(_number, _LARGEST),
        Conversion.STATE: Convert(_state, -math.inf),  # no number is a state
    }


# Unknown (executor name, category, key) triples warned about, at most: a source that
# invents a new key on every read must not grow the set without end.
MAX_WARNED_KEYS = 1000
# Keys of one section looked at for the warning, at most, per read.
EXAMINED_KEYS = 100


class Normaliser:
    """Compiled once per configuration; ``normalise`` runs once per executor per collection.

    Owns the once-per-runtime memory of the unknown keys it has warned about; warns
    through ``log`` (the dispatcher's: it runs inside a collection).
    """

    def __init__(self, rate_unit: str, log: Log) -> None:
        self._log = log
        convert = converters(rate_unit)
        # Per category: each stat's key, id and conversion (Convert's fields).
        by_category: dict[str, list[tuple[str, str, Callable[[Any], Any], float, float,
                                          float]]] = {}
        for stat in STATS:
            by_category.setdefault(stat.category, []).append(
                (stat.key, stat.id, *convert[stat.conversion]))
        self._plan = tuple((category, tuple(specs)) for category, specs in by_category.items())
        self._known = {category: tuple(key for key, *_ in specs)
                       for category, specs in by_category.items()}
        self._undefined = tuple((s.id, s.undefined_when_zero) for s in STATS
                                if s.undefined_when_zero)
        self._warned: set[tuple[str, str, str]] = set()

    def normalise(self, raw: Any, dropped: Counter[str], name: str = "") -> Values:
        """Clean values keyed by stat id; every refused value is added to ``dropped``.

        ``name`` (the executor's) is only used to name it in the warning about a key
        the catalog does not know.
        """
        values: Values = {}
        # ``type(...) is dict`` first: the Mapping ABC check costs ~0.3 us a time.
        if type(raw) is not dict and not isinstance(raw, Mapping):
            dropped["not_a_mapping"] += 1
            self._garbage(name, "get_optimization_stats()", raw, "not_a_mapping")
            return values
        categories = 0
        for category, specs in self._plan:
            section = raw.get(category)
            if section is None:
                categories += category in raw  # known, though empty
                continue
            categories += 1
            if type(section) is not dict and not isinstance(section, Mapping):
                dropped["not_a_mapping"] += 1
                self._garbage(name, f"stats category {category}", section, "not_a_mapping")
                continue
            # Counted rather than compared as sets: an unknown key costs nothing until
            # there is one.
            found = 0
            for key, stat_id, convert, upper, times, over in specs:
                value = section.get(key)
                if value is None:
                    if key in section:
                        found += 1
                        dropped["null"] += 1
                    continue
                found += 1
                # The usual value inline (see Convert): no call per stat. An exact type
                # check (no bool): isinstance against the Real ABC costs more than the rest.
                if type(value) in _EXACT and 0 <= value <= upper:
                    values[stat_id] = value * times / over
                    continue
                try:
                    values[stat_id] = convert(value)
                except Dropped as refused:
                    dropped[refused.reason] += 1
                    if refused.reason == "not_a_number":
                        self._garbage(name, f"stat {category}.{key}", value, "not_a_number")
            if len(section) > found:
                self._unknown(name, category, section, len(section) - found, dropped)
        if len(raw) > categories:
            self._unknown(name, "", raw, len(raw) - categories, dropped)
        # A ratio of nothing (0/0) is no evidence: absent, never a 0 % that alerts.
        undefined = [stat_id for stat_id, denominator in self._undefined
                     if values.get(stat_id) == 0 and values.get(denominator) == 0]
        for stat_id in undefined:
            del values[stat_id]
            dropped["undefined"] += 1
        return values

    def _garbage(self, name: str, where: str, value: Any, reason: str) -> None:
        """Warn once per executor name and place about a value that is not what the
        guide's schema says (None, "lots"): counted alone, it would go unexplained."""
        warned = (name, where, reason)
        if warned in self._warned or len(self._warned) >= MAX_WARNED_KEYS:
            return
        self._warned.add(warned)
        shown = repr(value) if isinstance(value, (str, int, float)) or value is None \
            else f"a {type(value).__name__}"
        self._log(
            _logger, logging.WARNING,
            "executor %r: %s is %s, not %s, so it is not exported (counted in "
            "flujo.otel.stats.dropped{reason=\"%s\"}; warned once per executor name)",
            name, where, shown[:80], "a mapping" if reason == "not_a_mapping" else "a number",
            reason)

    def _unknown(self, name: str, category: str, section: Mapping[Any, Any], unknown: int,
                 dropped: Counter[str]) -> None:
        """Count the ``unknown`` keys the catalog does not know, and warn once per executor
        name and key about those among the first EXAMINED_KEYS (a source may send
        thousands: the cost per read stays bounded)."""
        dropped["unknown"] += unknown
        known = self._known.get(category, CATEGORIES)
        for key in itertools.islice(section, EXAMINED_KEYS):
            if key in known:
                continue
            shown = key[:100] if isinstance(key, str) else f"<{type(key).__name__} key>"
            warned = (name, category, shown)
            if warned in self._warned or len(self._warned) >= MAX_WARNED_KEYS:
                continue
            self._warned.add(warned)
            (closest,) = difflib.get_close_matches(shown, known, n=1, cutoff=0.0)
            if not shown.isprintable():  # no forged log lines
                shown = repr(shown)
            self._log(
                _logger, logging.WARNING,
                "executor %r reports %s, which the metric catalog does not know, so it is "
                "not exported; the closest known is %s (counted in flujo.otel.stats.dropped"
                "{reason=\"unknown\"}; warned once per executor name and key)",
                name, f"stat {category}.{shown}" if category else f"stats category {shown}",
                f"{category}.{closest}" if category else closest)
