"""Process memory as the guide's ``memory`` stats, measured from the operating system.

flujo 0.6 reports no memory figures, so the measured source reports the process's:

- ``usage_mb``: resident set size (``/proc/self/statm``);
- ``pressure_level``: that RSS against the tightest limit that applies to the process,
  the cgroup's ``memory.max`` (v2) or ``memory.limit_in_bytes`` (v1) when one is set,
  else the machine's ``MemTotal``;
- ``allocation_rate_mb_s``: memory the process newly obtained from the kernel per
  second (minor page faults x page size, from ``getrusage``) since the previous read.
  Python's allocator reuses freed memory without faulting, so this counts fresh pages,
  not every ``malloc``: the honest proxy available without tracing allocations.

A value the platform cannot give is absent, never guessed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from opentelemetry.instrumentation.flujo._internal.catalog import MIB
from opentelemetry.instrumentation.flujo._internal.rate import Rate

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
# cgroup v1 writes a huge number (about 2**63 rounded to pages) for "no limit".
_NO_LIMIT = 1 << 60


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def rss_bytes() -> int | None:
    try:
        fields = Path("/proc/self/statm").read_text(encoding="ascii").split()
    except OSError:
        return None
    return int(fields[1]) * _PAGE if len(fields) > 1 and fields[1].isdigit() else None


def _cgroup_v2_dir() -> Path:
    root = Path("/sys/fs/cgroup")
    try:
        for line in Path("/proc/self/cgroup").read_text(encoding="ascii").splitlines():
            if line.startswith("0::"):
                return root / line[3:].lstrip("/")
    except OSError:
        pass
    return root


def limit_now(cgroup_dir: Path) -> int | None:
    """The smallest of the cgroup limit (v2 or v1) and the machine's memory."""
    v2 = {cgroup_dir / "memory.max", Path("/sys/fs/cgroup/memory.max")}
    limits = [_read_int(path) for path in v2]
    limits.append(_read_int(Path("/sys/fs/cgroup/memory/memory.limit_in_bytes")))
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemTotal:"):
                limits.append(int(line.split()[1]) * 1024)
                break
    except (OSError, ValueError, IndexError):
        pass
    usable = [limit for limit in limits if limit is not None and 0 < limit < _NO_LIMIT]
    return min(usable) if usable else None


LIMIT_TTL_S = 1.0
# The resident size and page faults are read at most this often: once per collection,
# which reads every executor name within well under this (a collection of 1,000 names
# takes ~0.1-0.2 s of reads and normalising here), however many names it reads.
USAGE_TTL_S = 0.5


def _minor_faults() -> int | None:
    if resource is None:
        return None
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_minflt)


class Usage(NamedTuple):
    """One reading of the process's memory use."""

    rss: int | None  # resident set size, bytes
    faults: int | None  # minor page faults so far
    at: int  # when read (the runtime's clock, monotonic nanoseconds)


class MemoryReadings:
    """The process's memory figures, shared by every measured source of a runtime: they
    are the same for every executor name read in one collection, so they are read once
    for all of them. The limit (its files cost ~130 us to read) is re-read at most once
    a second (a resized container shows within a second; the cgroup path is parsed
    once); the resident size and page faults (``/proc/self/statm`` and ``getrusage``) at
    most once per ``USAGE_TTL_S``, i.e. once per collection, not once per name.
    ``clock``: the runtime's (monotonic nanoseconds)."""

    def __init__(self, clock: Callable[[], int],
                 read: Callable[[Path], int | None] = limit_now) -> None:
        self._clock = clock
        self._read = read
        self._cgroup_dir: Path | None = None
        self._last: tuple[int | None, int] | None = None  # (limit, when read)
        self._usage: Usage | None = None

    def limit_bytes(self) -> int | None:
        now = self._clock()
        last = self._last
        if last is not None and now - last[1] < LIMIT_TTL_S * 1e9:
            return last[0]
        if self._cgroup_dir is None:
            self._cgroup_dir = _cgroup_v2_dir()
        limit = self._read(self._cgroup_dir)
        self._last = (limit, now)
        return limit

    def usage(self) -> Usage:
        """The latest reading, or a new one when it is ``USAGE_TTL_S`` old. Sources read
        on the fetcher's threads at once may both read: either reading is right."""
        now = self._clock()
        usage = self._usage
        if usage is None or now - usage.at >= USAGE_TTL_S * 1e9:
            usage = self._usage = Usage(rss_bytes(), _minor_faults(), now)
        return usage


class ProcessMemory:
    """One reader per reporting source: the allocation rate is per reader's own interval,
    between the shared readings' times."""

    def __init__(self, readings: MemoryReadings) -> None:
        self._readings = readings
        self._faults = Rate()

    def read(self) -> dict[str, float]:
        out: dict[str, float] = {}
        rss, faults, at = self._readings.usage()
        if rss is not None:
            out["usage_mb"] = rss / MIB
            limit = self._readings.limit_bytes()
            if limit:
                out["pressure_level"] = min(rss / limit, 1.0)
        if faults is not None:
            per_s = self._faults.update(faults, at / 1e9)
            if per_s is not None:
                out["allocation_rate_mb_s"] = per_s * _PAGE / MIB
        return out
