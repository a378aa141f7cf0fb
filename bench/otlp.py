"""OTLP bytes per executor per export, as the gRPC and HTTP exporters send them.

Both exporters send the same ExportMetricsServiceRequest protobuf (gRPC adds a 5-byte
frame; either may compress with gzip). The per-executor figure is the slope between
a 1-executor and an N-executor export, so the resource and scope overhead drops out.
"""

from __future__ import annotations

import gzip

from bench.report import Figure
from bench.subjects import Plugin, named_executors


def _encoded(n: int) -> tuple[int, int]:
    try:
        from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
    except ImportError:  # older releases: the private path the exporters use
        from opentelemetry.exporter.otlp.proto.common._internal.metrics_encoder import (
            encode_metrics,
        )
    executors = named_executors(n)
    plugin = Plugin(executors)
    try:
        plugin.collect()
        data = plugin.collect()
    finally:
        plugin.close()
    assert data is not None
    body = encode_metrics(data).SerializeToString()
    return len(body), len(gzip.compress(body))


def bytes_per_executor(n: int = 100) -> list[Figure]:
    one, one_gz = _encoded(1)
    many, many_gz = _encoded(n)
    raw = (many - one) / (n - 1)
    gz = (many_gz - one_gz) / (n - 1)
    return [
        Figure("otlp.bytes", "OTLP bytes per executor per export (gRPC, HTTP protobuf)",
               raw, "B", detail={"one_executor_export": one, f"n{n}_export": many}),
        Figure("otlp.bytes_gzip", "OTLP bytes per executor per export (gzip)",
               gz, "B", detail={"one_executor_export": one_gz, f"n{n}_export": many_gz}),
    ]
