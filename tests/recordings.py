"""Writing synthetic recordings with the recording exporter's own CSV/JSONL rendering."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opentelemetry.instrumentation.flujo._internal.catalog import BY_NAME, PREFIX
from opentelemetry.instrumentation.flujo._internal.exporters.appending import append
from opentelemetry.instrumentation.flujo._internal.exporters.recording import (
    render_csv,
    render_jsonl,
    timestamp,
)

T0 = 1_700_000_000.0


def row(t: float, executor: str, short: str, value: float, state: str = "",
        unit: str | None = None, **attributes: str) -> dict[str, Any]:
    metric = PREFIX + short
    return {"timestamp": timestamp(int(t * 1e9)), "executor": executor, "metric": metric,
            "value": value, "unit": unit if unit is not None else BY_NAME[metric].unit,
            "threshold_state": state,
            "attributes": {k.replace("__", "."): v for k, v in attributes.items()}}


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    render = render_jsonl if path.suffix == ".jsonl" else render_csv
    append(str(path), lambda new_file: render(rows, new_file))
    return path
