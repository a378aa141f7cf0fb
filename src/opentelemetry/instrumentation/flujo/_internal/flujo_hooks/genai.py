"""The OpenTelemetry GenAI semantic conventions as this package speaks them: which
attribute names the provider and model go under, the convention's well-known provider
values for flujo's model ids, and whether pydantic-ai already reports an agent's calls.

Read by ``agent_calls`` (the ``gen_ai.client.*`` metrics) and by ``measured`` (the
provider and model on ``flujo.step.cost`` / ``flujo.step.tokens``, flujo's own metrics:
always under the current names), so one model id gets the same values everywhere.

**Stability.** GenAI conventions up to 1.36.0 name the provider ``gen_ai.system``; 1.37.0
renamed it ``gen_ai.provider.name`` (and xAI's value ``xai`` to ``x_ai``). The
convention asks instrumentations to keep the established names by default and to emit
the newer ones only with ``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``
(read into ``Config.genai_latest``).
"""

from __future__ import annotations

import sys
from typing import Any

from opentelemetry.instrumentation.flujo._internal.catalog import (
    GENAI_SYSTEM,
    PROVIDER_NAME,
    REQUEST_MODEL,
)
from opentelemetry.instrumentation.flujo._internal.collect.registry import MAX_NAME_LENGTH

# flujo's model ids are pydantic-ai's "provider:model" (``extract_provider_and_model``):
# the prefixes of the providers the conventions know, to their well-known value. A
# prefix not listed (ollama, openrouter, together, ...) is exported as it is.
_WELL_KNOWN = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google-gla": "gcp.gemini",  # the Gemini API
    "gemini": "gcp.gemini",
    "google-vertex": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",
    "vertex_ai": "gcp.vertex_ai",
    "bedrock": "aws.bedrock",
    "azure": "azure.ai.openai",
    "mistral": "mistral_ai",
    "groq": "groq",
    "deepseek": "deepseek",
    "cohere": "cohere",
    "grok": "x_ai",
    "xai": "x_ai",
    "perplexity": "perplexity",
    "watsonx": "ibm.watsonx.ai",
}
# The one value 1.37.0 renamed.
_ESTABLISHED = {"x_ai": "xai"}


def provider_key(latest: bool) -> str:
    """The provider attribute's name in the conventions' version in use."""
    return PROVIDER_NAME if latest else GENAI_SYSTEM


def model_attributes(model_id: str, latest: bool) -> dict[str, str]:
    """The provider and request-model attributes of a flujo model id: ``openai:gpt-4o``
    is provider ``openai``, model ``gpt-4o``; an id without a provider has no provider
    attribute (split as flujo's ``extract_provider_and_model`` does)."""
    prefix, colon, name = model_id.partition(":")
    attributes = {}
    if colon:
        raw = prefix.strip()
        value = _WELL_KNOWN.get(raw.lower(), raw)
        if not latest:
            value = _ESTABLISHED.get(value, value)
        attributes[provider_key(latest)] = value[:MAX_NAME_LENGTH]
    attributes[REQUEST_MODEL] = (name if colon else prefix).strip()[:MAX_NAME_LENGTH]
    return attributes


def instrumented_by_pydantic_ai(agent: Any) -> bool:
    """Whether pydantic-ai's own instrumentation records this agent's model calls (it
    records ``gen_ai.client.token.usage`` itself): the pydantic-ai ``Agent`` (flujo's
    ``AsyncAgentWrapper`` holds it as ``_agent``) was built with ``instrument=``, or
    ``Agent.instrument_all()`` is on and the agent did not opt out, or its model is an
    ``InstrumentedModel``."""
    pydantic_ai = sys.modules.get("pydantic_ai")
    agent_class = getattr(pydantic_ai, "Agent", None)
    target = getattr(agent, "_agent", agent)
    if not isinstance(agent_class, type) or not isinstance(target, agent_class):
        return False
    instrument = getattr(target, "instrument", None)
    if instrument is None:  # the agent's own choice wins over instrument_all()
        instrument = getattr(type(target), "_instrument_default", False)
    if instrument:
        return True
    instrumented = getattr(sys.modules.get("pydantic_ai.models.instrumented"),
                           "InstrumentedModel", None)
    return isinstance(instrumented, type) and isinstance(getattr(target, "model", None),
                                                         instrumented)
