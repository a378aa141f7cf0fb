"""A MeterProvider built from the standard OpenTelemetry environment.

Used by ``auto`` (import-time activation) and ``flujo-otel demo`` when the
application has not set a MeterProvider itself. Honours OTEL_SDK_DISABLED,
OTEL_METRICS_EXPORTER (otlp, console, none, or any ``opentelemetry_metrics_exporter``
entry point), OTEL_EXPORTER_OTLP_[METRICS_]PROTOCOL, OTEL_SERVICE_NAME and
OTEL_RESOURCE_ATTRIBUTES (plus a service.instance.id per process: see
service_instance); the exporters and the periodic reader read their own variables
(endpoint, headers, timeout, temporality, OTEL_METRIC_EXPORT_INTERVAL).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from opentelemetry import metrics
from opentelemetry.instrumentation.flujo._internal.config import Config
from opentelemetry.instrumentation.flujo._internal.formatting import did_you_mean
from opentelemetry.instrumentation.flujo._internal.otel.service_instance import (
    renew_after_fork,
    with_instance_id,
)
from opentelemetry.instrumentation.flujo._internal.otel.views import flujo_views
from opentelemetry.instrumentation.flujo.package import install_hint

_logger = logging.getLogger(__name__)

_PROTOCOLS = {"grpc": "otlp_proto_grpc", "http/protobuf": "otlp_proto_http"}
# OTEL_METRICS_EXPORTER names whose package one of this package's extras installs.
EXTRAS = {"prometheus": "prometheus"}


def meter_provider_is_set() -> bool:
    provider = metrics.get_meter_provider()
    return type(provider).__name__ not in ("_ProxyMeterProvider", "ProxyMeterProvider")


def sdk_disabled(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def exporter_names(environ: Mapping[str, str]) -> list[str]:
    raw = environ.get("OTEL_METRICS_EXPORTER", "otlp")
    names = [part.strip().lower() for part in raw.split(",") if part.strip()]
    return [] if "none" in names else names


def _entry_point_name(name: str, environ: Mapping[str, str]) -> str:
    if name != "otlp":
        return name
    protocol = (
        environ.get("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL")
        or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "grpc"
    ).strip().lower()
    if protocol not in _PROTOCOLS:
        _logger.warning(
            "OTEL_EXPORTER_OTLP_PROTOCOL=%r is not grpc or http/protobuf; using 'grpc' instead",
            protocol)
        protocol = "grpc"
    return _PROTOCOLS[protocol]


def not_installed(name: str) -> str:
    """What to say about an OTEL_METRICS_EXPORTER name whose package is missing: the
    extra that brings it, else the closest installed name (a typo such as flujo_cvs)."""
    extra = EXTRAS.get(name)
    fix = install_hint(extra) if extra else "install the package that provides it"
    if not extra:
        known = [ep.name for ep in entry_points(group="opentelemetry_metrics_exporter")]
        fix += did_you_mean(name, [*known, "otlp", "none", *EXTRAS])
    return f"OTEL_METRICS_EXPORTER names {name!r}, which is not installed: {fix}"


def _entry_point(name: str, environ: Mapping[str, str]) -> EntryPoint | None:
    wanted = _entry_point_name(name, environ)
    found = [ep for ep in entry_points(group="opentelemetry_metrics_exporter")
             if ep.name == wanted]
    return found[0] if found else None


def missing_exporters(environ: Mapping[str, str]) -> list[str]:
    """:func:`not_installed` for each configured exporter that is not installed, or whose
    entry point cannot be imported."""
    missing = []
    for name in exporter_names(environ):
        entry_point = _entry_point(name, environ)
        try:
            if entry_point is not None:
                entry_point.load()
                continue
        except ImportError:
            pass
        missing.append(not_installed(name))
    return missing


def load_exporter(name: str, environ: Mapping[str, str]) -> Any | None:
    """The exporter (or, like ``prometheus``, the reader) an entry point makes."""
    entry_point = _entry_point(name, environ)
    if entry_point is None:
        _logger.warning("%s; skipped", not_installed(name))
        return None
    try:
        return entry_point.load()()
    except ImportError:  # installed, but a package it needs is not
        _logger.warning("%s; skipped", not_installed(name))
    except Exception:
        _logger.warning("metrics exporter %r could not be created", entry_point.name,
                        exc_info=True)
    return None


def readers_from_env(environ: Mapping[str, str]) -> list[MetricReader]:
    readers: list[MetricReader] = []
    for name in exporter_names(environ):
        exporter = load_exporter(name, environ)
        if isinstance(exporter, MetricReader):  # a pull exporter: read when scraped
            readers.append(exporter)
        elif exporter is not None:
            readers.append(PeriodicExportingMetricReader(exporter))
    return readers


def build_meter_provider(
    config: Config, environ: Mapping[str, str] | None = None,
    extra_readers: Sequence[MetricReader] = ()
) -> MeterProvider:
    """A provider with the environment's readers and ``extra_readers``, and the views
    sized for ``config`` (the runtime's)."""
    env = os.environ if environ is None else environ
    readers = readers_from_env(env) + list(extra_readers)
    resource, configured_id = with_instance_id(Resource.create())
    provider = MeterProvider(metric_readers=readers, resource=resource,
                             views=flujo_views(config))
    # Its fork guard comes with the runtime that serves it (see otel.fork_guard).
    renew_after_fork(provider, configured_id)
    return provider


def ensure_meter_provider(config: Config, environ: Mapping[str, str] | None = None) -> bool:
    """Set a global MeterProvider from the environment unless one is set; True if set here."""
    if sdk_disabled(environ) or meter_provider_is_set():
        return False
    metrics.set_meter_provider(build_meter_provider(config, environ))
    return True


def after_auto_instrumentation() -> None:
    """``opentelemetry-instrument``'s post-instrument hook (``opentelemetry_post_instrument``).

    A configurator (opentelemetry-distro's, or another distro's) sets the MeterProvider
    before the instrumentors run. Without one, nothing does and the instrumentor's
    metrics would go nowhere: then set one from the environment, as ``import ...auto``
    does. Not when the instrumentor did not run (OTEL_PYTHON_DISABLED_INSTRUMENTATIONS,
    OTEL_PYTHON_FLUJO_ENABLED=false). Never raises.
    """
    try:
        from opentelemetry.instrumentation.flujo import FlujoInstrumentor
        from opentelemetry.instrumentation.flujo._internal.runtime import get_runtime

        config = get_runtime().config
        if config.enabled and FlujoInstrumentor().is_instrumented_by_opentelemetry:
            ensure_meter_provider(config)
    except Exception:
        _logger.warning("flujo: no MeterProvider could be set; the application is unaffected",
                        exc_info=True)
