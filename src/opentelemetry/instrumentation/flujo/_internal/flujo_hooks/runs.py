"""Pipeline runs and what they spent, by wrapping the places flujo 0.6 runs and totals them.

- A *run* is one ``RunSession.run_async`` (every entry point of ``Flujo`` goes through
  it: ``run``, ``run_async``, ``run_result_async``, ``run_outcomes_async``, ``stream_async``
  ...) or one ``Flujo.resume_async``. A run that starts while another run of this
  process is executing in the same task (``runner.as_step(...)``, a runner called from
  inside a step, a pipeline in a loop or parallel branch) is *nested*: it is part of the
  run it is in, not a run of its own, and flujo folds what it spent into the outer
  run's step (which is where it is counted).
- *Spend* follows flujo's own accounting exactly: ``StepCoordinator.update_pipeline_result``
  is where flujo adds a top-level step's cost and tokens to the run's
  ``PipelineResult`` totals; what the totals grew by is recorded under that step. A
  loop's iterations, a parallel step's branches, retries and fallbacks are inside their
  top-level step's figures because flujo puts them there. The totals are followed as a
  high-water mark, so a total flujo lowers (it replaces a synthesised failure) is never
  exported as a negative count; whatever the final result's totals hold beyond the
  mark when the run ends is recorded under its last step.
- ``gen_ai.token.type`` is set where flujo knows the split: its usage extraction
  (``extract_usage_metrics``) reported input tokens for the step's agent calls and their
  input + output equal what the step added to the total. The model is known there too.

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
from collections.abc import AsyncIterator, Callable
from typing import Any, NamedTuple

from opentelemetry.context import Context, get_current

from opentelemetry.instrumentation.flujo._internal.flujo_hooks.measured import (
    FlujoSources,
    Measured,
)

_logger = logging.getLogger(__name__)
perf_counter = time.perf_counter

SUCCESS, FAILURE, PAUSED, OTHER = "success", "failure", "paused", "other"
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
    """One top-level run: its source (the executor name's ``Measured``), the totals of
    its ``PipelineResult`` recorded so far, its agents' usage since its last step, and
    the OTel contexts its points are recorded in (their exemplars' spans)."""

    __slots__ = ("context", "cost", "cost_limit", "final", "inputs", "model", "outputs",
                 "paused", "result", "source", "started", "step_context", "token_limit",
                 "tokens")

    def __init__(self, source: Measured, limits: Any,
                 paused: tuple[type[BaseException], ...]) -> None:
        self.source = source
        self.paused = paused  # flujo's pause signals (FlujoRunTypes.paused)
        self.started = perf_counter()
        self.result: Any = None  # the PipelineResult flujo accumulates into
        self.final: Any = None  # the last PipelineResult the run yielded
        self.cost = 0.0
        self.tokens = 0
        cost_limit = getattr(limits, "total_cost_usd_limit", None)
        token_limit = getattr(limits, "total_tokens_limit", None)
        # A zero limit is no fraction (flujo fails any spend at all): left out.
        self.cost_limit = float(cost_limit) if cost_limit else None
        self.token_limit = int(token_limit) if token_limit else None
        self.inputs = self.outputs = 0
        self.model: str | None = None  # "" once two models took part
        # The caller's context (its span: a web request's) until flujo's pipeline_run
        # span replaces it; flujo's current step span (spans.py). None: the current one.
        self.context: Context = get_current()
        self.step_context: Context | None = None

    @property
    def limited(self) -> bool:
        return self.cost_limit is not None or self.token_limit is not None

    @property
    def fraction(self) -> float:
        """The largest share of a limit used: the totals only rise (a high-water mark),
        so the share now is the largest the run has reached."""
        fraction = 0.0
        if self.cost_limit is not None:
            fraction = max(fraction, self.cost / self.cost_limit)
        if self.token_limit is not None:
            fraction = max(fraction, self.tokens / self.token_limit)
        return fraction

    def register(self, result: Any) -> None:
        """``result`` is the run's PipelineResult; a resumed run's already holds the spend
        of the part before the pause (counted then)."""
        self.result = result
        self.cost, self.tokens = _totals(result)

    def account(self, step_name: Any) -> None:
        """Record what the run's totals grew by since the last step, under ``step_name``."""
        cost, tokens = _totals(self.result)
        self.record(step_name, cost, tokens)

    def record(self, step_name: Any, cost: float, tokens: int) -> None:
        added_cost = cost - self.cost if cost > self.cost else 0.0
        added_tokens = tokens - self.tokens if tokens > self.tokens else 0
        inputs, outputs, model = self.inputs, self.outputs, self.model
        self.inputs = self.outputs = 0
        self.model = None
        if not (added_cost or added_tokens):
            return
        self.cost, self.tokens = max(cost, self.cost), max(tokens, self.tokens)
        known = bool(inputs) and inputs + outputs == added_tokens
        self.source.add_spend(step_name, added_cost, added_tokens,
                              (inputs, outputs) if known else None,
                              (model or None) if known else None)

    def used(self, input_tokens: int, output_tokens: int, model: str | None) -> None:
        """An agent call's usage as flujo extracted it."""
        self.inputs += input_tokens
        self.outputs += output_tokens
        if self.model is None:
            self.model = model or ""
        elif self.model != model:
            self.model = ""

    def end(self, result: Any, error: BaseException | None) -> None:
        outcome = outcome_of(result, error, self.paused)
        if result is not None:
            try:  # totals flujo reached outside update_pipeline_result
                cost, tokens = _totals(result)
                if cost > self.cost or tokens > self.tokens:
                    history = getattr(result, "step_history", None)
                    self.record(history[-1].name if history else None, cost, tokens)
            except Exception:
                _logger.debug("could not read the run's final totals", exc_info=True)
        self.source.run_ended(self, outcome, perf_counter() - self.started)


def _totals(result: Any) -> tuple[float, int]:
    return float(result.total_cost_usd or 0.0), int(result.total_tokens or 0)


class FlujoRunTypes(NamedTuple):
    """flujo's types a run's end is classified with, resolved once when flujo is patched."""

    pipeline_result: type[Any]
    paused: tuple[type[BaseException], ...]  # PausedException, PipelineAbortSignal


def outcome_of(result: Any, error: BaseException | None,
               paused: tuple[type[BaseException], ...]) -> str:
    """How a run ended: flujo's pause signals are ``paused``, any other exception a
    ``failure`` (UsageLimitExceededError among them), a cancellation ``other``; without
    an exception, the final result says it (its context's status, then ``success``)."""
    if error is not None and not isinstance(error, GeneratorExit):
        if isinstance(error, paused):
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


def _begin(owner: Any, sources: FlujoSources, types: FlujoRunTypes) -> Run | None:
    """A run of ``owner`` (a RunSession or a Flujo runner), named after its pipeline."""
    try:
        executor = runner_executor(owner)
        if executor is None:  # a custom backend without flujo's executor: not measured
            return None
        # Naming the executor here, not only when the runner is built, is what names a
        # runner built before instrument() after its pipeline.
        source = sources.attach(executor, runner_name(owner))
        if source is None:
            return None
        run = Run(source, getattr(owner, "usage_limits", None), types.paused)
        source.run_started(run)
        return run
    except Exception:
        _logger.debug("could not start measuring a run of %r", owner, exc_info=True)
        return None


def _end(run: Run, result: Any, error: BaseException | None) -> None:
    try:
        run.end(result, error)
    except Exception:
        _logger.debug("recording a run failed", exc_info=True)


async def _tracked(run: Run, inner: AsyncIterator[Any],
                   result_type: type[Any]) -> AsyncIterator[Any]:
    """``inner`` (flujo's run generator) item for item, with ``run`` current inside it."""
    error: BaseException | None = None
    try:
        while True:
            token = _current.set(run)
            try:
                item = await inner.__anext__()
            except StopAsyncIteration:
                break
            finally:
                _current.reset(token)
            if isinstance(item, result_type):
                run.final = item
            yield item
    except BaseException as exc:  # re-raised: only noted for the outcome
        error = exc
        raise
    finally:
        # Closed early (flujo's own iterators close it after the final result): flujo's
        # clean-up sets the result's final success flag, so it runs before the outcome.
        token = _current.set(run)
        try:
            await inner.aclose()  # type: ignore[attr-defined]
        finally:
            _current.reset(token)
            final = getattr(error, "result", None) if error is not None else None
            _end(run, final if final is not None else run.final, error)


def wrap_run_async(original: Callable[..., Any], sources: FlujoSources,
                   types: FlujoRunTypes) -> Callable[..., Any]:
    @functools.wraps(original)
    def run_async(self: Any, *args: Any, **kwargs: Any) -> Any:
        inner = original(self, *args, **kwargs)
        if _current.get() is not None:  # nested: part of the run it is in
            return inner
        run = _begin(self, sources, types)
        return inner if run is None else _tracked(run, inner, types.pipeline_result)

    return run_async


def wrap_resume_async(original: Callable[..., Any], sources: FlujoSources,
                      types: FlujoRunTypes) -> Callable[..., Any]:
    @functools.wraps(original)
    async def resume_async(self: Any, *args: Any, **kwargs: Any) -> Any:
        run = None if _current.get() is not None else _begin(self, sources, types)
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
            _end(run, result if error is None else getattr(error, "result", None), error)

    return resume_async


def wrap_execute_steps(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def execute_steps(self: Any, *args: Any, **kwargs: Any) -> Any:
        run = _current.get()
        if run is not None and run.result is None:
            try:  # (start_idx, data, context, result): positional or by keyword
                run.register(args[3] if len(args) > 3 else kwargs["result"])
            except Exception:
                _logger.debug("could not follow the run's result", exc_info=True)
        return original(self, *args, **kwargs)

    return execute_steps


def wrap_update(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def update_pipeline_result(self: Any, result: Any, step_result: Any, *args: Any,
                               **kwargs: Any) -> Any:
        done = original(self, result, step_result, *args, **kwargs)
        run = _current.get()
        if run is not None and result is run.result:
            try:
                run.account(step_result.name)
            except Exception:
                _logger.debug("recording a step's spend failed", exc_info=True)
        return done

    return update_pipeline_result


def wrap_extract(original: Callable[..., Any], model_of: Callable[[Any, str], str | None],
                 call_used: Callable[[Any, str | None, int, int], None]) -> Callable[..., Any]:
    """``call_used(agent, model, input, output)``: the call's GenAI metrics (agent_calls)."""

    @functools.wraps(original)
    def extract_usage_metrics(*args: Any, **kwargs: Any) -> Any:
        usage = original(*args, **kwargs)
        try:
            prompt, completion, _cost = usage
            if prompt:  # flujo reports 0 input tokens when it does not know the split
                agent = kwargs.get("agent", args[1] if len(args) > 1 else None)
                model = model_of(agent, str(kwargs.get("step_name", "unknown")))
                run = _current.get()
                if run is not None:
                    run.used(int(prompt), int(completion), model)
                call_used(agent, model, int(prompt), int(completion))
        except Exception:
            _logger.debug("could not read an agent's usage", exc_info=True)
        return usage

    return extract_usage_metrics
