"""Calling ``get_optimization_stats()`` within a time budget.

The Python API cannot interrupt a call, so a source that may hang is called on a
worker thread and the collection waits for it only until the budget runs out.
A thread hand-off costs ~80 us, about 10% of a one-executor collection, so a
source that has answered quickly several times in a row is called inline instead
(``TRUSTED_AFTER`` reads faster than a tenth of the budget). A trusted source that
turns slow loses its trust at once; one that is still running from an earlier
collection is not called again until it returns.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from opentelemetry.instrumentation.flujo._internal.collect.registry import ExecutorEntry

TRUSTED_AFTER = 3
MAX_WORKERS = 8


class FetchError(Exception):
    """Why an executor has no stats in this collection (a ``collection.errors`` reason)."""

    def __init__(self, reason: str, cause: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.cause = cause  # the name of the exception type a source raised


Result = dict[ExecutorEntry, "Any | FetchError"]


def _call(entry: ExecutorEntry) -> Any:
    executor = entry.executor()
    if executor is None:
        return FetchError("collected")
    try:
        return executor.get_optimization_stats()
    except Exception as error:  # a source may raise anything; the host never sees it
        return FetchError("raised", type(error).__name__)


class _Batch:
    """One collection's reads handed to the workers, and the results they fill in."""

    __slots__ = ("done", "fast", "lock", "pending", "results", "size")

    def __init__(self, entries: list[ExecutorEntry], fast: float) -> None:
        self.fast = fast
        self.pending = deque(entries)
        self.results: Result = {}
        self.size = len(entries)
        self.lock = threading.Lock()
        self.done = threading.Event()


class StatsFetcher:
    """Calls ``get_optimization_stats()`` within a budget (see the module).

    Owns the worker threads (started on demand, at most ``MAX_WORKERS``) and the
    entries they are reading. The runtime builds one; its snapshot taker calls
    :meth:`read` once per collection; the fork guard calls :meth:`after_fork` in a
    child, and the runtime's close ends the workers.
    """

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._batches: deque[_Batch] = deque()
        self._workers = 0
        self._idle = 0
        # Entries a worker is reading now: their in_flight flag must not outlive
        # the worker, which a fork() does not copy.
        self._reading: set[ExecutorEntry] = set()
        self._closed = False

    def read(self, entries: Iterable[ExecutorEntry], budget_s: float) -> Result:
        started = time.perf_counter()
        fast = budget_s / 10
        results: Result = {}
        untrusted: list[ExecutorEntry] = []
        for entry in entries:
            if entry.in_flight:
                results[entry] = FetchError("still_running")
            elif entry.fast_reads >= TRUSTED_AFTER:
                t0 = time.perf_counter()
                results[entry] = _call(entry)
                if time.perf_counter() - t0 > fast:
                    entry.fast_reads = 0
            else:
                untrusted.append(entry)
        if untrusted:
            remaining = budget_s - (time.perf_counter() - started)
            results.update(self._read_on_workers(untrusted, max(remaining, 0.0), fast))
        return results

    def _read_on_workers(self, entries: list[ExecutorEntry], budget_s: float,
                         fast: float) -> Result:
        batch = _Batch(entries, fast)
        with self._cv:
            self._batches.append(batch)
            self._wake()
        deadline = time.perf_counter() + budget_s
        completed = -1
        while not batch.done.is_set():
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            # If nothing finished since the last look, a worker may be stuck in a
            # slow source: add one so the rest of the batch still gets read.
            if batch.done.wait(min(left, max(fast, 0.005))):
                break
            with batch.lock:
                now_completed = len(batch.results)
            if now_completed == completed and batch.pending:
                with self._cv:
                    self._wake()
            completed = now_completed
        with batch.lock:
            results = dict(batch.results)
            batch.pending.clear()
            batch.done.set()  # stragglers' results now have no reader
        for entry in entries:
            if entry not in results:
                results[entry] = FetchError("timeout")
                entry.fast_reads = 0
        return results

    def _wake(self) -> None:
        """A worker for the pending reads: an idle one, else a new one (up to the cap).
        Called holding ``self._cv``."""
        if self._closed:
            return
        if self._idle == 0 and self._workers < MAX_WORKERS:
            self._spawn()
        self._cv.notify()

    def _spawn(self) -> None:
        self._workers += 1
        self._idle += 1
        threading.Thread(target=self._work, name="flujo-otel-stats", daemon=True).start()

    def _next(self) -> tuple[_Batch, ExecutorEntry] | None:
        """The next entry to read, or None once the fetcher is closed."""
        with self._cv:
            while True:
                if self._closed:
                    self._workers -= 1
                    self._idle -= 1
                    return None
                while self._batches:
                    batch = self._batches[0]
                    with batch.lock:
                        if batch.pending:
                            entry = batch.pending.popleft()
                            entry.in_flight = True
                            self._reading.add(entry)
                            self._idle -= 1
                            return batch, entry
                    self._batches.popleft()
                self._cv.wait()

    def _work(self) -> None:
        while (item := self._next()) is not None:
            batch, entry = item
            t0 = time.perf_counter()
            try:
                result = _call(entry)
            finally:
                entry.in_flight = False
                self._reading.discard(entry)
            elapsed = time.perf_counter() - t0
            with batch.lock:
                if not batch.done.is_set():
                    batch.results[entry] = result
                    if len(batch.results) == batch.size:
                        batch.done.set()
            entry.fast_reads = entry.fast_reads + 1 if elapsed < batch.fast else 0
            with self._cv:
                self._idle += 1

    def close(self) -> None:
        """End the worker threads: idle ones now, one still in a hung source when that
        returns. Reads after this time out."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()

    def after_fork(self) -> None:
        """In a forked child (the runtime's fork guard calls it): worker threads do not
        survive fork(), so start from none, and release the sources they were reading,
        or those would be still_running forever."""
        for entry in self._reading:
            entry.in_flight = False
        self._reading = set()
        self._cv = threading.Condition()
        self._batches = deque()
        self._workers = 0
        self._idle = 0
