"""The process's memory figures for the measured flujo source."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from opentelemetry.instrumentation.flujo._internal.collect.registry import Registry
from opentelemetry.instrumentation.flujo._internal.config import Config
from opentelemetry.instrumentation.flujo._internal.flujo_hooks import process_memory
from opentelemetry.instrumentation.flujo._internal.flujo_hooks.measured import Measured
from opentelemetry.instrumentation.flujo._internal.flujo_hooks.process_memory import (
    MemoryReadings,
    ProcessMemory,
)
from opentelemetry.instrumentation.flujo._internal.flujo_hooks.sources import FlujoSources
from opentelemetry.instrumentation.flujo._internal.rate import MIN_INTERVAL_S, Rate


def test_the_limit_is_read_once_per_second_for_every_name() -> None:
    reads: list[Path] = []

    def limit_now(cgroup_dir: Path) -> int:
        reads.append(cgroup_dir)
        return 8 * 2**30

    clock = [100 * 10**9]  # the runtime's clock: monotonic nanoseconds
    limit = process_memory.MemoryReadings(lambda: clock[0], read=limit_now)
    names = [process_memory.ProcessMemory(limit) for _ in range(10)]
    first = [memory.read() for memory in names]
    assert len(reads) == 1
    assert all(0 < stats["pressure_level"] <= 1 for stats in first)
    clock[0] += int(process_memory.LIMIT_TTL_S * 10**9)
    names[0].read()
    assert len(reads) == 2
    assert reads[0] == reads[1]  # the cgroup is looked up once


def test_a_collection_reads_the_process_memory_once_for_every_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Resident size and page faults are the process's: a collection that reads ten
    measured names reads them once, and the next collection once again."""
    reads: list[int | None] = []
    real = process_memory.rss_bytes

    def rss_bytes() -> int | None:
        reads.append(value := real())
        return value

    monkeypatch.setattr(process_memory, "rss_bytes", rss_bytes)
    clock = [100 * 10**9]
    sources = FlujoSources(Registry(), Config(), lambda: clock[0])
    names = [Measured(f"pipeline-{i}", sources) for i in range(10)]
    first = [name.get_optimization_stats()["memory"] for name in names]
    assert len(reads) == 1
    assert all(stats["usage_mb"] == first[0]["usage_mb"] for stats in first)
    clock[0] += 60 * 10**9  # the next export interval's collection
    for name in names:
        name.get_optimization_stats()
    assert len(reads) == 2


def test_the_limit_is_the_tightest_that_applies() -> None:
    limit = process_memory.MemoryReadings(time.monotonic_ns)
    found = limit.limit_bytes()
    assert found is not None and found > 0
    assert process_memory.limit_now(Path("/nonexistent")) >= found


def test_a_rate_needs_two_readings_a_real_interval_apart() -> None:
    rate = Rate()
    assert rate.update(100, 10.0) is None  # one reading is no rate
    assert rate.update(5000, 10.002) is None  # a second reader's collection, 2 ms later
    assert rate.update(300, 11.0) is None  # went down: a reset, starts again
    assert rate.update(1300, 12.0) == 1000.0  # over a real interval
    # Readings sooner than MIN_INTERVAL_S after the last one get that rate, not one over
    # their own few milliseconds (which a burst would make huge).
    assert rate.update(99_999, 12.0 + MIN_INTERVAL_S / 100) == 1000.0
    assert rate.update(100_300, 13.0) == 99_000.0  # and the next one is over its interval


def test_two_readers_do_not_turn_page_fault_noise_into_an_allocation_rate() -> None:
    now = [10**9]
    memory = ProcessMemory(MemoryReadings(lambda: now[0]))
    assert "allocation_rate_mb_s" not in memory.read()
    now[0] += 10**6  # a millisecond later
    junk = [bytearray(4096) for _ in range(2000)]  # ~8 MiB of fresh pages, at once
    # The second reader, right after: no rate over a few microseconds of faults.
    assert "allocation_rate_mb_s" not in memory.read()
    del junk
