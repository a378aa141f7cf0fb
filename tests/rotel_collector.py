"""rotel, a real OpenTelemetry collector this project did not write (Rust; the ``rotel``
wheel on PyPI ships its binary), run in the foreground on 127.0.0.1 between the apps
and a test receiver: OTLP gRPC and HTTP in, OTLP gRPC out.

Used by the slow flujo test (tests/flujo/test_flujo_rotel.py) and the fleet bench
(``python -m bench --fleet``). The binary embeds CPython (for rotel's Python
processors): it links the interpreter's shared library, found through the
interpreter's ``LIBDIR``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sysconfig
import tempfile
import time
from pathlib import Path


def rotel_binary() -> Path | None:
    """The rotel collector shipped by the ``rotel`` wheel; None when not installed."""
    try:
        import rotel
    except ImportError:
        return None
    binary = Path(rotel.__file__).parent / "rotel-agent"
    return binary if binary.is_file() else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Rotel:
    """One rotel process: its receivers' endpoints, its pid (for its CPU and memory)
    and its output (the reason when it fails)."""

    def __init__(self, exporter_endpoint: str, batch_timeout: str = "100ms") -> None:
        binary = rotel_binary()
        if binary is None:
            raise RuntimeError("rotel is not installed (pip install rotel: the test extra)")
        self.grpc_port, self.http_port = _free_port(), _free_port()
        self.grpc_endpoint = f"http://127.0.0.1:{self.grpc_port}"
        self.http_endpoint = f"http://127.0.0.1:{self.http_port}"
        self._dir = tempfile.TemporaryDirectory(prefix="rotel-")
        self._log = Path(self._dir.name) / "out.log"
        self.command = [
            str(binary), "start",
            "--otlp-grpc-endpoint", f"127.0.0.1:{self.grpc_port}",
            "--otlp-http-endpoint", f"127.0.0.1:{self.http_port}",
            "--otlp-receiver-traces-disabled", "--otlp-receiver-logs-disabled",
            "--exporter", "otlp", "--otlp-exporter-endpoint", exporter_endpoint,
            "--otlp-exporter-protocol", "grpc", "--otlp-exporter-compression", "none",
            "--batch-timeout", batch_timeout,
            "--pid-file", str(Path(self._dir.name) / "rotel.pid"),
            "--log-file", str(Path(self._dir.name) / "rotel.log"),
        ]
        libdir = sysconfig.get_config_var("LIBDIR") or ""
        self.env = {**os.environ, "LD_LIBRARY_PATH": os.pathsep.join(
            filter(None, [libdir, os.environ.get("LD_LIBRARY_PATH")]))}
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Rotel:
        with self._log.open("wb") as log:
            self.process = subprocess.Popen(self.command, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30  # hang guard: rotel listens in well under 1 s
        while not (_accepts(self.grpc_port) and _accepts(self.http_port)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"rotel did not start: {self.output()[-2000:]}")
            time.sleep(0.05)
        return self

    def output(self) -> str:
        return self._log.read_text(errors="replace") if self._log.exists() else ""

    def usage(self) -> dict[str, float]:
        """rotel's CPU seconds so far and its peak and current resident memory (bytes)."""
        assert self.process is not None
        pid = self.process.pid
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        status = dict(line.split(":", 1) for line in
                      Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)

        def kib(name: str) -> float:
            return float(status[name].split()[0]) * 1024

        return {"cpu_s": (int(fields[11]) + int(fields[12])) / ticks,
                "peak_rss_bytes": kib("VmHWM"), "rss_bytes": kib("VmRSS")}

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # rotel flushes its batches on SIGTERM
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self._dir.cleanup()
