"""The threshold layer: rules, evaluation, states and alert events.

``effective_rules(config)`` is the one answer to "which thresholds apply": the catalog's
defaults with the user's file, inline and API overrides. Backends generate their alert
rules from it, the engine (one per runtime, :mod:`.engine`) evaluates it.
"""

from __future__ import annotations

from opentelemetry.instrumentation.flujo._internal.thresholds.overrides import effective_rules
from opentelemetry.instrumentation.flujo._internal.thresholds.rules import (
    LEVELS,
    Rule,
    default_rules,
)

__all__ = ["LEVELS", "Rule", "default_rules", "effective_rules"]
