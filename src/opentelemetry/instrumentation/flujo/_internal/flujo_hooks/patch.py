"""Class-level patching of flujo 0.6: ``ExecutorCore.execute`` is measured, ``Flujo`` names it.

Every instance, created before or after instrumentation, is measured from its first
execution on (see ``measured``), into the default runtime of the moment of its first
execution. ``Flujo.__init__`` is wrapped only to give the runner's executor the runner's
``pipeline_name``. Each wrapper carries the object it replaced, so ``unpatch_flujo``
puts back the very objects that were there (the classes are the only record).
"""

from __future__ import annotations

import functools
import importlib
import logging
import re
import sys
import time
from collections.abc import Callable
from typing import Any

from opentelemetry.instrumentation.flujo._internal.flujo_hooks.measured import (
    FAILURE,
    OTHER_OUTCOME,
    SUCCESS,
    FlujoTypes,
    Measured,
    classify,
    classify_exception,
    executed_step,
)
from opentelemetry.instrumentation.flujo._internal.runtime import get_runtime

_logger = logging.getLogger(__name__)

EXECUTOR_CORE = "flujo.application.core.executor_core"
RUNNER = "flujo.application.runner"
# Flujo names a runner built without pipeline_name "unnamed_<YYYYmmdd_HHMMSS>": one new
# name per second would be one new series per second, so those use the class name.
_GENERATED_NAME = re.compile(r"unnamed_\d{8}_\d{6}")

# Set on each wrapper installed here, holding the object it replaced.
_REPLACED = "_opentelemetry_flujo_replaced"


def _import(module_name: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ImportError:
        return None
    except Exception:  # a broken flujo install must not break the host
        _logger.warning("importing %s failed; flujo is not patched", module_name, exc_info=True)
        return None


def _class(module_name: str, name: str) -> type | None:
    cls = getattr(_import(module_name), name, None)
    return cls if isinstance(cls, type) else None


def executor_core_class() -> type | None:
    return _class(EXECUTOR_CORE, "ExecutorCore")


def flujo_types() -> FlujoTypes | None:
    models, exceptions = _import("flujo.domain.models"), _import("flujo.exceptions")
    try:
        return FlujoTypes(
            success=models.Success, failure=models.Failure, step_result=models.StepResult,
            frame=_import(EXECUTOR_CORE).ExecutionFrame,
            control_flow=(exceptions.PausedException, exceptions.PipelineAbortSignal),
        )
    except AttributeError:
        _logger.warning("flujo's result types were not found; ExecutorCore is not measured")
        return None


def patch_attribute(cls: type, attribute: str, make: Callable[[Any], Any]) -> None:
    original = cls.__dict__[attribute]
    wrapper = make(original)
    setattr(wrapper, _REPLACED, original)
    setattr(cls, attribute, wrapper)


def is_patched(cls: type, attribute: str) -> bool:
    return hasattr(cls.__dict__.get(attribute), _REPLACED)


def _attach(executor: Any, name: str | None = None) -> Measured | None:
    return get_runtime().flujo.attach(executor, name)


def runner_name(runner: Any) -> str | None:
    name = getattr(runner, "pipeline_name", None)
    if isinstance(name, str) and name.strip() and not _GENERATED_NAME.fullmatch(name):
        return name
    return None


def _measure_execute(original: Callable[..., Any], types: FlujoTypes) -> Callable[..., Any]:
    success, frame = types.success, types.frame
    perf_counter = time.perf_counter

    @functools.wraps(original)
    async def execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:  # an attribute load, not getattr(): ~40 ns less on every execution
            measured = self._opentelemetry_flujo_measured
        except AttributeError:
            measured = _attach(self)
        if measured is None:
            return await original(self, *args, **kwargs)
        measured.running.append(None)  # in flight; Measured.end pops it
        started = perf_counter()
        try:
            result = await original(self, *args, **kwargs)
        except BaseException as error:
            try:
                measured.end(started, classify_exception(error, types), None,
                             executed_step(args, kwargs, types))
            except Exception:  # bookkeeping must never change what the host sees
                _logger.debug("recording an execution failed", exc_info=True)
            raise
        try:
            if type(result) is success:  # the common case, without a call
                step_result = result.step_result
                outcome = SUCCESS if step_result.success else FAILURE
            else:
                outcome, step_result = classify(result, types)
            first: Any = args[0] if args else None
            # the common case (a frame) without a call
            step = first.step if type(first) is frame else executed_step(args, kwargs, types)
        except Exception:  # an unexpected result shape still ends the execution
            outcome, step_result, step = OTHER_OUTCOME, None, None
        try:
            measured.end(started, outcome, step_result, step)
        except Exception:
            _logger.debug("recording an execution failed", exc_info=True)
        return result

    return execute


def _name_runner_executor(original: Callable[..., None], core: type) -> Callable[..., None]:
    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        try:
            executor = getattr(getattr(self, "backend", None), "_executor", None)
            if isinstance(executor, core):
                _attach(executor, runner_name(self))
        except Exception:
            _logger.debug("could not name the executor of %r", self, exc_info=True)

    return __init__


def patch_flujo() -> bool:
    """Measure every ExecutorCore; True when flujo is patched (now or already)."""
    core = executor_core_class()
    if core is None:
        return False
    types = flujo_types()
    if types is None:
        return False
    get_runtime().measure_flujo()  # also when already patched: the runtime may be new
    if is_patched(core, "execute"):
        return True
    patch_attribute(core, "execute", lambda original: _measure_execute(original, types))
    runner = _class(RUNNER, "Flujo")
    if runner is not None and "__init__" in runner.__dict__:
        patch_attribute(runner, "__init__",
                        lambda original: _name_runner_executor(original, core))
    return True


def unpatch_flujo() -> None:
    """Put back what :func:`patch_flujo` replaced (flujo is not imported for it)."""
    for module_name, class_name, attribute in ((EXECUTOR_CORE, "ExecutorCore", "execute"),
                                               (RUNNER, "Flujo", "__init__")):
        cls = getattr(sys.modules.get(module_name), class_name, None)
        if isinstance(cls, type) and is_patched(cls, attribute):
            setattr(cls, attribute, getattr(cls.__dict__[attribute], _REPLACED))
