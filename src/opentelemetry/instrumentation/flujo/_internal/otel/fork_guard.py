"""The SDK's locks across fork(), for pre-fork servers (gunicorn, uWSGI, multiprocessing)."""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider

_guarded: weakref.WeakSet[MeterProvider] = weakref.WeakSet()
_guarded_lock = threading.Lock()


def sdk_locks(provider: MeterProvider) -> list[Any]:
    """The provider's collect lock and each reader's export lock, where the SDK has them."""
    consumer = getattr(provider, "_measurement_consumer", None)
    readers = getattr(provider, "_metric_readers", None) or ()
    locks = [getattr(consumer, "_lock", None)]
    locks += [getattr(reader, "_export_lock", None) for reader in readers]
    return [lock for lock in locks if hasattr(lock, "acquire") and hasattr(lock, "release")]


def guard_fork(provider: object) -> None:
    """Hold the SDK's collect and export locks across fork() (pre-fork servers).

    The SDK restarts its export thread in a forked child but keeps its locks as they
    were: a fork during a collection or an export leaves the child's copy locked
    forever, so the child never exports and hangs at exit. Taking the locks before
    fork() (waiting out a collection or export in progress, at most the exporter's
    timeout) and releasing them on both sides is the usual remedy. The locks are
    private attributes: where a future SDK renames them, nothing is guarded. Applied
    once per SDK MeterProvider the plugin binds to, whoever built it (a lock taken
    twice before fork() would deadlock).
    """
    if not hasattr(os, "register_at_fork") or not isinstance(provider, MeterProvider):
        return
    with _guarded_lock:
        if provider in _guarded:
            return
        _guarded.add(provider)
    held = sdk_locks(provider)

    def before() -> None:
        for lock in held:
            lock.acquire()

    def after() -> None:
        for lock in reversed(held):
            lock.release()

    os.register_at_fork(before=before, after_in_parent=after, after_in_child=after)
