"""The dashboard's state: the newest point of every series, and what the threshold engine said."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from opentelemetry.instrumentation.flujo._internal.samples import (
    Attributes,
    Sample,
    ThresholdPoints,
    flujo_samples,
)


@dataclass
class Board:
    """Thread-safe: the receiver's handler threads write, the display thread reads."""

    latest: dict[tuple[str, str, Attributes], Sample] = field(default_factory=dict)
    thresholds: ThresholdPoints = field(default_factory=ThresholdPoints)
    updated: dict[str, float] = field(default_factory=dict)  # executor -> monotonic time
    updates: int = 0  # update() calls: refreshes in process, OTLP exports via a receiver
    rejected: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _arrived: threading.Event = field(default_factory=threading.Event, repr=False)

    def update(self, samples: Iterable[Sample], replace: bool = False) -> None:
        batch = list(samples)
        found = ThresholdPoints.of(batch)
        now = time.monotonic()
        with self._lock:
            if replace:
                self.latest.clear()
                self.thresholds = ThresholdPoints()
            for s in flujo_samples(batch):
                self.latest[(s.executor, s.metric, s.attributes)] = s
                if s.executor:
                    self.updated[s.executor] = now
            self.thresholds.states.update(found.states)
            self.thresholds.limits.update(found.limits)
            self.updates += 1
            if self.latest:
                self._arrived.set()

    def reject(self) -> None:
        with self._lock:
            self.rejected += 1

    def wait(self, timeout: float) -> bool:
        """True once any flujo point has arrived, waiting up to ``timeout`` seconds."""
        return self._arrived.wait(timeout)

    def copy(self) -> Board:
        with self._lock:
            return Board(dict(self.latest),
                         ThresholdPoints(dict(self.thresholds.states),
                                         dict(self.thresholds.limits)),
                         dict(self.updated), self.updates, self.rejected)
