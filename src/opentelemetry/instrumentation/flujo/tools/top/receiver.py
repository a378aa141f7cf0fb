"""A minimal OTLP/HTTP metrics receiver (protobuf, optionally gzip) feeding a ``Board``.

Defensive because it listens on a socket: bodies over ``max_body`` bytes and gzip
bodies that inflate past ``max_inflated`` get 413, anything that is not an OTLP metrics
request gets 400, a client that stalls is dropped after ``timeout`` seconds, and no
request can stop the server.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceResponse,
)

from opentelemetry.instrumentation.flujo.tools.top.board import Board
from opentelemetry.instrumentation.flujo.tools.top.otlp import parse

PATH = "/v1/metrics"
MAX_BODY = 4 * 1024 * 1024
MAX_INFLATED = 32 * 1024 * 1024
_RESPONSE = ExportMetricsServiceResponse().SerializeToString()


class Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def inflate(body: bytes, limit: int) -> bytes:
    """gunzip ``body``, refusing to produce more than ``limit`` bytes (gzip bombs)."""
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as error:
        raise Rejected(400, f"bad gzip body: {error}") from error
    if len(out) > limit or inflater.unconsumed_tail:
        raise Rejected(413, f"gzip body inflates past {limit} bytes")
    if not inflater.eof:
        raise Rejected(400, "truncated gzip body")
    return out


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        try:
            body = self._body()
            self.server.board.update(parse(body))
        except Rejected as rejected:
            self.server.board.reject()
            self._reply(rejected.status, str(rejected).encode(), "text/plain")
            return
        except ValueError as error:
            self.server.board.reject()
            self._reply(400, str(error).encode(), "text/plain")
            return
        except OSError:  # timed out or hung up mid-body: nobody to answer
            self.server.board.reject()
            self.close_connection = True
            return
        self._reply(200, _RESPONSE, "application/x-protobuf")

    def _body(self) -> bytes:
        if self.path.split("?", 1)[0] != PATH:
            raise Rejected(404, f"only {PATH} is served")
        if "json" in self.headers.get("Content-Type", ""):
            raise Rejected(415, "only application/x-protobuf is accepted")
        try:
            length = int(self.headers["Content-Length"])
        except (TypeError, ValueError) as error:
            raise Rejected(411, "a Content-Length is required") from error
        limit = self.server.max_body
        if length < 0 or length > limit:
            self._discard(length)
            raise Rejected(413, f"body of {length} bytes is over the {limit}-byte limit")
        body = self.rfile.read(length)
        if len(body) < length:
            raise OSError("client hung up mid-body")
        encoding = self.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding == "gzip":
            return inflate(body, self.server.max_inflated)
        if encoding != "identity":
            raise Rejected(415, f"Content-Encoding {encoding!r} is not supported")
        return body

    def _discard(self, length: int) -> None:
        """Read a moderately oversized body so the client can read our 413; hang up on
        anything bigger."""
        if 0 <= length <= 4 * self.server.max_body:
            while length > 0:
                chunk = self.rfile.read(min(length, 65536))
                if not chunk:
                    break
                length -= len(chunk)
        else:
            self.close_connection = True

    def _reply(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """Requests refused before ``do_POST`` are counted too: gRPC's HTTP/2 preface
        sent here (it belongs on the gRPC port), a GET."""
        self.server.board.reject()
        super().send_error(code, message, explain)

    def log_message(self, *args: Any) -> None:
        pass  # the dashboard owns the terminal


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    board: Board
    max_body: int
    max_inflated: int


class Receiver:
    """Owns the OTLP/HTTP server thread filling ``board``; ``flujo-otel top`` starts and
    stops it (next to a ``GrpcReceiver`` on the same board). Raises ``OSError`` when it
    cannot listen."""

    def __init__(self, board: Board, host: str = "127.0.0.1", port: int = 4318, *,
                 max_body: int = MAX_BODY, max_inflated: int = MAX_INFLATED,
                 timeout: float = 10.0) -> None:
        handler = type("Handler", (_Handler,), {"timeout": timeout})
        server_class: type[_Server] = _Server
        if ":" in host:
            server_class = type("Server6", (_Server,), {"address_family": socket.AF_INET6})
        self.server = server_class((host, port), handler)  # OSError: e.g. port in use
        self.server.board = board
        self.server.max_body = max_body
        self.server.max_inflated = max_inflated
        self.board = board
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        name="flujo-otel-receiver", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    @property
    def endpoint(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}{PATH}"

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
