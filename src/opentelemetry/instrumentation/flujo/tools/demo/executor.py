"""The reference executor: the test subject and the demo.

Every stat it reports comes from its real state (pool, cache, semaphore, breaker,
error-pattern cache, telemetry batcher), in the monitoring guide's schema and units
(percent rates, ms, MB).
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from opentelemetry.instrumentation.flujo.tools.demo.parts import (
    CircuitBreaker,
    LRUCache,
    ObjectPool,
    TelemetryBatcher,
)

try:
    import resource
except ImportError:  # Windows: no getrusage (nor /proc)
    resource = None  # type: ignore[assignment]

Task = Callable[[bytearray], Awaitable[Any]]


class CircuitOpenError(RuntimeError):
    pass


def _percent(part: float, whole: float) -> float | None:
    # No requests yet means no rate: reported absent, not as a 0% that would alert.
    return 100.0 * part / whole if whole else None


def _present(section: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in section.items() if value is not None}


class ReferenceExecutor:
    def __init__(
        self,
        max_concurrency: int = 8,
        cache_capacity: int = 128,
        pool_capacity: int = 16,
        memory_limit_mb: float = 1024.0,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.max_concurrency = max_concurrency
        self.memory_limit_mb = memory_limit_mb
        self.pool = ObjectPool(pool_capacity)
        self.cache = LRUCache(cache_capacity)
        self.breaker = breaker or CircuitBreaker()
        self.telemetry = TelemetryBatcher()
        self.error_patterns: dict[str, int] = {}
        self._lock = threading.Lock()
        self._semaphore: asyncio.Semaphore | None = None
        self._running = 0
        self._waiting = 0
        self._waited = 0
        self._wait_s = 0.0
        self._total = self._ok = self._failed = 0
        self._recovered = self._errors = 0
        self._sum_s = 0.0
        self._min_s = math.inf
        self._max_s = 0.0
        self._cleanups = 0
        self._alloc_started = time.monotonic()
        self._allocated_mb = 0.0

    async def execute(
        self, task: Task, key: Hashable | None = None, retries: int = 0
    ) -> Any:
        """Run ``task``; a result cached under ``key`` is returned without running it."""
        if key is not None:
            with self._lock:
                hit, value = self.cache.get(key)
            if hit:
                return value
        if not self.breaker.allow():
            raise CircuitOpenError("circuit open")
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.max_concurrency)
        t_wait = time.perf_counter()
        self._waiting += 1
        contended = self._semaphore.locked()
        async with self._semaphore:
            self._waiting -= 1
            if contended:
                self._waited += 1
            self._wait_s += time.perf_counter() - t_wait
            return await self._run(task, key, retries)

    async def _run(self, task: Task, key: Hashable | None, retries: int) -> Any:
        self._running += 1
        started = time.perf_counter()
        buffer = self.pool.acquire()
        self._allocated_mb += len(buffer) / (1024 * 1024)
        ok = False
        try:
            for attempt in range(retries + 1):
                try:
                    value = await task(buffer)
                    ok = True
                    if attempt:
                        self._recovered += 1
                    break
                except Exception as error:
                    self._errors += 1
                    pattern = type(error).__name__
                    self.error_patterns[pattern] = self.error_patterns.get(pattern, 0) + 1
                    if attempt == retries:
                        raise
            if key is not None:
                with self._lock:
                    self.cache.put(key, value)
            return value
        finally:
            elapsed = time.perf_counter() - started
            self.pool.release(buffer)
            self._running -= 1
            self.breaker.record(ok)
            self.telemetry.record(elapsed)
            with self._lock:
                self._total += 1
                self._ok += ok
                self._failed += not ok
                self._sum_s += elapsed
                self._min_s = min(self._min_s, elapsed)
                self._max_s = max(self._max_s, elapsed)

    def cleanup(self) -> None:
        """Drop pooled objects and the error-pattern cache (a memory clean-up event)."""
        self.pool._free.clear()
        self.error_patterns.clear()
        self._cleanups += 1

    def get_optimization_stats(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            total, ok, failed = self._total, self._ok, self._failed
            sum_s, min_s, max_s = self._sum_s, self._min_s, self._max_s
        pool, cache = self.pool, self.cache
        pool_requests = pool.hits + pool.misses
        lookups = cache.hits + cache.misses
        traced = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else None
        usage_mb = (traced if traced is not None else _rss_bytes()) / (1024 * 1024)
        elapsed = max(time.monotonic() - self._alloc_started, 1e-9)
        execution: dict[str, Any] = {
            "total_executions": total,
            "successful_executions": ok,
            "failed_executions": failed,
        }
        if total:
            execution.update(
                avg_time_ms=1000 * sum_s / total, min_time_ms=1000 * min_s, max_time_ms=1000 * max_s
            )
        stats = {
            "memory": {
                "object_pool_utilization": _percent(pool.size, pool.capacity),
                "objects_in_pool": pool.size,
                "pool_hit_rate": _percent(pool.hits, pool_requests),
                "pool_miss_rate": _percent(pool.misses, pool_requests),
                "usage_mb": usage_mb,
                "pressure_level": min(usage_mb / self.memory_limit_mb, 1.0),
                "allocation_rate_mb_s": self._allocated_mb / elapsed,
                "cleanup_events": self._cleanups,
            },
            "execution": execution,
            "cache": {
                "hit_rate": _percent(cache.hits, lookups),
                "size": len(cache),
                "capacity": cache.capacity,
                "utilization": _percent(len(cache), cache.capacity),
                "evictions": cache.evictions,
                "misses": cache.misses,
            },
            "concurrency": {
                "current_level": self._running,
                "max_level": self.max_concurrency,
                "avg_wait_time_ms": 1000 * self._wait_s / total if total else None,
                "contention_rate": _percent(self._waited, total),
                "queue_size": self._waiting,
            },
            "error_handling": {
                "error_rate": _percent(failed, total),
                "recovery_success_rate": _percent(self._recovered, self._errors),
                "cached_patterns": len(self.error_patterns),
                "circuit_breaker_state": self.breaker.state,
                "failure_count": self.breaker.consecutive_failures,
            },
            "telemetry": {
                "batch_size": self.telemetry.batch_size,
                "flush_rate": self.telemetry.flush_rate,
                "overhead_ms": 1000 * self.telemetry.overhead_s / max(self.telemetry.collected, 1),
                "metrics_collected": self.telemetry.collected,
            },
        }
        return {category: _present(section) for category, section in stats.items()}


def _rss_bytes() -> float:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        if resource is None:  # unknown here: NaN is dropped by normalisation, never a 0
            return math.nan
        # Peak rather than current RSS, on systems without /proc.
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
