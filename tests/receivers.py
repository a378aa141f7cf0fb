"""Real OTLP receivers for tests: gRPC and HTTP on 127.0.0.1, decoded with opentelemetry-proto.

The gRPC receiver takes traces too (``spans()``), so a test can follow a metric point's
exemplars to the spans the same process exported."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


@dataclass(frozen=True)
class Exemplar:
    """A point's exemplar: the span it was recorded in (hex ids) and its value."""

    trace_id: str
    span_id: str
    value: float


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    scope: str
    start_unix_nano: int
    end_unix_nano: int
    attributes: dict[str, Any]

    @property
    def duration_ns(self) -> int:
        return self.end_unix_nano - self.start_unix_nano


@dataclass(frozen=True)
class Point:
    resource: dict[str, Any]
    scope: str
    metric: str
    unit: str
    kind: str
    attributes: dict[str, Any]
    value: Any
    time_unix_nano: int
    is_monotonic: bool | None = None
    temporality: int | None = None
    exemplars: tuple[Exemplar, ...] = ()


def _any(value: AnyValue) -> Any:
    field = value.WhichOneof("value")
    return getattr(value, field) if field else None


def _attrs(pairs: Any) -> dict[str, Any]:
    return {kv.key: _any(kv.value) for kv in pairs}


def _exemplars(point: Any) -> tuple[Exemplar, ...]:
    return tuple(
        Exemplar(e.trace_id.hex(), e.span_id.hex(),
                 e.as_double if e.WhichOneof("value") == "as_double" else e.as_int)
        for e in point.exemplars)


def flatten(request: metrics_service_pb2.ExportMetricsServiceRequest) -> list[Point]:
    out = []
    for rm in request.resource_metrics:
        resource = _attrs(rm.resource.attributes)
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                kind = metric.WhichOneof("data")
                data = getattr(metric, kind)
                for p in data.data_points:
                    if kind in ("gauge", "sum"):
                        value = p.as_double if p.WhichOneof("value") == "as_double" else p.as_int
                    else:
                        value = {"count": p.count, "sum": p.sum,
                                 "bounds": list(p.explicit_bounds),
                                 "buckets": list(p.bucket_counts)}
                    out.append(Point(
                        resource, sm.scope.name, metric.name, metric.unit, kind,
                        _attrs(p.attributes), value, p.time_unix_nano,
                        getattr(data, "is_monotonic", None),
                        getattr(data, "aggregation_temporality", None), _exemplars(p)))
    return out


def flatten_spans(request: trace_service_pb2.ExportTraceServiceRequest) -> list[Span]:
    return [Span(s.trace_id.hex(), s.span_id.hex(), s.parent_span_id.hex(), s.name,
                 ss.scope.name, s.start_time_unix_nano, s.end_time_unix_nano,
                 _attrs(s.attributes))
            for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]


@dataclass(frozen=True)
class Failure:
    """How a receiver answers instead of success (the fault suite's collectors).

    ``status``: a gRPC status name ("UNAVAILABLE") or an HTTP status code (503, 400);
    ``rejected`` > 0: a partial success rejecting that many points (the request is
    kept). ``times``: only the first ``times`` requests fail; None: every one.
    """

    status: str | int | None = None
    rejected: int = 0
    times: int | None = None
    message: str = "injected by the test receiver"

    def response(self) -> metrics_service_pb2.ExportMetricsServiceResponse:
        response = metrics_service_pb2.ExportMetricsServiceResponse()
        if self.rejected:
            response.partial_success.rejected_data_points = self.rejected
            response.partial_success.error_message = self.message
        return response


class _Store:
    def __init__(self, fail: Failure | None = None, delay_s: float = 0.0) -> None:
        self.requests: list[metrics_service_pb2.ExportMetricsServiceRequest] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.fail = fail
        # how long each request waits before its answer (a slow collector: an export
        # stays in flight that long)
        self.delay_s = delay_s
        # every request received, answered with success or not, as the collection time
        # of its points: a retry resends its export's request, so equal times are
        # attempts of one export
        self.attempts: list[int] = []
        self.trace_requests: list[trace_service_pb2.ExportTraceServiceRequest] = []

    def failing(self, request: metrics_service_pb2.ExportMetricsServiceRequest
                ) -> Failure | None:
        """The failure to answer ``request`` with (None: success); counts the attempt.

        Returns after the receiver's delay."""
        collected = max((p.time_unix_nano for p in flatten(request)), default=0)
        with self.lock:
            self.attempts.append(collected)
            fail = self.fail
            if fail is not None and fail.times is not None and len(self.attempts) > fail.times:
                fail = None
        time.sleep(self.delay_s)
        return fail

    def exports(self) -> Counter[int]:
        """{an export (its collection time): how many requests it took}, success or not."""
        with self.lock:
            return Counter(self.attempts)

    def add(self, request: metrics_service_pb2.ExportMetricsServiceRequest) -> None:
        with self.arrived:
            self.requests.append(request)
            self.arrived.notify_all()

    def points(self) -> list[Point]:
        with self.lock:
            requests = list(self.requests)
        return [p for r in requests for p in flatten(r)]

    def add_spans(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
        with self.arrived:
            self.trace_requests.append(request)
            self.arrived.notify_all()

    def spans(self) -> list[Span]:
        with self.lock:
            requests = list(self.trace_requests)
        return [s for r in requests for s in flatten_spans(r)]

    def wait_for(
        self, predicate: Callable[[list[Point]], bool], timeout: float = 20.0
    ) -> list[Point]:
        deadline = time.monotonic() + timeout
        while True:
            points = self.points()
            if predicate(points):
                return points
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"receiver: condition not met in {timeout}s; got {len(points)} points, "
                    f"metrics {sorted({p.metric for p in points})}")
            with self.arrived:
                self.arrived.wait(min(left, 0.2))


class GrpcReceiver(_Store):
    def __init__(self, port: int = 0, fail: Failure | None = None, delay_s: float = 0.0) -> None:
        super().__init__(fail, delay_s)
        store = self

        class Servicer(metrics_service_pb2_grpc.MetricsServiceServicer):
            def Export(self, request: Any, context: Any) -> Any:
                failure = store.failing(request)
                if failure is not None and failure.status is not None:
                    context.abort(grpc.StatusCode[str(failure.status)], failure.message)
                store.add(request)
                return (failure or Failure()).response()

        class TraceServicer(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request: Any, context: Any) -> Any:
                store.add_spans(request)
                return trace_service_pb2.ExportTraceServiceResponse()

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Servicer(), self.server)
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceServicer(), self.server)
        self.port = self.server.add_insecure_port(f"127.0.0.1:{port}")
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> GrpcReceiver:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop(0)


class HttpReceiver(_Store):
    def __init__(self, port: int = 0, fail: Failure | None = None, delay_s: float = 0.0) -> None:
        super().__init__(fail, delay_s)
        store = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = metrics_service_pb2.ExportMetricsServiceRequest()
                request.ParseFromString(body)
                failure = store.failing(request)
                if failure is not None and failure.status is not None:
                    message = failure.message.encode()
                    self.send_response(int(failure.status))
                    self.send_header("Content-Length", str(len(message)))
                    self.end_headers()
                    self.wfile.write(message)
                    return
                store.add(request)
                payload = (failure or Failure()).response().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HttpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def latest(points: list[Point], metric: str, **attributes: Any) -> Point:
    """The newest point of ``metric`` whose attributes include ``attributes``."""
    matching = [p for p in points if p.metric == metric
                and all(p.attributes.get(k) == v for k, v in attributes.items())]
    if not matching:
        raise AssertionError(f"no point for {metric} {attributes}")
    return max(matching, key=lambda p: p.time_unix_nano)


class Webhook:
    """A real HTTP server on 127.0.0.1 receiving alert webhooks (JSON bodies, in arrival
    order); it fails the first ``failures`` requests. ``query`` ends the URL."""

    def __init__(self, failures: int = 0, query: str = "") -> None:
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.failures = failures
        self.arrived = threading.Condition()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with hook.arrived:
                    hook.headers.append(dict(self.headers))
                    if hook.failures > 0:
                        hook.failures -= 1
                        self.send_response(503)
                    else:
                        hook.bodies.append(json.loads(body))
                        self.send_response(204)
                    hook.arrived.notify_all()
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook" + (
            f"?{query}" if query else "")
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool],
                 timeout: float = 20.0) -> list[dict[str, Any]]:
        """The bodies received, once ``predicate`` holds for them."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while not predicate(list(self.bodies)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"webhook: condition not met in {timeout}s; got "
                                         f"{[(b['metric'], b['new_state']) for b in self.bodies]}")
                self.arrived.wait(min(left, 0.2))
            return list(self.bodies)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
