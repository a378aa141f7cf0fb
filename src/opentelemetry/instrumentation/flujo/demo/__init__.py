"""A small but real executor that reports the monitoring guide's full stats schema."""

from opentelemetry.instrumentation.flujo.demo.executor import ReferenceExecutor
from opentelemetry.instrumentation.flujo.demo.workload import run_workload

__all__ = ["ReferenceExecutor", "run_workload"]
