"""Pipeline runs and what they spent, by wrapping where flujo 0.6 runs them and reads
each output's usage.

- A *run* is one ``RunSession.run_async`` (every entry point of ``Flujo`` goes through
  it: ``run``, ``run_async``, ``run_result_async``, ``run_outcomes_async``, ``stream_async``
  ...) or one ``Flujo.resume_async``. A run that starts while another run of this
  process is executing in the same task (``runner.as_step(...)``, a runner called from
  inside a step, a pipeline in a loop or parallel branch) is *nested*: it is part of the
  run it is in, not a run of its own; its steps' outputs are the outer run's spend.
- *Spend* is what was produced (spend.py): each step output's cost and tokens, counted
  once where flujo extracts them from the output (``extract_usage_metrics``, called for
  every output of a step that runs an agent or a callable, inside loops, branches,
  fallbacks and nested runs alike), under the step that produced it and the run it is
  part of. Its input/output split and model come with it where flujo knows them (it
  reported input tokens).

The current run is a context variable, set only while flujo's run generator runs (never
while the caller consumes its items), so a run the caller starts between two items is
a run of its own.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from opentelemetry.context import Context, get_current

from opentelemetry.instrumentation.flujo._internal.catalog import RUN_OUTCOMES
from opentelemetry.instrumentation.flujo._internal.flujo_hooks.spend import Spend

if TYPE_CHECKING:  # sources imports measured, which imports this module's types
    from opentelemetry.instrumentation.flujo._internal.flujo_hooks.sources import FlujoSources

_logger = logging.getLogger(__name__)
perf_counter = time.perf_counter

SUCCESS, FAILURE, USAGE_LIMIT, PAUSED, OTHER = RUN_OUTCOMES
# Flujo names a runner built without pipeline_name "unnamed_<YYYYmmdd_HHMMSS>": one new
# name per second would be one new series per second, so those use the class name.
_GENERATED_NAME = re.compile(r"unnamed_\d{8}_\d{6}")


def runner_name(runner: Any) -> str | None:
    """The pipeline name of a runner (or run session), unless flujo made it up."""
    name = getattr(runner, "pipeline_name", None)
    if isinstance(name, str) and name.strip() and not _GENERATED_NAME.fullmatch(name):
        return name
    return None


def runner_executor(owner: Any) -> Any:
    """The executor behind a runner or run session; None for a custom backend without one."""
    return getattr(getattr(owner, "backend", None), "_executor", None)


class Run:
    """One top-level run: the spend of its pipeline name (``Spend``), what its outputs
    spent so far, its limits, and the OTel contexts its points are recorded in (their
    exemplars' spans)."""

    __slots__ = ("context", "cost", "cost_limit", "final", "spend", "started", "step_context",
                 "token_limit", "tokens")

    def __init__(self, spend: Spend, limits: Any) -> None:
        self.spend = spend
        self.started = perf_counter()
        self.final: Any = None  # the last PipelineResult the run yielded
        self.cost = 0.0
        self.tokens = 0
        cost_limit = getattr(limits, "total_cost_usd_limit", None)
        token_limit = getattr(limits, "total_tokens_limit", None)
        # A zero limit is no fraction (flujo fails any spend at all): left out.
        self.cost_limit = float(cost_limit) if cost_limit else None
        self.token_limit = int(token_limit) if token_limit else None
        # The caller's context (its span: a web request's) until flujo's pipeline_run
        # span replaces it; flujo's current step span (spans.py). None: the current one.
        self.context: Context = get_current()
        self.step_context: Context | None = None

    @property
    def limited(self) -> bool:
        return self.cost_limit is not None or self.token_limit is not None

    @property
    def fraction(self) -> float:
        """The largest share of a limit the run's outputs have used so far."""
        fraction = 0.0
        if self.cost_limit is not None:
            fraction = max(fraction, self.cost / self.cost_limit)
        if self.token_limit is not None:
            fraction = max(fraction, self.tokens / self.token_limit)
        return fraction

    def produced(self, step_name: Any, prompt: int, completion: int, cost: float,
                 model: str | None) -> None:
        """One output's usage as flujo extracted it: ``prompt`` is 0 when flujo does not
        know the input/output split (an output's own ``token_counts``)."""
        tokens = prompt + completion
        if not (cost or tokens):
            return
        self.cost += cost
        self.tokens += tokens
        known = prompt > 0
        self.spend.add(step_name, cost, tokens, (prompt, completion) if known else None,
                       model if known else None)

    def end(self, result: Any, error: BaseException | None, types: FlujoRunTypes) -> None:
        self.spend.run_ended(self, outcome_of(result, error, types),
                             perf_counter() - self.started)


class FlujoRunTypes(NamedTuple):
    """flujo's types a run's end is classified with, resolved when flujo is patched and
    held by the wrappers installed then (unpatching removes them with the wrappers)."""

    pipeline_result: type[Any]
    paused: tuple[type[BaseException], ...]  # PausedException, PipelineAbortSignal
    usage_limit: tuple[type[BaseException], ...]  # UsageLimitExceededError


def outcome_of(result: Any, error: BaseException | None, types: FlujoRunTypes) -> str:
    """How a run ended: stopped by its ``UsageLimits`` (flujo's UsageLimitExceededError)
    is ``usage_limit``, flujo's pause signals ``paused``, any other exception a
    ``failure``, a cancellation ``other``; without an exception, the final result says
    it (its context's status, then ``success``)."""
    if error is not None and not isinstance(error, GeneratorExit):
        if isinstance(error, types.usage_limit):
            return USAGE_LIMIT
        if isinstance(error, types.paused):
            return PAUSED
        return FAILURE if isinstance(error, Exception) else OTHER
    if result is None:
        return OTHER
    context = getattr(result, "final_pipeline_context", None)
    if getattr(context, "status", None) == "paused":
        return PAUSED
    return SUCCESS if getattr(result, "success", False) is True else FAILURE


_current: contextvars.ContextVar[Run | None] = contextvars.ContextVar(
    "opentelemetry_flujo_run", default=None)


# The run executing now in this context, if any (a bound C method: the execute wrapper
# asks once per execution).
current_run = _current.get


def step_context() -> Context | None:
    """The context a step's points are recorded in: flujo's span of the step running
    now when its OpenTelemetryHook is on, else None (the current context)."""
    run = _current.get()
    return None if run is None else run.step_context


def _begin(owner: Any, sources: FlujoSources) -> Run | None:
    """A run of ``owner`` (a RunSession or a Flujo runner), named after its pipeline."""
    try:
        executor = runner_executor(owner)
        if executor is None:  # a custom backend without flujo's executor: not measured
            return None
        # Naming the executor here, not only when the runner is built, is what names a
        # runner built before instrument() after its pipeline.
        source = sources.attach(executor, owner)
        if source is None:
            return None
        run = Run(source.spend, getattr(owner, "usage_limits", None))
        source.spend.run_started(run)
        return run
    except Exception:
        _logger.debug("could not start measuring a run of %r", owner, exc_info=True)
        return None


def _end(run: Run, result: Any, error: BaseException | None, types: FlujoRunTypes) -> None:
    try:
        run.end(result, error, types)
    except Exception:
        _logger.debug("recording a run failed", exc_info=True)


class _Tracked:
    """``inner`` (flujo's run generator) item for item, with ``run`` current inside it.

    An async iterator, not an async generator: the event loop keeps every async
    generator it has seen until it is garbage, and ``asyncio.run`` (what ``Flujo.run``
    calls once per run) closes each one still alive at its end in a task of its own,
    one more per run (~20 us) for a wrapper flujo has already closed. flujo's
    ``_run_async_impl`` iterates this and always closes it.
    """

    __slots__ = ("_done", "_inner", "_run", "_types")

    def __init__(self, run: Run, inner: Any, types: FlujoRunTypes) -> None:
        self._run, self._inner, self._types, self._done = run, inner, types, False

    def __aiter__(self) -> _Tracked:
        return self

    async def __anext__(self) -> Any:
        if self._done:
            raise StopAsyncIteration
        run = self._run
        token = _current.set(run)
        try:
            item = await self._inner.__anext__()
        except BaseException as error:  # re-raised: only noted for the outcome
            _current.reset(token)
            await self._finish(None if isinstance(error, StopAsyncIteration) else error)
            raise
        _current.reset(token)
        if isinstance(item, self._types.pipeline_result):
            run.final = item
        return item

    async def aclose(self) -> None:
        """Closed early (flujo's own iterators close it after the final result)."""
        if not self._done:
            await self._finish(None)

    async def _finish(self, error: BaseException | None) -> None:
        # flujo's clean-up sets the result's final success flag, so it runs before the
        # outcome is read.
        self._done = True
        run = self._run
        token = _current.set(run)
        try:
            await self._inner.aclose()
        finally:
            _current.reset(token)
            final = getattr(error, "result", None) if error is not None else None
            _end(run, final if final is not None else run.final, error, self._types)


def wrap_run_async(original: Callable[..., Any], sources: FlujoSources,
                   types: FlujoRunTypes) -> Callable[..., Any]:
    @functools.wraps(original)
    def run_async(self: Any, *args: Any, **kwargs: Any) -> Any:
        inner = original(self, *args, **kwargs)
        if _current.get() is not None:  # nested: part of the run it is in
            return inner
        run = _begin(self, sources)
        return inner if run is None else _Tracked(run, inner, types)

    return run_async


def wrap_resume_async(original: Callable[..., Any], sources: FlujoSources,
                      types: FlujoRunTypes) -> Callable[..., Any]:
    @functools.wraps(original)
    async def resume_async(self: Any, *args: Any, **kwargs: Any) -> Any:
        run = None if _current.get() is not None else _begin(self, sources)
        if run is None:
            return await original(self, *args, **kwargs)
        token = _current.set(run)
        result = error = None
        try:
            result = await original(self, *args, **kwargs)
            return result
        except BaseException as exc:
            error = exc
            raise
        finally:
            _current.reset(token)
            _end(run, result if error is None else getattr(error, "result", None), error,
                 types)

    return resume_async


def wrap_extract(original: Callable[..., Any], model_of: Callable[[Any, str], str | None],
                 call_used: Callable[[Any, str | None, int, int], None]) -> Callable[..., Any]:
    """``call_used(agent, model, input, output)``: the call's GenAI metrics (agent_calls)."""

    @functools.wraps(original)
    def extract_usage_metrics(*args: Any, **kwargs: Any) -> Any:
        usage = original(*args, **kwargs)
        try:
            prompt, completion, cost = usage
            run = _current.get()
            if not (prompt or completion or cost) or (run is None and not prompt):
                return usage
            agent = kwargs.get("agent", args[1] if len(args) > 1 else None)
            step_name = kwargs.get("step_name", args[2] if len(args) > 2 else None)
            # flujo reports 0 input tokens when it does not know the split: no model then
            model = model_of(agent, str(step_name or "unknown")) if prompt else None
            if run is not None:
                run.produced(step_name, int(prompt), int(completion), float(cost or 0.0),
                             model)
            if prompt:
                call_used(agent, model, int(prompt), int(completion))
        except Exception:
            _logger.debug("could not read an output's usage", exc_info=True)
        return usage

    return extract_usage_metrics
