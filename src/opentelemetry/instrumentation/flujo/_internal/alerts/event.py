"""The alert event: one threshold state transition of one metric of one executor name."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from opentelemetry.instrumentation.flujo._internal.catalog import (
    THRESHOLD_SEVERITY,
    THRESHOLD_STATES,
)
from opentelemetry.instrumentation.flujo._internal.formatting import human_limit


@dataclass(frozen=True)
class AlertEvent:
    """``metric`` of executor name ``executor`` went from ``old_state`` to ``new_state``.

    ``value`` and ``limit`` are in ``unit`` (the metric's OTel unit; ``unit``/s for a
    counter-rate rule). ``limit`` is the limit that was crossed (multiplied out for a
    relative rule); for the circuit-breaker state rule ``value`` and ``limit`` are states.

    Args:
        executor: the ``flujo.executor.name``.
        metric: the catalog metric's full name.
        old_state: ``ok``, ``warning`` or ``critical``.
        new_state: likewise.
        value: the value that made the transition.
        limit: the limit crossed, or None.
        unit: the unit of ``value`` and ``limit``.
        direction: ``above`` or ``below``: the side of the limit that is a breach.
        time_unix_nano: when the snapshot that saw it was taken.
    """

    executor: str
    metric: str
    old_state: str
    new_state: str
    value: float | str
    limit: float | str | None
    unit: str
    direction: str
    time_unix_nano: int

    @property
    def severity(self) -> int:
        """The more severe of the two states: what a handler's minimum level is checked on."""
        return max(THRESHOLD_SEVERITY[self.old_state], THRESHOLD_SEVERITY[self.new_state])

    @property
    def level(self) -> str:
        """``warning`` or ``critical``: the more severe state's name, which log records use,
        so a recovery is logged at the level of the state it leaves (critical -> ok at
        ERROR, like ok -> critical) and shows wherever the entry showed."""
        return THRESHOLD_STATES[self.severity]

    @property
    def timestamp(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.time_unix_nano / 1e9, datetime.timezone.utc)

    @property
    def message(self) -> str:
        if isinstance(self.value, str):
            detail = f"state {self.value}"
        else:
            sign = ">" if self.direction == "above" else "<"
            detail = f"value {human_limit(self.unit, self.value)}, limit {sign} " \
                     f"{human_limit(self.unit, self.limit)}"
        return (f"{self.metric} on {self.executor!r}: {self.old_state} -> {self.new_state} "
                f"({detail})")

    def to_dict(self) -> dict[str, Any]:
        """The JSON payload of webhooks and e-mails."""
        return {
            "executor": self.executor,
            "metric": self.metric,
            "old_state": self.old_state,
            "new_state": self.new_state,
            "value": self.value,
            "limit": self.limit,
            "unit": self.unit,
            "direction": self.direction,
            "timestamp": self.timestamp.isoformat(),
            "time_unix_nano": self.time_unix_nano,
            "message": self.message,
        }
