"""The process's memory figures for the measured flujo source."""

from __future__ import annotations

from pathlib import Path

from opentelemetry.instrumentation.flujo._internal.flujo_hooks import process_memory


def test_the_limit_is_read_once_per_second_for_every_name() -> None:
    reads: list[Path] = []

    def limit_now(cgroup_dir: Path) -> int:
        reads.append(cgroup_dir)
        return 8 * 2**30

    clock = [100.0]
    limit = process_memory.MemoryLimit(clock=lambda: clock[0], read=limit_now)
    names = [process_memory.ProcessMemory(limit) for _ in range(10)]
    first = [memory.read() for memory in names]
    assert len(reads) == 1
    assert all(0 < stats["pressure_level"] <= 1 for stats in first)
    clock[0] += process_memory.LIMIT_TTL_S
    names[0].read()
    assert len(reads) == 2
    assert reads[0] == reads[1]  # the cgroup is looked up once


def test_the_limit_is_the_tightest_that_applies() -> None:
    limit = process_memory.MemoryLimit()
    found = limit.bytes()
    assert found is not None and found > 0
    assert process_memory.limit_now(Path("/nonexistent")) >= found
