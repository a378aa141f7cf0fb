"""Class-level patching of flujo's ExecutorCore: every instance created afterwards is observed."""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable
from typing import Any

from opentelemetry.instrumentation.flujo.runtime import get_runtime

_logger = logging.getLogger(__name__)

EXECUTOR_CORE = "flujo.application.core.executor_core"

# (class, attribute) -> original, so uninstrument() puts back exactly what was there.
_originals: dict[tuple[type, str], Any] = {}


def executor_core_class() -> type | None:
    try:
        module = importlib.import_module(EXECUTOR_CORE)
    except ImportError:
        return None
    except Exception:  # a broken flujo install must not break the host
        _logger.warning("importing %s failed; flujo is not patched", EXECUTOR_CORE, exc_info=True)
        return None
    cls = getattr(module, "ExecutorCore", None)
    return cls if isinstance(cls, type) else None


def patch_attribute(cls: type, attribute: str, make: Callable[[Any], Any]) -> None:
    original = cls.__dict__[attribute]
    _originals[(cls, attribute)] = original
    setattr(cls, attribute, make(original))


def _register_on_init(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        try:
            if callable(getattr(self, "get_optimization_stats", None)):
                get_runtime().registry.add(self)
        except Exception:
            _logger.debug("could not register %r", self, exc_info=True)

    return __init__


def patch_flujo() -> bool:
    cls = executor_core_class()
    if cls is None or (cls, "__init__") in _originals:
        return cls is not None
    patch_attribute(cls, "__init__", _register_on_init)
    return True


def unpatch_flujo() -> None:
    for (cls, attribute), original in list(_originals.items()):
        setattr(cls, attribute, original)
        del _originals[(cls, attribute)]
