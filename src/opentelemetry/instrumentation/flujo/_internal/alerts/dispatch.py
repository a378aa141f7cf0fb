"""Alert delivery and log lines, off the collection thread.

The SDK calls the instruments' callbacks under its collection lock, which creating an
instrument also takes: anything user-supplied run there (a log handler, an alert
handler) could block every export, or deadlock by calling back into the plugin. So a
collection only hands its alert events and log lines over: Python logging gets them
on the dispatcher's logging thread, every other handler (the OpenTelemetry Logs API,
callables, webhook, SMTP) on its own thread, each in the order they happened. Every
queue is bounded: a handler that hangs fills its own queue, and what does not fit is
dropped and counted in ``flujo.otel.alerts.dropped`` (the logging thread's as
``handler="logging"``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, TypeVar

from opentelemetry.instrumentation.flujo._internal.alerts.event import AlertEvent
from opentelemetry.instrumentation.flujo._internal.catalog import THRESHOLD_SEVERITY

_logger = logging.getLogger(__name__)
ALERT_LOGGER = logging.getLogger("opentelemetry.instrumentation.flujo.alerts")
LOGGING = "logging"  # the logging thread's name in flujo.otel.alerts.dropped

AlertHandler = Callable[[AlertEvent], object]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
T = TypeVar("T")


@dataclass(frozen=True)
class LogLine:
    """A log record to emit on the logging thread, as ``logger.log`` would take it."""

    logger: logging.Logger
    level: int
    message: str
    args: tuple[Any, ...]
    exc_info: ExcInfo | None = None


class Worker(Generic[T]):
    """One handler, its queue and its thread (started on the first item, and again
    after a fork, whose child has no threads). Made by the :class:`Dispatcher`."""

    def __init__(self, handler: Callable[[T], object], name: str, size: int,
                 count: Callable[[str, str], None],
                 wanted: Callable[[T], bool] = lambda item: True) -> None:
        self.handler = handler
        self.name = name
        self._wanted = wanted
        self._queue: queue.Queue[T | None] = queue.Queue(size)
        self._count = count
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._failed = False
        self._lock = threading.Lock()

    def submit(self, item: T) -> None:
        if not self._wanted(item):
            return
        self._ensure_thread()
        try:
            self._queue.put_nowait(item)
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
            item = self._queue.get()
            try:
                if item is None:
                    return
                self.handler(item)
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


def _emit(item: LogLine | AlertEvent) -> None:
    """The logging thread's handler: one record per item."""
    if isinstance(item, AlertEvent):
        ALERT_LOGGER.log(item.log_level, "ALERT: %s", item.message,
                         extra={"flujo_alert": item.to_dict()})
    else:
        item.logger.log(item.level, item.message, *item.args, exc_info=item.exc_info)


class Dispatcher:
    """One runtime's alert handlers and its logging thread.

    Owns the handlers its configuration names and those added from the Python API
    (``add_alert_handler``), each with its queue and thread, and the logging thread
    that emits alert lines and the collection's own log lines. The threshold engine
    publishes events to it and the snapshot taker and bindings log through it, from
    inside a collection; the runtime closes it.
    """

    def __init__(self, queue_size: int = 100) -> None:
        self.queue_size = queue_size
        self.closed = False
        self._lock = threading.Lock()
        self._dropped_lock = threading.Lock()
        self.dropped: Counter[tuple[str, str]] = Counter()
        self._workers: list[Worker[AlertEvent]] = []
        self._logging: Worker[LogLine | AlertEvent] = Worker(
            _emit, LOGGING, queue_size, self.count)

    def add(self, handler: AlertHandler, name: str | None = None,
            min_level: str = "warning") -> None:
        if min_level not in THRESHOLD_SEVERITY or min_level == "ok":
            raise ValueError(f"min_level must be 'warning' or 'critical', not {min_level!r}")
        label = name or getattr(handler, "name", None) or getattr(
            handler, "__name__", type(handler).__name__)
        minimum = THRESHOLD_SEVERITY[min_level]
        worker: Worker[AlertEvent] = Worker(handler, str(label), self.queue_size, self.count,
                                            lambda event: event.severity >= minimum)
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
        """Hand ``events`` over (from a collection: nothing here runs a handler)."""
        if self.closed:
            return
        workers = self._workers  # replaced, never mutated
        for event in events:
            if ALERT_LOGGER.isEnabledFor(event.log_level):
                self._logging.submit(event)
            for worker in workers:
                worker.submit(event)

    def log(self, logger: logging.Logger, level: int, message: str, *args: Any,
            exc_info: bool = False) -> None:
        """``logger.log(level, message, *args)`` on the logging thread (from a
        collection: no log handler runs there); ``exc_info``: the exception being
        handled now."""
        if self.closed or not logger.isEnabledFor(level):
            return
        info = sys.exc_info() if exc_info else None
        self._logging.submit(LogLine(logger, level, message, args,
                                     info if info and info[0] is not None else None))

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every queued event and log line has been handled (shutdown, and
        whoever must see them: tests, ``flujo-otel demo``)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._logging.idle() and all(w.idle() for w in self._workers):
                return True
            time.sleep(0.005)
        return False

    def close(self, timeout_s: float) -> None:
        """Deliver what is queued (a hung handler costs at most ``timeout_s``), then stop
        every thread; a handler still running finishes on its daemon thread."""
        self.flush(timeout_s)
        with self._lock:
            self.closed = True
            workers, self._workers = self._workers, []
        self._logging.stop()
        for worker in workers:
            worker.stop()
