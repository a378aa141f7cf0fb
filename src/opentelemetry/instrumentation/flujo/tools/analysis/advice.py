"""The guide's recommendations, attached to the findings that call for them."""

from __future__ import annotations

from opentelemetry.instrumentation.flujo._internal.catalog import PREFIX

# metric (without "flujo.executor.") -> what to do when it is getting or staying bad.
_ADVICE = {
    "memory.usage": "consider reducing the object pool size to lower memory usage",
    "memory.pressure": "memory pressure is high: reduce concurrency or object pool size",
    "execution.avg_duration": "investigate slow execution: check for performance bottlenecks",
    "execution.max_duration": "look for the slow outliers: timeouts, large inputs, retries",
    "execution.failure_ratio": "investigate the failing executions",
    "error.ratio": "high error rate: investigate error sources",
    "error.recovery_ratio": "few errors recover: review retry and fallback settings",
    "cache.hit_ratio": "low cache hit rate: consider increasing the cache size",
    "concurrency.contention_ratio": "executions wait for slots: raise the concurrency limit",
    "concurrency.avg_wait_time": "executions wait for slots: raise the concurrency limit",
    "queue.size": "work is queueing up: add capacity or shed load",
    "circuit_breaker.status": "the circuit breaker opened: check the failing dependency",
}
ADVICE = {PREFIX + short: text for short, text in _ADVICE.items()}


def advice(metric: str) -> str | None:
    return ADVICE.get(metric)
