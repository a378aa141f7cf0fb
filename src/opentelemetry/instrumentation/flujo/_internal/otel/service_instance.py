"""A ``service.instance.id`` of its own for every process exporting through a provider we build.

Workers of one service (gunicorn, uvicorn, celery) share its name and attributes; a
backend tells their cumulative counters apart only by ``service.instance.id``. Without
it, the workers' counters land in one series that goes back and forth between them.
What the SDK does about it depends on its version (measured):

- 1.35 (our floor) to 1.42: no ``service.instance.id`` at all;
- 1.43: a random one, which a forked child keeps (a preloaded server's workers share it);
- 1.44 on: a random one, renewed in a forked child, where it also replaces one that
  ``OTEL_RESOURCE_ATTRIBUTES`` configured.

For the providers this package builds (``import ...flujo.auto``, ``flujo-otel demo``,
opentelemetry-instrument without a configurator), every version behaves as 1.44 does
for a generated id, and a configured one is kept, in children too. A provider the
application built is left as it is.
"""

from __future__ import annotations

import logging
import os
import uuid
import weakref
from typing import Any

from opentelemetry.sdk import resources
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource

_logger = logging.getLogger(__name__)

SERVICE_INSTANCE_ID = "service.instance.id"


def _sdk_instance_id() -> str | None:
    """The id the SDK generates for this process (1.43 on; None before)."""
    detector = getattr(resources, "ServiceInstanceIdResourceDetector", None)
    if detector is None:
        return None
    found = detector().detect().attributes.get(SERVICE_INSTANCE_ID)
    return found if isinstance(found, str) else None


def with_instance_id(resource: Resource) -> tuple[Resource, str | None]:
    """``resource`` with this process' id, and the configured id (None when generated).

    An id other than the one the SDK generated came from the configuration
    (``OTEL_RESOURCE_ATTRIBUTES``, a resource detector) and is kept.
    """
    found = resource.attributes.get(SERVICE_INSTANCE_ID)
    generated = _sdk_instance_id()
    if found is not None and str(found) != generated:
        return resource, str(found)
    return resource.merge(Resource({SERVICE_INSTANCE_ID: generated or str(uuid.uuid4())})), None


def renew_after_fork(provider: MeterProvider, configured: str | None) -> None:
    """Give ``provider``'s resource a new id in each forked child (or the configured one back).

    The resource is immutable and the provider cannot be replaced once it is the global
    one, so the child swaps the resource in the provider's SDK configuration, where every
    reader's collection takes it from (SDK 1.35 to 1.45). Registered after the SDK's own
    handler, so it runs after it (1.44 on: it would have replaced a configured id).
    """
    if not hasattr(os, "register_at_fork"):
        return
    ref = weakref.ref(provider)

    def after_in_child() -> None:
        try:
            config: Any = getattr(ref(), "_sdk_config", None)
            resource = getattr(config, "resource", None)
            if isinstance(resource, Resource):
                instance = configured or _sdk_instance_id() or str(uuid.uuid4())
                config.resource = resource.merge(Resource({SERVICE_INSTANCE_ID: instance}))
        except Exception:
            _logger.warning("could not renew service.instance.id after fork()", exc_info=True)

    os.register_at_fork(after_in_child=after_in_child)
