"""Appending to a recording file so that several processes and restarts can share it."""

from __future__ import annotations

import os
from collections.abc import Callable

try:
    import fcntl
except ImportError:  # Windows: no advisory lock; appends stay whole-write
    fcntl = None  # type: ignore[assignment]


def append(path: str, render: Callable[[bool], str]) -> None:
    """Append ``render(new_file)`` to ``path``, under an exclusive lock, then fsync.

    ``new_file`` is True when the file is empty (write a header). A line torn by a
    crash mid-write is closed with a newline first, so the new rows stay whole.
    """
    with open(path, "a+b") as f:
        if fcntl is not None:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            size = f.seek(0, os.SEEK_END)
            prefix = b""
            if size:
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    prefix = b"\n"
            f.write(prefix + render(size == 0).encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        finally:
            if fcntl is not None:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)
