"""The SDK's locks across fork(), for pre-fork servers (gunicorn, uWSGI, multiprocessing)."""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider


def metric_readers(provider: MeterProvider) -> Sequence[Any]:
    """The provider's readers: ``_metric_readers`` from SDK 1.43 on, the SDK
    configuration's ``metric_readers`` before (1.42 and older)."""
    readers = getattr(provider, "_metric_readers", None)
    if readers is None:
        readers = getattr(getattr(provider, "_sdk_config", None), "metric_readers", None)
    return readers or ()


def sdk_locks(provider: object) -> list[Any]:
    """An SDK provider's collect lock and each reader's export lock, where the SDK has them."""
    if not isinstance(provider, MeterProvider):
        return []
    consumer = getattr(provider, "_measurement_consumer", None)
    readers = metric_readers(provider)
    locks = [getattr(consumer, "_lock", None)]
    locks += [getattr(reader, "_export_lock", None) for reader in readers]
    return [lock for lock in locks if hasattr(lock, "acquire") and hasattr(lock, "release")]


class ForkGuard:
    """Holds the SDK's collect and export locks across fork() for one runtime's providers.

    The SDK restarts its export thread in a forked child but keeps its locks as they
    were: a fork during a collection or an export leaves the child's copy locked
    forever, so the child never exports and hangs at exit. Taking the locks before
    fork() (waiting out a collection or export in progress, at most the exporter's
    timeout) and releasing them on both sides is the usual remedy. The locks are
    private attributes: where a future SDK renames them, nothing is guarded.

    ``locks()`` answers, at each fork, for the providers the runtime owns then: a
    provider has one owner, so no lock is taken twice (which would deadlock).
    ``in_child`` runs in the child after the locks are released. fork hooks cannot
    be unregistered, so they hold the guard weakly and a closed guard does nothing.
    """

    def __init__(self, locks: Callable[[], list[Any]], in_child: Callable[[], None]) -> None:
        self._locks = locks
        self._in_child = in_child
        self._held: list[Any] = []
        self._registered = False
        self.closed = False

    def register(self) -> None:
        """Install the fork hooks (once; the runtime does it when it first binds)."""
        if self._registered or not hasattr(os, "register_at_fork"):
            return
        self._registered = True
        ref = weakref.ref(self)

        def before() -> None:
            guard = ref()
            if guard is not None:
                guard._before()

        def after_in_parent() -> None:
            guard = ref()
            if guard is not None:
                guard._release()

        def after_in_child() -> None:
            guard = ref()
            if guard is not None:
                guard._release()
                if not guard.closed:
                    guard._in_child()

        os.register_at_fork(before=before, after_in_parent=after_in_parent,
                            after_in_child=after_in_child)

    def _before(self) -> None:
        self._held = [] if self.closed else self._locks()
        for lock in self._held:
            lock.acquire()

    def _release(self) -> None:
        held, self._held = self._held, []
        for lock in reversed(held):
            lock.release()
