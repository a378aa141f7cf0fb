"""A memory of warnings already given, owned by whoever must not repeat them.

The threshold engine re-reads the environment's thresholds each time code overrides
change; each bad entry is still worth one warning per runtime, not one per re-read.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

Warn = Callable[[str], None]


class WarnOnce:
    """``warn(message)`` logs ``message`` as a warning the first time only."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, message: str) -> None:
        with self._lock:
            if message in self._seen:
                return
            self._seen.add(message)
        self._logger.warning("%s", message)
