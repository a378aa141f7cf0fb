"""The threshold layer: rules, evaluation, states and alert events.

``effective_rules(config)`` is the one answer to "which thresholds apply": the catalog's
defaults with the user's file, inline and API overrides. Backends generate their alert
rules from it, the engine evaluates it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from opentelemetry.instrumentation.flujo._internal.thresholds.engine import (
    publish_api,
    publish_hysteresis,
)
from opentelemetry.instrumentation.flujo._internal.thresholds.overrides import (
    effective_rules,
    parse_inline,
    parse_mapping,
)
from opentelemetry.instrumentation.flujo._internal.thresholds.rules import (
    LEVELS,
    Rule,
    default_rules,
)

_logger = logging.getLogger(__name__)

__all__ = [
    "LEVELS",
    "Rule",
    "clear_thresholds",
    "default_rules",
    "effective_rules",
    "set_hysteresis",
    "set_thresholds",
]


def set_thresholds(spec: str | Mapping[str, Any], *, replace: bool = False) -> None:
    """Override thresholds from code; applied after the environment's, from the next
    collection on.

    ``spec`` is the inline syntax (``"memory.usage: warning>600MiB, critical>900MiB"``)
    or a mapping like the file's (``{"cache.hit_ratio": {"warning": "<40%"}}``). Calls
    add up unless ``replace=True``. A bad entry gets one warning and is ignored; never
    raises.
    """
    source = "set_thresholds()"
    if isinstance(spec, str):
        entries = parse_inline(spec, source)
    elif isinstance(spec, Mapping):
        entries = parse_mapping(spec, source)
    else:
        _logger.warning("%s: %r is neither text nor a mapping; ignored", source, spec)
        return
    publish_api(tuple(entries), replace)


def clear_thresholds() -> None:
    """Drop every override made from code (:func:`set_thresholds`, :func:`set_hysteresis`):
    the environment's thresholds and hysteresis apply again."""
    publish_api((), True)
    publish_hysteresis(None)


def set_hysteresis(enter: int = 1, exit: int = 1) -> None:
    """Enter a state after ``enter`` consecutive evaluations beyond its limit and leave it
    after ``exit`` within; overrides ``OTEL_PYTHON_FLUJO_HYSTERESIS_ENTER`` / ``_EXIT``
    from the next collection on. Values outside 1..1000 get one warning and are ignored.
    """
    values = (enter, exit)
    if not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 1000
               for v in values):
        _logger.warning("set_hysteresis(enter=%r, exit=%r): each must be a whole number "
                        "from 1 to 1000; ignored", enter, exit)
        return
    publish_hysteresis((enter, exit))

