"""The GenAI semantic conventions' client metrics for flujo's agent calls.

An *agent call* is one call of flujo's agent runner (``DefaultAgentRunner.run``, which
every agent step goes through) for an agent that has a model id (``provider:model``,
as flujo's ``extract_model_id`` finds it): a model call as flujo makes it (a
pydantic-ai agent run may hold several requests, tool calls among them; flujo accounts
them as one). ``Step.from_callable`` steps go through the same runner: without a model
id they are not GenAI operations and record nothing here.

- ``gen_ai.client.operation.duration``: every such call, with ``error.type`` (the
  exception's class) when it raised; flujo's pause and abort signals and a
  cancellation are no operation that ended, and record nothing.
- ``gen_ai.client.token.usage``: one input and one output point per call whose split
  flujo accounts (its ``extract_usage_metrics`` reported input tokens; the hook is in
  ``runs.wrap_extract``). Tokens without a known split stay in ``flujo.step.tokens``
  only: the convention says not to report what is not known.

Both carry ``gen_ai.operation.name`` = ``chat``, the provider (see ``genai``) and
``gen_ai.request.model``; ``OTEL_PYTHON_FLUJO_GENAI_METRICS`` (``auto``: not for an
agent pydantic-ai instrumentation already reports) decides per call. The points are
recorded in the context of flujo's step span when its ``OpenTelemetryHook`` is on
(``runs.step_context``), else in the current one, so their exemplars lead to the span
the call belongs to.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
import weakref
from collections.abc import Callable
from typing import Any

from opentelemetry.instrumentation.flujo._internal.catalog import (
    ERROR_TYPE,
    GENAI_OPERATION,
    GENAI_OPERATION_CHAT,
    TOKEN_TYPE,
    TOKEN_TYPES,
)
from opentelemetry.instrumentation.flujo._internal.flujo_hooks import genai, runs
from opentelemetry.instrumentation.flujo._internal.flujo_hooks.sources import FlujoSources

_logger = logging.getLogger(__name__)
perf_counter = time.perf_counter

ModelOf = Callable[[Any, str], "str | None"]
# Agents whose model id is remembered (see ModelIds); past it, flujo is asked each time.
_MAX_AGENTS = 4096
# Attribute sets by (latest, model id, token type or error type); bounded by the
# pipelines' models and exception classes, and past this size built per point instead.
_MAX_CACHED = 1000
_attributes: dict[tuple[bool, str, str | None, str | None], dict[str, str]] = {}


def _attributes_of(latest: bool, model_id: str, token_type: str | None = None,
                   error_type: str | None = None) -> dict[str, str]:
    key = (latest, model_id, token_type, error_type)
    found = _attributes.get(key)
    if found is not None:
        return found
    attributes = {GENAI_OPERATION: GENAI_OPERATION_CHAT, **genai.model_attributes(model_id, latest)}
    if token_type is not None:
        attributes[TOKEN_TYPE] = token_type
    if error_type is not None:
        attributes[ERROR_TYPE] = error_type
    if len(_attributes) < _MAX_CACHED:
        _attributes[key] = attributes
    return attributes


class ModelIds:
    """The model id of each live agent, as flujo's ``extract_model_id`` finds it, asked
    once per agent: what the agent-call and spend wrappers call (a :data:`ModelOf`).

    flujo remembers it too (its cache says an agent's id does not change), in a
    ``WeakKeyDictionary`` whose two Python-level look-ups cost ~4 us a call inside a run,
    three times a three-step run; here a known agent costs a dict look-up by identity.
    An entry goes with its agent; an agent that takes no weak reference is asked each
    time."""

    __slots__ = ("_known", "_model_of")

    def __init__(self, model_of: ModelOf) -> None:
        self._model_of = model_of
        self._known: dict[int, tuple[weakref.ref[Any], str | None]] = {}

    def __call__(self, agent: Any, step_name: str) -> str | None:
        key = id(agent)
        known = self._known.get(key)
        if known is not None and known[0]() is agent:
            return known[1]
        model_id = self._model_of(agent, step_name)
        if agent is not None and len(self._known) < _MAX_AGENTS:
            with contextlib.suppress(TypeError):  # no weak reference: asked each time
                self._known[key] = (weakref.ref(agent, functools.partial(self._forget, key)),
                                    model_id)
        return model_id

    def _forget(self, key: int, _dead: weakref.ref[Any]) -> None:
        self._known.pop(key, None)


def _reporting(sources: FlujoSources, agent: Any, model_id: str | None) -> bool:
    """Whether this call's GenAI points are to be recorded."""
    if not model_id:
        return False
    mode = sources.config.genai_metrics
    return not (mode == "off" or (mode == "auto" and genai.instrumented_by_pydantic_ai(agent)))


def used(sources: FlujoSources, agent: Any, model_id: str | None, input_tokens: int,
         output_tokens: int) -> None:
    """An agent call's tokens, as flujo accounted them with a known split."""
    if model_id is None or not _reporting(sources, agent, model_id):
        return
    latest = sources.config.genai_latest
    context = runs.step_context()
    for binding, instruments in sources.run_targets:
        if binding.active and instruments.genai_tokens is not None:
            for token_type, count in zip(TOKEN_TYPES, (input_tokens, output_tokens),
                                         strict=True):
                instruments.genai_tokens.record(
                    count, _attributes_of(latest, model_id, token_type), context=context)


def _called(sources: FlujoSources, agent: Any, model_id: str | None, seconds: float,
            error_type: str | None) -> None:
    if model_id is None or not _reporting(sources, agent, model_id):
        return
    attributes = _attributes_of(sources.config.genai_latest, model_id, error_type=error_type)
    context = runs.step_context()
    for binding, instruments in sources.run_targets:
        if binding.active and instruments.genai_duration is not None:
            instruments.genai_duration.record(seconds, attributes, context=context)


def wrap_agent_run(original: Callable[..., Any], model_of: ModelOf,
                   control_flow: tuple[type[BaseException], ...],
                   sources: FlujoSources) -> Callable[..., Any]:
    """``DefaultAgentRunner.run``, timed for the agents that have a model id."""

    @functools.wraps(original)
    async def run(self: Any, agent: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            model_id = model_of(agent, "agent") if agent is not None else None
        except Exception:
            model_id = None
        if not model_id:  # a callable step: no model call
            return await original(self, agent, *args, **kwargs)
        started = perf_counter()
        try:
            result = await original(self, agent, *args, **kwargs)
        except Exception as error:
            if not isinstance(error, control_flow):
                _safely(sources, agent, model_id, perf_counter() - started,
                        type(error).__qualname__)
            raise
        _safely(sources, agent, model_id, perf_counter() - started, None)
        return result

    return run


def _safely(sources: FlujoSources, agent: Any, model_id: str, seconds: float,
            error_type: str | None) -> None:
    try:
        _called(sources, agent, model_id, seconds, error_type)
    except Exception:  # never into the host
        _logger.debug("recording an agent call failed", exc_info=True)
