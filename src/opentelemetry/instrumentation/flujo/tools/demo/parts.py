"""The reference executor's moving parts, each keeping the counters it reports."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class ObjectPool:
    """Reusable scratch buffers; a miss allocates a new one."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._free: list[bytearray] = []
        self.hits = 0
        self.misses = 0

    def acquire(self) -> bytearray:
        if self._free:
            self.hits += 1
            return self._free.pop()
        self.misses += 1
        return bytearray(1024)

    def release(self, obj: bytearray) -> None:
        if len(self._free) < self.capacity:
            self._free.append(obj)

    @property
    def size(self) -> int:
        return len(self._free)


class LRUCache:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def get(self, key: Hashable) -> tuple[bool, Any]:
        if key in self._data:
            self._data.move_to_end(key)
            self.hits += 1
            return True, self._data[key]
        self.misses += 1
        return False, None

    def put(self, key: Hashable, value: Any) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        if len(self._data) > self.capacity:
            self._data.popitem(last=False)
            self.evictions += 1

    def __len__(self) -> int:
        return len(self._data)


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; half-opens after ``reset_after`` s."""

    def __init__(self, threshold: int = 5, reset_after: float = 2.0) -> None:
        self.threshold = threshold
        self.reset_after = reset_after
        self.consecutive_failures = 0
        self._opened_at: float | None = None

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "CLOSED"
        if time.monotonic() - self._opened_at >= self.reset_after:
            return "HALF_OPEN"
        return "OPEN"

    def allow(self) -> bool:
        return self.state != "OPEN"

    def record(self, ok: bool) -> None:
        if ok:
            self.consecutive_failures = 0
            self._opened_at = None
        else:
            self.consecutive_failures += 1
            if self.consecutive_failures >= self.threshold:
                self._opened_at = time.monotonic()


class TelemetryBatcher:
    """Buffers the executor's own per-execution records and flushes them in batches."""

    def __init__(self, batch_size: int = 50) -> None:
        self.batch_size = batch_size
        self._buffer: list[float] = []
        self.collected = 0
        self.flushes = 0
        self.overhead_s = 0.0
        self.started = time.monotonic()

    def record(self, duration_s: float) -> None:
        t0 = time.perf_counter()
        self._buffer.append(duration_s)
        self.collected += 1
        if len(self._buffer) >= self.batch_size:
            self._buffer.clear()
            self.flushes += 1
        self.overhead_s += time.perf_counter() - t0

    @property
    def flush_rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.flushes / elapsed if elapsed > 0 else 0.0
