"""Environment variables read by the flujo instrumentation.

Every variable is read once, by :func:`opentelemetry.instrumentation.flujo.config.load_config`.
A value that cannot be used gets one warning naming the variable and the value used
instead; it never raises.
"""

OTEL_PYTHON_FLUJO_ENABLED = "OTEL_PYTHON_FLUJO_ENABLED"
"""
.. envvar:: OTEL_PYTHON_FLUJO_ENABLED

``true`` (default) or ``false``. ``false`` turns the whole instrumentation into a no-op:
no instruments, no patching, no stats reads.
"""

OTEL_PYTHON_FLUJO_EXCLUDED_METRICS = "OTEL_PYTHON_FLUJO_EXCLUDED_METRICS"
"""
.. envvar:: OTEL_PYTHON_FLUJO_EXCLUDED_METRICS

Comma-separated glob patterns of metric names not to create, e.g.
``flujo.executor.telemetry.*,flujo.executor.object_pool.*``. Default: none.
"""

OTEL_PYTHON_FLUJO_RATE_UNIT = "OTEL_PYTHON_FLUJO_RATE_UNIT"
"""
.. envvar:: OTEL_PYTHON_FLUJO_RATE_UNIT

How the executor reports ``*_rate`` and ``*utilization`` stats: ``percent`` (0..100,
default, as in the monitoring guide) or ``ratio`` (0..1). Exported values are ratios.
"""

OTEL_PYTHON_FLUJO_MAX_EXECUTOR_NAMES = "OTEL_PYTHON_FLUJO_MAX_EXECUTOR_NAMES"
"""
.. envvar:: OTEL_PYTHON_FLUJO_MAX_EXECUTOR_NAMES

Cap on distinct ``flujo.executor.name`` values (default 100). Executors past the cap
report under ``_other``.
"""

OTEL_PYTHON_FLUJO_STATS_TIMEOUT = "OTEL_PYTHON_FLUJO_STATS_TIMEOUT"
"""
.. envvar:: OTEL_PYTHON_FLUJO_STATS_TIMEOUT

Time budget in milliseconds for reading every executor's stats in one collection
(default 1000). A source that is not done by then is reported absent for that
collection and counted in ``flujo.otel.collection.errors{reason="timeout"}``.
"""

OTEL_PYTHON_FLUJO_MAX_STEP_NAMES = "OTEL_PYTHON_FLUJO_MAX_STEP_NAMES"
"""
.. envvar:: OTEL_PYTHON_FLUJO_MAX_STEP_NAMES

Cap on distinct ``flujo.step.name`` values per executor name on the
``flujo.executor.execution.duration`` histogram (default 100). Step names come from
the pipeline definitions, so they are bounded; steps past the cap record under
``_other``. ``0`` leaves the attribute off.
"""
