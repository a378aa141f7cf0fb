"""flujo's own spans as the context of a run's points, so their exemplars lead there.

flujo's ``OpenTelemetryHook`` starts a ``pipeline_run`` span at a run's ``pre_run``
event and a span per top-level step at ``pre_step``, but never makes them current:
a point recorded in the current context would carry the caller's span (or none).
``OpenTelemetryHook.hook`` is wrapped: the span a ``pre_run`` or ``pre_step`` event
started becomes the current run's ``context`` / ``step_context`` (runs.py), which the
run duration, the execution durations (steps run inside the step, nested ones
included) and the GenAI points are recorded in. Without the hook, a run's points are
recorded in its caller's context: a web request's span, when the run happens inside one.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from opentelemetry.trace import Span, set_span_in_context

from opentelemetry.instrumentation.flujo._internal.flujo_hooks import runs

_logger = logging.getLogger(__name__)

_EVENTS = ("pre_run", "pre_step")


def _open_spans(hook: Any) -> list[Span]:
    # The hook keeps the spans it started and has not ended yet in a dict, keyed by
    # event or step; which span is new is told by identity, whatever the key.
    spans = getattr(hook, "_active_spans", None)
    return list(spans.values()) if isinstance(spans, dict) else []


def wrap_hook(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def hook(self: Any, payload: Any) -> None:
        event = getattr(payload, "event_name", None)
        run = runs.current_run() if event in _EVENTS else None
        if run is None:
            return await original(self, payload)  # type: ignore[no-any-return]
        before = {id(span) for span in _open_spans(self)}
        await original(self, payload)
        try:
            started = [span for span in _open_spans(self) if id(span) not in before]
            if len(started) == 1:
                context = set_span_in_context(started[0])
                if event == "pre_step":
                    run.step_context = context
                elif run.step_context is None:  # a nested run's pre_run is not this run's
                    run.context = context
        except Exception:
            _logger.debug("could not follow flujo's span", exc_info=True)
        return None

    return hook
