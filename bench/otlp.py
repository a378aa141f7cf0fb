"""OTLP bytes per executor per export, as the gRPC and HTTP exporters send them.

Both exporters send the same ExportMetricsServiceRequest protobuf (gRPC adds a 5-byte
frame; either may compress with gzip). The per-executor figure is the slope between
a 1-executor and an N-executor export, so the resource and scope overhead drops out.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import Any

from bench.report import Figure
from bench.subjects import Plugin, named_executors, shape


def encode(data: Any) -> bytes:
    """``data`` as the exporters send it: an ExportMetricsServiceRequest protobuf."""
    try:
        from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
    except ImportError:  # older releases: the private path the exporters use
        from opentelemetry.exporter.otlp.proto.common._internal.metrics_encoder import (
            encode_metrics,
        )
    return bytes(encode_metrics(data).SerializeToString())


def exported(make: Callable[[Any], Plugin], n: int,
             with_runs: bool = False) -> tuple[int, int, int]:
    """(points, protobuf bytes, gzip bytes) of the second collection of ``n`` names."""
    # held here: the registry's references are weak
    executors = named_executors(n, with_runs=with_runs)
    subject = make(executors)
    try:
        subject.collect()
        data = subject.collect()
    finally:
        subject.close()
    body = encode(data)
    return shape(data).points, len(body), len(gzip.compress(body))


def bytes_per_executor(n: int = 100) -> list[Figure]:
    (_, one, one_gz), (_, many, many_gz) = exported(Plugin, 1), exported(Plugin, n)
    raw = (many - one) / (n - 1)
    gz = (many_gz - one_gz) / (n - 1)
    return [
        Figure("otlp.bytes", "OTLP bytes per executor per export (gRPC, HTTP protobuf)",
               raw, "B", detail={"one_executor_export": one, f"n{n}_export": many}),
        Figure("otlp.bytes_gzip", "OTLP bytes per executor per export (gzip)",
               gz, "B", detail={"one_executor_export": one_gz, f"n{n}_export": many_gz}),
    ]
