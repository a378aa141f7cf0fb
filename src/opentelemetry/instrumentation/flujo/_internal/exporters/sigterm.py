"""Make SIGTERM run the normal shutdown, so the last collection is recorded.

The SDK shuts a MeterProvider down (final collection and export) from ``atexit``, but
the default SIGTERM action kills the process without running ``atexit``. When
SIGTERM still has its default action, a handler is installed that exits the way
``sys.exit`` does (status 143, 128 + SIGTERM), so ``atexit`` runs. An application that
installed its own SIGTERM handler keeps it untouched: it owns its shutdown and must
call ``MeterProvider.shutdown()`` itself (replacing or wrapping its handler could
change how it drains). Only the main thread can install a handler.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType


def _exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def exit_on_sigterm() -> bool:
    """Install the handler if SIGTERM has its default action; True if installed now."""
    if threading.current_thread() is not threading.main_thread():
        return False
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return False
    signal.signal(signal.SIGTERM, _exit)
    return True
