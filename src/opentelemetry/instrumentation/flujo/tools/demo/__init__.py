"""A small but real executor that reports the monitoring guide's full stats schema."""

from opentelemetry.instrumentation.flujo.tools.demo.executor import ReferenceExecutor
from opentelemetry.instrumentation.flujo.tools.demo.workload import run_workload

__all__ = ["ReferenceExecutor", "run_workload"]
