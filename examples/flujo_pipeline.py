"""A real flujo 0.6 pipeline, measured by opentelemetry-instrumentation-flujo.

Needs Python >= 3.13 with ``flujo>=0.6,<0.7`` and ``opentelemetry-api<1.44`` next to
this package (``make dev-flujo`` builds such an environment in ``.venv-flujo``)::

    .venv-flujo/bin/python examples/flujo_pipeline.py

It instruments in code and prints what one collection exports. An application needs
no code at all: ``opentelemetry-instrument python app.py`` with the usual
``OTEL_METRICS_EXPORTER`` / ``OTEL_EXPORTER_OTLP_*`` variables does the same.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import sys
import tempfile

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader

from opentelemetry.instrumentation.flujo import FlujoInstrumentor, flujo_views

if importlib.util.find_spec("flujo") is None:  # one clear line, not an ImportError
    sys.exit("examples/flujo_pipeline.py needs flujo 0.6 (Python 3.13): run `make dev-flujo`, "
             "then `.venv-flujo/bin/python examples/flujo_pipeline.py`")

reader = InMemoryMetricReader()
FlujoInstrumentor().instrument(
    meter_provider=MeterProvider(metric_readers=[reader], views=flujo_views()))

from flujo import Flujo, Pipeline, Step  # noqa: E402 - after instrumenting, like a real app

_calls = itertools.count(1)


async def add_one(x: int) -> int:
    return x + 1


async def flaky(x: int) -> int:
    """Fails on its first two calls: flujo retries it."""
    if next(_calls) <= 2:
        raise ValueError("transient")
    return x * 2


def main() -> None:
    # A flujo run writes flujo.lock and flujo_ops.db into the working directory.
    os.chdir(tempfile.mkdtemp(prefix="flujo-example-"))
    pipeline = (
        Step.from_callable(add_one, name="add_one")
        >> Step.from_callable(flaky, name="flaky", max_retries=3)
        >> Step.parallel("fan_out", {
            "left": Pipeline.from_step(Step.from_callable(add_one, name="left")),
            "right": Step.from_callable(add_one, name="right_1")
            >> Step.from_callable(add_one, name="right_2"),
        })
    )
    runner = Flujo(pipeline, pipeline_name="example", persist_state=False)
    for result in (runner.run(1), runner.run(1)):  # the second run hits flujo's cache
        print("flujo:", [(sr.name, sr.success, sr.attempts, sr.metadata_.get("cache_hit"))
                         for sr in result.step_history])

    data = reader.get_metrics_data()
    for metric in (m for rm in data.resource_metrics for sm in rm.scope_metrics
                   for m in sm.metrics if m.name.startswith("flujo.executor.")):
        for point in metric.data.data_points:
            attributes = {k.rsplit(".", 1)[-1]: v for k, v in point.attributes.items()
                          if k != "flujo.executor.name"}
            shown = (f"count={point.count} sum={point.sum:.6f}"
                     if isinstance(point, HistogramDataPoint) else f"{point.value:g}")
            print(f"{metric.name} {attributes or ''} {shown} {metric.unit}")


if __name__ == "__main__":
    main()
