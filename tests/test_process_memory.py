"""The process's memory figures for the measured flujo source."""

from __future__ import annotations

import pytest

from opentelemetry.instrumentation.flujo._internal.flujo_hooks import process_memory


def test_the_limit_is_read_once_per_second_for_every_name(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[int] = []

    def limit_now() -> int:
        reads.append(1)
        return 8 * 2**30

    clock = [100.0]
    monkeypatch.setattr(process_memory, "_limit_now", limit_now)
    monkeypatch.setattr(process_memory.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(process_memory, "_limit_cache", [])
    names = [process_memory.ProcessMemory() for _ in range(10)]
    first = [memory.read() for memory in names]
    assert len(reads) == 1
    assert all(0 < stats["pressure_level"] <= 1 for stats in first)
    clock[0] += process_memory.LIMIT_TTL_S
    names[0].read()
    assert len(reads) == 2


def test_the_limit_is_the_tightest_that_applies() -> None:
    limit = process_memory._limit_now()
    assert limit is not None and limit > 0
    assert process_memory.memory_limit_bytes() == limit
