"""Class-level patching of flujo 0.6: ``ExecutorCore.execute`` is measured, ``Flujo`` names it,
runs and their spend are followed.

Every instance, created before or after instrumentation, is measured from its first
execution on (see ``measured``), into the runtime that patched flujo (handed in:
:func:`patch_flujo`), whose ``close`` puts flujo back. ``Flujo.__init__`` is wrapped to
give the runner's executor the runner's ``pipeline_name`` (a run names it too, for
runners built before instrumentation). Runs and spend: see ``runs``. Each wrapper
carries the object it replaced, so ``unpatch_flujo`` puts back the very objects that
were there (the classes and modules are the only record).
"""

from __future__ import annotations

import functools
import importlib
import logging
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opentelemetry.instrumentation.flujo._internal.flujo_hooks import agent_calls, runs, spans
from opentelemetry.instrumentation.flujo._internal.flujo_hooks.measured import (
    FAILURE,
    OTHER_OUTCOME,
    SUCCESS,
    FlujoTypes,
    classify,
    classify_exception,
    executed_step,
)
from opentelemetry.instrumentation.flujo._internal.flujo_hooks.runs import (
    runner_executor,
)
from opentelemetry.instrumentation.flujo._internal.flujo_hooks.sources import FlujoSources

if TYPE_CHECKING:  # the runtime imports this module (its close() calls unpatch_flujo)
    from opentelemetry.instrumentation.flujo._internal.runtime import Runtime

_logger = logging.getLogger(__name__)

EXECUTOR_CORE = "flujo.application.core.executor_core"
RUNNER = "flujo.application.runner"
RUN_SESSION = "flujo.application.run_session"
STEP_POLICIES = "flujo.application.core.step_policies"
AGENT_RUNNER = "flujo.application.core.runtime.default_components"
OTEL_HOOK = "flujo.telemetry.otel_hook"
# (module, class or None for the module itself, attribute): everything patched here.
_PATCHED = (
    (EXECUTOR_CORE, "ExecutorCore", "execute"), (RUNNER, "Flujo", "__init__"),
    (RUN_SESSION, "RunSession", "run_async"),
    (STEP_POLICIES, None, "extract_usage_metrics"), (RUNNER, "Flujo", "resume_async"),
    (AGENT_RUNNER, "DefaultAgentRunner", "run"), (OTEL_HOOK, "OpenTelemetryHook", "hook"),
)

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
            usage_limit=(exceptions.UsageLimitExceededError,),
        )
    except AttributeError:
        _logger.warning("flujo's result types were not found; ExecutorCore is not measured")
        return None


def patch_attribute(owner: Any, attribute: str, make: Callable[[Any], Any]) -> None:
    """Replace ``owner.attribute`` (a class's or a module's) by ``make(original)``."""
    original = vars(owner)[attribute]
    wrapper = make(original)
    setattr(wrapper, _REPLACED, original)
    setattr(owner, attribute, wrapper)


def is_patched(owner: Any, attribute: str) -> bool:
    return hasattr(vars(owner).get(attribute), _REPLACED)


def _measure_execute(original: Callable[..., Any], types: FlujoTypes,
                     sources: FlujoSources) -> Callable[..., Any]:
    success, frame = types.success, types.frame
    perf_counter, current_run = time.perf_counter, runs.current_run

    @functools.wraps(original)
    async def execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:  # an attribute load, not getattr(): ~40 ns less on every execution
            measured = self._opentelemetry_flujo_measured
        except AttributeError:
            measured = sources.attach(self)
        if measured is None:
            return await original(self, *args, **kwargs)
        measured.running.append(None)  # in flight; Measured.end pops it
        started = perf_counter()
        try:
            result = await original(self, *args, **kwargs)
        except BaseException as error:
            try:
                measured.end(started, classify_exception(error, types), None,
                             executed_step(args, kwargs, types), runs.step_context())
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
            run = current_run()  # its step's span, for the exemplar (runs.step_context)
            measured.end(started, outcome, step_result, step,
                         None if run is None else run.step_context)
        except Exception:
            _logger.debug("recording an execution failed", exc_info=True)
        return result

    return execute


def _name_runner_executor(original: Callable[..., None], core: type,
                          sources: FlujoSources) -> Callable[..., None]:
    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        try:
            executor = runner_executor(self)
            if isinstance(executor, core):
                sources.attach(executor, self)
        except Exception:
            _logger.debug("could not name the executor of %r", self, exc_info=True)

    return __init__


def patch_flujo(runtime: Runtime) -> bool:
    """Measure every ExecutorCore into ``runtime``; True when flujo is patched (now or
    already). A closed runtime has put flujo back: the next one patches it again."""
    core = executor_core_class()
    if core is None:
        return False
    types = flujo_types()
    if types is None:
        return False
    runtime.measure_flujo()
    if is_patched(core, "execute"):
        return True
    sources = runtime.flujo
    patch_attribute(core, "execute",
                    lambda original: _measure_execute(original, types, sources))
    runner = _class(RUNNER, "Flujo")
    if runner is not None and "__init__" in runner.__dict__:
        patch_attribute(runner, "__init__",
                        lambda original: _name_runner_executor(original, core, sources))
    _patch_runs(runner, types, sources)
    return True


def _patch_runs(runner: type | None, types: FlujoTypes, sources: FlujoSources) -> None:
    """Follow runs and their spend; without the parts of flujo that needs, executions are
    still measured."""
    session = _class(RUN_SESSION, "RunSession")
    policies, models = _import(STEP_POLICIES), _import("flujo.domain.models")
    model_of = getattr(_import("flujo.utils.model_utils"), "extract_model_id", None)
    needed = [(session, "run_async"), (policies, "extract_usage_metrics")]
    if (any(owner is None or attribute not in vars(owner) for owner, attribute in needed)
            or not callable(model_of) or runner is None
            or not isinstance(getattr(models, "PipelineResult", None), type)):
        _logger.warning("this flujo has no RunSession/extract_usage_metrics as flujo 0.6 "
                        "does; pipeline runs and spend are not measured")
        return
    run_types = runs.FlujoRunTypes(models.PipelineResult, types.control_flow, types.usage_limit)
    model_ids = agent_calls.ModelIds(model_of)  # one per patch: both wrappers ask it
    patch_attribute(session, "run_async",
                    lambda original: runs.wrap_run_async(original, sources, run_types))
    patch_attribute(policies, "extract_usage_metrics", lambda original: runs.wrap_extract(
        original, model_ids, functools.partial(agent_calls.used, sources)))
    if "resume_async" in vars(runner):
        patch_attribute(runner, "resume_async",
                        lambda original: runs.wrap_resume_async(original, sources, run_types))
    # GenAI metrics per agent call, and flujo's spans for the exemplars: optional
    # parts, each patched where this flujo has it.
    agent_runner = _class(AGENT_RUNNER, "DefaultAgentRunner")
    if agent_runner is not None and "run" in vars(agent_runner):
        patch_attribute(agent_runner, "run", lambda original: agent_calls.wrap_agent_run(
            original, model_ids, types.control_flow, sources))
    otel_hook = _class(OTEL_HOOK, "OpenTelemetryHook")
    if otel_hook is not None and "hook" in vars(otel_hook):
        patch_attribute(otel_hook, "hook", spans.wrap_hook)


def unpatch_flujo() -> None:
    """Put back what :func:`patch_flujo` replaced (flujo is not imported for it)."""
    for module_name, class_name, attribute in _PATCHED:
        module = sys.modules.get(module_name)
        owner = module if class_name is None else getattr(module, class_name, None)
        if owner is not None and is_patched(owner, attribute):
            setattr(owner, attribute, getattr(vars(owner)[attribute], _REPLACED))
