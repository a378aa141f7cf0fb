"""The alert event: one threshold state transition of one metric of one executor name."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import Any

from opentelemetry.instrumentation.flujo._internal.catalog import (
    THRESHOLD_SEVERITY,
)
from opentelemetry.instrumentation.flujo._internal.formatting import human_limit

# The log level of a transition, by the state entered: a recovery is not an error
# (log-based paging must not fire on it); leaving critical for warning is a warning.
LOG_LEVEL = {"ok": logging.INFO, "warning": logging.WARNING, "critical": logging.ERROR}


@dataclass(frozen=True)
class AlertEvent:
    """``metric`` of executor name ``executor`` went from ``old_state`` to ``new_state``.

    ``value`` and ``limit`` are in ``unit`` (the metric's OTel unit; ``unit``/s for a
    counter-rate rule). ``limit`` is the limit of the state entered (multiplied out for
    a relative rule): its breach for ``warning`` and ``critical``, the warning limit
    the value is back within for ``ok``; for the circuit-breaker state rule ``value``
    and ``limit`` are states. ``value`` is None when the metric is no longer reported
    (or no longer checked): the state was left because the value stayed absent for
    ``OTEL_PYTHON_FLUJO_THRESHOLD_KEEP_FOR``, as Prometheus resolves an alert whose
    series went away.

    Args:
        executor: the ``flujo.executor.name``.
        metric: the catalog metric's full name.
        old_state: ``ok``, ``warning`` or ``critical``.
        new_state: likewise.
        value: the value that made the transition; None when absent.
        limit: the limit of the state entered, or None.
        unit: the unit of ``value`` and ``limit``.
        direction: ``above`` or ``below``: the side of the limit that is a breach.
        time_unix_nano: when the snapshot that saw it was taken.
    """

    executor: str
    metric: str
    old_state: str
    new_state: str
    value: float | str | None
    limit: float | str | None
    unit: str
    direction: str
    time_unix_nano: int

    @property
    def severity(self) -> int:
        """The more severe of the two states: what a handler's minimum level is checked on."""
        return max(THRESHOLD_SEVERITY[self.old_state], THRESHOLD_SEVERITY[self.new_state])

    @property
    def log_level(self) -> int:
        """The Python logging level of the transition: by the state entered (INFO for a
        recovery, WARNING for warning, ERROR for critical)."""
        return LOG_LEVEL[self.new_state]

    @property
    def timestamp(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.time_unix_nano / 1e9, datetime.timezone.utc)

    @property
    def message(self) -> str:
        if self.value is None:
            detail = "no longer reported"
        elif isinstance(self.value, str):
            detail = f"state {self.value}"
        else:
            # The limit of the state entered: its breach, or for ok the one the value
            # is back within.
            sign = ">" if self.direction == "above" else "<"
            within = "within " if self.new_state == "ok" else ""
            detail = f"value {human_limit(self.unit, self.value)}, {within}limit {sign} " \
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
