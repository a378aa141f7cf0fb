"""A small but real executor that reports the monitoring guide's full stats schema."""

from opentelemetry.instrumentation.flujo.tools.demo.executor import ReferenceExecutor
from opentelemetry.instrumentation.flujo.tools.demo.workload import WARM_UP_S, Tally, run_workload

__all__ = ["WARM_UP_S", "ReferenceExecutor", "Tally", "run_workload"]
