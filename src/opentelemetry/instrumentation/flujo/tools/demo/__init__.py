"""A small but real executor that reports the monitoring guide's full stats schema."""

from opentelemetry.instrumentation.flujo.tools.demo.executor import ReferenceExecutor
from opentelemetry.instrumentation.flujo.tools.demo.workload import Tally, run_workload

__all__ = ["ReferenceExecutor", "Tally", "run_workload"]
