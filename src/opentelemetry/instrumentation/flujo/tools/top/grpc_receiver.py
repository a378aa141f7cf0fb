"""A minimal OTLP/gRPC metrics receiver feeding a ``Board``: what ``flujo-otel top``
listens with on 4317, next to its OTLP/HTTP receiver on 4318, so an app exporting with
the SDK's default protocol (gRPC) needs no reconfiguring to be watched.

Requests are taken as raw bytes and decoded by the same ``parse`` as the HTTP
receiver's: one that does not decode is counted on the board as rejected and answered
INVALID_ARGUMENT; messages over ``max_body`` bytes are refused by gRPC itself
(RESOURCE_EXHAUSTED, before any decoding). grpcio comes with the OTLP exporter this
package depends on.
"""

from __future__ import annotations

import errno
import socket
from concurrent import futures
from typing import Any

import grpc
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceResponse,
)

from opentelemetry.instrumentation.flujo.tools.top.board import Board
from opentelemetry.instrumentation.flujo.tools.top.otlp import parse
from opentelemetry.instrumentation.flujo.tools.top.receiver import MAX_BODY

SERVICE = "opentelemetry.proto.collector.metrics.v1.MetricsService"
_RESPONSE: bytes = ExportMetricsServiceResponse().SerializeToString()


def _probe(host: str, port: int) -> None:
    """Raise the ``OSError`` a bind of ``host:port`` gets (in use, not an address here)
    before gRPC tries: its C core would log the failure to the terminal, then say less."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As gRPC binds: a port whose old connections linger in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def _export(board: Board) -> Any:
    def export(body: bytes, context: Any) -> bytes:
        try:
            samples = parse(body)
        except ValueError as error:
            board.reject()
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))  # raises
            raise
        board.update(samples)
        return _RESPONSE

    return export


class GrpcReceiver:
    """Owns a gRPC server serving MetricsService/Export into ``board``; ``flujo-otel top``
    starts and stops it. Raises ``OSError`` when it cannot listen (e.g. the port is in
    use by a collector)."""

    def __init__(self, board: Board, host: str = "127.0.0.1", port: int = 4317, *,
                 max_body: int = MAX_BODY) -> None:
        self.board = board
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="flujo-otel-grpc"),
            options=[("grpc.max_receive_message_length", max_body),
                     ("grpc.so_reuseport", 0)])
        handler = grpc.unary_unary_rpc_method_handler(_export(board))
        self.server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, {"Export": handler}),))
        _probe(host, port)
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            self.port = self.server.add_insecure_port(address)
        except RuntimeError:  # grpcio >= 1.60 raises where it returned 0
            self.port = 0
        if not self.port:
            raise OSError(errno.EADDRNOTAVAIL, "gRPC could not bind it")
        self.host = host

    @property
    def endpoint(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> GrpcReceiver:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop(grace=None)

    def __enter__(self) -> GrpcReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
