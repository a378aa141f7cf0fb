"""Alert delivery off the collection thread.

Python logging gets every event at once (it is the host's own, synchronous, channel).
Every other handler (the OpenTelemetry Logs API, callables, webhook, SMTP) has its own
bounded queue and daemon thread, so a handler that raises or hangs delays neither the
collection nor the other handlers: its queue fills, and what does not fit is dropped
and counted in ``flujo.otel.alerts.dropped``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable

from opentelemetry.instrumentation.flujo._internal.alerts.event import AlertEvent
from opentelemetry.instrumentation.flujo._internal.catalog import THRESHOLD_SEVERITY

_logger = logging.getLogger(__name__)
ALERT_LOGGER = logging.getLogger("opentelemetry.instrumentation.flujo.alerts")
_LOG_LEVEL = {"warning": logging.WARNING, "critical": logging.ERROR}

AlertHandler = Callable[[AlertEvent], object]


class Worker:
    """One handler, its queue and its thread (started on the first event, and again
    after a fork, whose child has no threads)."""

    def __init__(self, handler: AlertHandler, name: str, min_level: str, size: int,
                 count: Callable[[str, str], None]) -> None:
        self.handler = handler
        self.name = name
        self.min_severity = THRESHOLD_SEVERITY[min_level]
        self._queue: queue.Queue[AlertEvent | None] = queue.Queue(size)
        self._count = count
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._failed = False
        self._lock = threading.Lock()

    def submit(self, event: AlertEvent) -> None:
        if event.severity < self.min_severity:
            return
        self._ensure_thread()
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self._count(self.name, "queue_full")

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's queue and thread are not ours
                self._queue = queue.Queue(self._queue.maxsize)
            self._pid = os.getpid()
            self._thread = threading.Thread(
                target=self._run, name=f"flujo-alerts-{self.name}", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            try:
                if event is None:
                    return
                self.handler(event)
            except Exception as exc:  # a handler's failure is its own, and counted
                self._count(self.name, "error")
                # The message only, no traceback (its frames may hold credentials); a
                # warning the first time, then debug: the count says how often.
                _logger.log(logging.DEBUG if self._failed else logging.WARNING,
                            "alert handler %s failed: %s: %s", self.name,
                            type(exc).__name__, exc)
                self._failed = True
            finally:
                self._queue.task_done()

    def idle(self) -> bool:
        return self._queue.unfinished_tasks == 0

    def stop(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            # A hung handler's queue stays full: its daemon thread dies with the process.
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(None)


class Dispatcher:
    """One runtime's alert handlers: those its configuration names, and those added from
    the Python API; each with its queue and thread."""

    def __init__(self, queue_size: int = 100) -> None:
        self.queue_size = queue_size
        self._lock = threading.Lock()
        self._dropped_lock = threading.Lock()
        self.dropped: Counter[tuple[str, str]] = Counter()
        self._workers: list[Worker] = []

    def workers(self) -> list[Worker]:
        return self._workers

    def add(self, handler: AlertHandler, name: str | None = None,
            min_level: str = "warning") -> None:
        if min_level not in THRESHOLD_SEVERITY or min_level == "ok":
            raise ValueError(f"min_level must be 'warning' or 'critical', not {min_level!r}")
        label = name or getattr(handler, "name", None) or getattr(
            handler, "__name__", type(handler).__name__)
        worker = Worker(handler, str(label), min_level, self.queue_size, self.count)
        with self._lock:
            self._workers = [*self._workers, worker]

    def remove(self, handler: AlertHandler) -> bool:
        with self._lock:
            gone = [w for w in self._workers if w.handler is handler]
            self._workers = [w for w in self._workers if w.handler is not handler]
        for worker in gone:
            worker.stop()
        return bool(gone)

    def count(self, handler: str, reason: str) -> None:
        with self._dropped_lock:
            self.dropped[(handler, reason)] += 1

    def dropped_counts(self) -> list[tuple[str, str, int]]:
        """(handler, reason, count): read by a collection while workers add to it."""
        with self._dropped_lock:
            return [(handler, reason, n) for (handler, reason), n in self.dropped.items()]

    def publish(self, events: Iterable[AlertEvent]) -> None:
        workers = self._workers  # replaced, never mutated
        for event in events:
            try:
                ALERT_LOGGER.log(_LOG_LEVEL[event.level], "ALERT: %s", event.message,
                                 extra={"flujo_alert": event.to_dict()})
            except Exception:
                self.count("logging", "error")
            for worker in workers:
                worker.submit(event)

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every queued event has been handled (tests, shutdown)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(w.idle() for w in self._workers):
                return True
            time.sleep(0.005)
        return False

    def close(self, timeout_s: float) -> None:
        """Deliver what is queued (a hung handler costs at most ``timeout_s``), then stop
        every thread; a handler still running finishes on its daemon thread."""
        self.flush(timeout_s)
        with self._lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.stop()
