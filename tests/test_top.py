"""``flujo-otel top``: its OTLP/HTTP receiver and the dashboard it draws."""

from __future__ import annotations

import gzip
import os
import re
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, PeriodicExportingMetricReader
from rich.console import Console

from opentelemetry.instrumentation.flujo import instrument_executor
from opentelemetry.instrumentation.flujo._internal import catalog
from opentelemetry.instrumentation.flujo._internal.runtime import Runtime
from opentelemetry.instrumentation.flujo._internal.samples import from_metrics_data
from opentelemetry.instrumentation.flujo.tools.top import Dashboard
from opentelemetry.instrumentation.flujo.tools.top.board import Board
from opentelemetry.instrumentation.flujo.tools.top.receiver import Receiver
from opentelemetry.instrumentation.flujo.tools.top.render import renderable

from conftest import (
    StaticExecutor,
    ctrl_c,
    eventually,
    fresh_runtime,
    full_stats,
    readline,
    stand_in_threshold_view,
)

MEMORY = catalog.PREFIX + "memory.usage"
CODE = "from opentelemetry.instrumentation.flujo.tools.cli import main; raise SystemExit(main())"


def table_rows(text: str) -> dict[str, str]:
    """The full tables' rows by metric: cells between │ (the tables have no outer edge)."""
    return {ln.split("│")[0].strip(): ln.rstrip() for ln in text.splitlines()
            if ln.count("│") == 4}


def endpoints(line: str) -> dict[str, str]:
    """{protocol: endpoint} from top's first line: "receiving OTLP on URL (HTTP), ..."."""
    return {protocol: url for url, protocol in re.findall(r"(http://\S+) \((\w+)\)", line)}


def export_to(endpoint: str, runtime: Runtime, stats: dict[str, dict[str, object]]) -> None:
    """A real OTLP/HTTP exporter sending one collection of an instrumented executor."""
    provider = MeterProvider(metric_readers=[PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=endpoint), export_interval_millis=600_000)])
    runtime.bind(provider)
    executor = StaticExecutor(stats)  # held: the registry's reference is weak
    instrument_executor(executor, "checkout")
    assert provider.force_flush(10_000)
    provider.shutdown()


def test_top_once_shows_what_a_real_exporter_sent(runtime: Runtime) -> None:
    top = subprocess.Popen([sys.executable, "-c", CODE, "top", "--once", "--listen",
                            "127.0.0.1:0", "--grpc-listen", "off", "--wait", "30"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = readline(top.stderr)
        endpoint = endpoints(line)["HTTP"]
        assert endpoint.startswith("http://127.0.0.1:"), line
        export_to(endpoint, runtime, full_stats(memory__usage_mb=600.0))
        out, err = top.communicate(timeout=30)
    finally:
        top.kill()
    assert top.returncode == 0, err
    rows = table_rows(out)
    # The exporting process runs the threshold engine, so the state is its, not a default's.
    assert "600 MiB" in rows["memory.usage"]
    assert rows["memory.usage"].endswith("│ warning")
    # Limits say the side they are breached on.
    assert "> 500 MiB" in rows["memory.usage"] and "< 30%" in rows["cache.hit_ratio"]
    # Its limits too: exported once for every name, without an executor name.
    assert "500 MiB" in rows["memory.usage"] and "800 MiB" in rows["memory.usage"]
    assert "120 ms" in rows["execution.avg_duration"]
    assert "60%" in rows["cache.hit_ratio"]
    assert "closed" in rows["circuit_breaker.status"]
    assert "checkout" in out


def test_top_once_without_data_says_so() -> None:
    result = subprocess.run([sys.executable, "-c", CODE, "top", "--once", "--listen",
                             "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0", "--wait", "0.2"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "no data on http://127.0.0.1:" in result.stderr


@pytest.mark.parametrize(("option", "protocol", "hint"), [
    ("--listen", "HTTP", ""),
    # A collector already on 4317: top says so, and how to run on HTTP alone.
    ("--grpc-listen", "gRPC", "; --grpc-listen off receives OTLP/HTTP only"),
])
def test_top_port_in_use_is_a_one_line_error(option: str, protocol: str, hint: str) -> None:
    listen = {"--listen": "127.0.0.1:0", "--grpc-listen": "127.0.0.1:0"}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        listen[option] = f"127.0.0.1:{port}"
        result = subprocess.run([sys.executable, "-c", CODE, "top", "--once",
                                 *(word for pair in listen.items() for word in pair)],
                                capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"flujo-otel: error: cannot listen on 127.0.0.1:{port} "
                           f"(OTLP/{protocol}): ")
    assert line.endswith(f"in use{hint}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(Board(), "127.0.0.1", 0, max_body=64 * 1024, max_inflated=256 * 1024,
                  timeout=0.5) as r:
        yield r


def post(url: str, body: bytes, **headers: str) -> int:
    request = urllib.request.Request(url, body, {
        "Content-Type": "application/x-protobuf", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_receiver_rejects_bad_requests_and_keeps_serving(receiver: Receiver,
                                                         runtime: Runtime) -> None:
    url = receiver.endpoint
    assert post(url, b"\xff" * (64 * 1024 + 1)) == 413
    assert post(url, gzip.compress(b"\0" * (4 * 1024 * 1024)), **{"Content-Encoding":
                                                                "gzip"}) == 413
    assert post(url, b"this is not protobuf") == 400
    assert post(url, b"\x1f\x8b garbage", **{"Content-Encoding": "gzip"}) == 400
    assert post(url, b"{}", **{"Content-Type": "application/json"}) == 415
    assert post(url.replace("/v1/metrics", "/v1/traces"), b"") == 404
    # A client that sends half a request and stalls is dropped after the timeout.
    with socket.create_connection(receiver.address) as slow:
        slow.sendall(b"POST /v1/metrics HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc")
        slow.settimeout(5)
        assert slow.recv(100) == b""  # closed by the server
    assert receiver.board.rejected == 7
    export_to(url, runtime, full_stats())
    samples = receiver.board.copy().latest
    assert samples[("checkout", MEMORY, ())].value == 256 * catalog.MIB


def _console() -> Console:
    return Console(record=True, force_terminal=True, color_system="standard", width=140)


def _styles(console: Console, board: Board) -> dict[str, str]:
    """{status cell text: colour} as rich renders them."""
    out = {}
    for line in console.render_lines(renderable(board), pad=False):
        for segment in line:
            if segment.style and segment.style.color and \
                    segment.text.strip().rstrip("*") in ("ok", "warning", "critical"):
                out.setdefault(segment.text.strip(), segment.style.color.name)
    return out


def test_dashboard_takes_the_threshold_views_state_and_colours_it(runtime: Runtime) -> None:
    """The state and limits the threshold engine exported win over the default limits."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    runtime.bind(provider)
    executor = StaticExecutor(full_stats(memory__usage_mb=600.0))
    instrument_executor(executor, "api")
    meter = provider.get_meter("view")
    stand_in_threshold_view(meter, "api", MEMORY, "critical", 550 * catalog.MIB, "critical")
    console = _console()
    dashboard = Dashboard(reader, console=console)
    dashboard.print()
    provider.shutdown()
    text = console.export_text()
    memory = next(ln for ln in text.splitlines() if "memory.usage" in ln)
    assert "600 MiB" in memory and "550 MiB" in memory and "critical" in memory
    assert "warning*" not in memory
    assert _styles(console, dashboard.board)["critical"] == "red"


def test_dashboard_colours_default_limit_states(runtime: Runtime) -> None:
    # Data without the threshold engine's points: the dashboard falls back to default limits.
    runtime = fresh_runtime({"OTEL_PYTHON_FLUJO_EXCLUDED_METRICS": "flujo.executor.threshold.*"})
    board = Board()
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    runtime.bind(provider)
    executor = StaticExecutor(full_stats(memory__usage_mb=600.0, cache__hit_rate=5.0,
                                         error_handling__circuit_breaker_state="OPEN"))
    instrument_executor(executor, "api")
    board.update(from_metrics_data(reader.get_metrics_data()))
    provider.shutdown()
    console = _console()
    console.print(renderable(board))
    text = console.export_text()
    lines = table_rows(text)
    assert "600 MiB" in lines["memory.usage"] and "warning*" in lines["memory.usage"]
    assert "500 MiB" in lines["memory.usage"] and "800 MiB" in lines["memory.usage"]
    assert "5%" in lines["cache.hit_ratio"] and "critical*" in lines["cache.hit_ratio"]
    assert "open" in lines["circuit_breaker.status"]
    assert "critical*" in lines["circuit_breaker.status"]
    assert "ok*" in lines["execution.avg_duration"]
    assert "default limits" in text
    assert _styles(console, board) == {"warning*": "yellow", "critical*": "red", "ok*": "green"}


@pytest.fixture
def worker_dashboard(runtime: Runtime) -> tuple[StaticExecutor, Console, Dashboard]:
    """An in-process Dashboard on a recording console, with one executor "worker"
    instrumented (returned too: the registry holds it by weak reference only)."""
    executor = StaticExecutor(full_stats())
    instrument_executor(executor, "worker")
    console = _console()
    return executor, console, Dashboard(console=console)


def test_in_process_dashboard_sees_every_instrumented_executor(
        worker_dashboard: tuple[StaticExecutor, Console, Dashboard]) -> None:
    """No arguments: its own MeterProvider, bound to the runtime, in a refresh thread."""
    executor, console, dashboard = worker_dashboard
    dashboard.start(refresh_s=0.05)
    eventually(lambda: "256 MiB" in console.export_text(clear=False), "a frame drawn")
    executor.stats["memory"]["usage_mb"] = 300.0
    dashboard.stop()  # draws a last frame, with the latest values
    text = console.export_text()
    assert "worker" in text and "256 MiB" in text and "300 MiB" in text


def test_a_dashboard_stopped_at_once_still_ends_with_a_frame(
        worker_dashboard: tuple[StaticExecutor, Console, Dashboard]) -> None:
    _, console, dashboard = worker_dashboard
    dashboard.start(refresh_s=600)
    stopping = threading.Thread(target=dashboard.stop, daemon=True)
    stopping.start()
    stopping.join(30)  # a hang guard: stop() before the thread ran must still end it
    assert not stopping.is_alive()
    assert "256 MiB" in console.export_text()


def test_a_small_terminal_gets_every_row_in_the_compact_layout(runtime: Runtime) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    runtime.bind(provider)
    executor = StaticExecutor(full_stats(memory__usage_mb=600.0, cache__hit_rate=5.0))
    instrument_executor(executor, "api")
    board = Board()
    board.update(from_metrics_data(reader.get_metrics_data()))
    provider.shutdown()
    full = Console(record=True, width=80, height=60)
    full.print(renderable(board, console=full))
    text = full.export_text()
    rows = list(table_rows(text))
    assert re.search(r"Metric +┃", text) and len(rows) > 30
    small = Console(record=True, width=80, height=24)
    small.print(renderable(board, console=small))
    lines = small.export_text().splitlines()
    assert len(lines) < 24 and max(map(len, lines)) <= 80
    # Every row is there: a family's name once, then its other members.
    for label in rows:
        rest = label.partition(".")[2]
        shown = label if "{" in label else rest
        assert any(shown.split("{")[0] in ln for ln in lines), (label, lines)
    assert any("memory.usage" in ln and "600 MiB !" in ln for ln in lines)
    assert any("cache.hit_ratio" in ln and "5% !!" in ln for ln in lines)
    assert "! warning  !! critical" in lines[-1]


def _top(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", CODE, "top", "--listen", "127.0.0.1:0",
                             "--grpc-listen", "127.0.0.1:0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_top_receives_otlp_grpc_as_well_as_http(runtime: Runtime) -> None:
    """The SDK's default protocol, gRPC, from a real exporter: no reconfiguring."""
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
        OTLPMetricExporter as GrpcExporter,
    )

    top = _top("--once", "--wait", "30")
    try:
        line = readline(top.stderr)
        assert "Ctrl-C to quit" in line
        grpc_endpoint = endpoints(line)["gRPC"]
        provider = MeterProvider(metric_readers=[PeriodicExportingMetricReader(
            GrpcExporter(endpoint=grpc_endpoint, insecure=True),
            export_interval_millis=600_000)])
        runtime.bind(provider)
        executor = StaticExecutor(full_stats(memory__usage_mb=600.0))
        instrument_executor(executor, "checkout")
        assert provider.force_flush(10_000)
        provider.shutdown()
        out, err = top.communicate(timeout=30)
    finally:
        top.kill()
    assert top.returncode == 0, err
    assert "600 MiB" in table_rows(out)["memory.usage"]


def test_what_top_cannot_decode_is_counted_on_either_port() -> None:
    import grpc

    from opentelemetry.instrumentation.flujo.tools.top.grpc_receiver import SERVICE, GrpcReceiver

    board = Board()
    with Receiver(board, "127.0.0.1", 0, timeout=2) as http, \
            GrpcReceiver(board, "127.0.0.1", 0) as grpc_receiver:
        with grpc.insecure_channel(grpc_receiver.endpoint.removeprefix("http://")) as channel:
            export = channel.unary_unary(f"/{SERVICE}/Export")
            with pytest.raises(grpc.RpcError) as garbage:
                export(b"this is not protobuf", timeout=10)
            assert garbage.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert board.rejected == 1
        # gRPC sent to the OTLP/HTTP port (the 4317 exporter aimed at 4318).
        host, port = http.address
        with grpc.insecure_channel(f"{host}:{port}") as channel, \
                pytest.raises(grpc.RpcError):
            channel.unary_unary(f"/{SERVICE}/Export")(b"", timeout=10)
        assert board.rejected >= 2
        assert board.updates == 0


def test_ctrl_c_quits_top_cleanly_with_its_closing_counts() -> None:
    top = subprocess.Popen(
        [sys.executable, "-c", CODE, "top", "--listen", "127.0.0.1:0", "--grpc-listen",
         "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, env={**os.environ, "PYTHONFAULTHANDLER": "1"})
    try:
        assert "receiving OTLP" in readline(top.stderr)  # up, and listening
        _, err = ctrl_c(top)
    finally:
        top.kill()
    assert top.returncode == 0, err
    assert "Traceback" not in err
    assert "0 OTLP exports received, 0 rejected" in err

