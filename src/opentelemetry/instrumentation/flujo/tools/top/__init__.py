"""``flujo-otel top``: the live dashboard (rich) and the OTLP/HTTP receiver that feeds it.

``Dashboard`` is imported lazily so the plain-text parts work without rich installed.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Dashboard"]


def __getattr__(name: str) -> Any:
    if name == "Dashboard":
        from opentelemetry.instrumentation.flujo.tools.top.dashboard import Dashboard

        return Dashboard
    raise AttributeError(name)
