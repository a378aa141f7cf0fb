"""End to end: the app exposes /metrics with opentelemetry-exporter-prometheus, a real
Prometheus scrapes it with the generated rules (python naming) and fires the alerts."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from opentelemetry.instrumentation.flujo._internal.catalog import METRICS, MIB, PREFIX
from opentelemetry.instrumentation.flujo._internal.thresholds.rules import default_rules
from opentelemetry.instrumentation.flujo.tools.generate import grafana, prometheus_rules
from opentelemetry.instrumentation.flujo.tools.generate.naming import Naming, metric_series
from test_prometheus_naming import EVERY_STAT

from conftest import eventually, readline, require

T = TypeVar("T")
HERE = Path(__file__).parent

# EVERY_STAT as exported: ratios from percent, By from MiB, s from ms. The
# executions counter and the circuit breaker are checked by attribute below.
EXPECTED = {
    "object_pool.utilization": 0.5, "object_pool.objects": 7, "object_pool.hit_ratio": 0.6,
    "object_pool.miss_ratio": 0.4, "memory.usage": 100 * MIB, "memory.pressure": 0.25,
    "memory.allocation_rate": 2 * MIB, "memory.cleanup_events": 3,
    "execution.avg_duration": 0.25, "execution.min_duration": 0.01,
    "execution.max_duration": 0.9, "execution.failure_ratio": 0.1, "cache.hit_ratio": 0.7,
    "cache.size": 40, "cache.max": 100, "cache.utilization": 0.4, "cache.evictions": 5,
    "cache.misses": 30, "concurrency.level": 2, "concurrency.max": 8,
    "concurrency.avg_wait_time": 0.02, "concurrency.contention_ratio": 0.1,
    "queue.size": 3, "error.ratio": 0.1, "error.recovery_ratio": 0.8,
    "error.cached_patterns": 4, "error.consecutive_failures": 1,
    "telemetry.batch_size": 32, "telemetry.flush_rate": 2.5, "telemetry.overhead": 0.0015,
    "telemetry.metrics_collected": 1000,
    "spend.cost": 1.5, "spend.tokens": 300, "usage_limit.utilization": 0.5,
}
BY_ATTRIBUTE = {
    "executions": ('flujo_execution_outcome="failure"', 10),
    "circuit_breaker.status": ('flujo_circuit_breaker_state="closed"', 1),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], T | None], timeout: float, what: str) -> T:
    return eventually(condition, what, timeout, poll_s=0.25)


class Prometheus:
    """A real Prometheus in the foreground on 127.0.0.1, scraping every second."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        (directory / "rules").mkdir()
        (directory / "targets").mkdir()
        config = directory / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "rule_files: [rules/*.yml]\n"
            "scrape_configs:\n"
            "  - job_name: flujo\n"
            "    file_sd_configs: [{files: [targets/*.json], refresh_interval: 1s}]\n",
            encoding="utf-8")
        self.url = f"http://127.0.0.1:{free_port()}"
        self.process = subprocess.Popen(
            ["prometheus", f"--config.file={config}",
             f"--storage.tsdb.path={directory / 'data'}",
             f"--web.listen-address={self.url.removeprefix('http://')}",
             "--web.enable-lifecycle", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=(directory / "prometheus.log").open("w"))
        wait_for(self._ready, 30, "Prometheus to be ready")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError((self.directory / "prometheus.log").read_text())
        try:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def api(self, path: str, **params: str) -> Any:
        query = "?" + urllib.parse.urlencode(params) if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=5) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def rule_evaluations(self) -> dict[str, str]:
        """{rule group: when its last evaluation started}."""
        return {group["name"]: group["lastEvaluation"] for group in self.api("rules")["groups"]}

    def load_rules(self, name: str, text: str) -> None:
        (self.directory / "rules" / name).write_text(text, encoding="utf-8")
        request = urllib.request.Request(self.url + "/-/reload", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def add_target(self, name: str, address: str) -> None:
        # Written whole, then renamed: discovery must not read a half-written file.
        partial = self.directory / f"{name}.json.partial"
        partial.write_text(json.dumps([{"targets": [address]}]), encoding="utf-8")
        partial.rename(self.directory / "targets" / f"{name}.json")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    require(shutil.which("prometheus") is not None, "prometheus (Debian package prometheus)")
    server = Prometheus(tmp_path_factory.mktemp("prometheus"))
    yield server
    server.stop()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[Path, Path, str]]:
    """(stats file, control file, host:port) of the running application."""
    stats, control = tmp_path / "stats.json", tmp_path / "control.json"
    stats.write_text(json.dumps(EVERY_STAT), encoding="utf-8")
    control.write_text(json.dumps({"failure_ratio": 0.0}), encoding="utf-8")
    process = subprocess.Popen([sys.executable, str(HERE / "prometheus_app.py"), str(stats),
                                str(control)], stdout=subprocess.PIPE, text=True)
    try:
        port = readline(process.stdout).strip()
        assert port.isdigit(), "the app did not start"
        yield stats, control, f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def firing(prometheus: Prometheus, alert: str, executor: str) -> list[dict[str, Any]]:
    return [a for a in prometheus.api("alerts")["alerts"]
            if a["labels"]["alertname"] == alert and a["state"] == "firing"
            and a["labels"]["flujo_executor_name"] == executor]


def value(prometheus: Prometheus, expr: str) -> float | None:
    result = prometheus.api("query", query=expr)["result"]
    return float(result[0]["value"][1]) if len(result) == 1 else None


@pytest.mark.slow  # Prometheus scrapes and evaluates rules until the alerts fire: ~12 s
def test_alerts_fire_in_prometheus_and_every_metric_has_its_documented_name(
        prometheus: Prometheus, app: tuple[Path, Path, str]) -> None:
    stats, control, address = app
    prometheus.load_rules("flujo.yml", prometheus_rules.render(
        default_rules(), Naming.PYTHON, "0s", "5s", ratio_window="5s"))
    prometheus.add_target("app", address)
    static = '{flujo_executor_name="static"}'
    usage = metric_series(next(m for m in METRICS if m.name == PREFIX + "memory.usage"),
                          Naming.PYTHON)
    wait_for(lambda: value(prometheus, usage + static), 30, "the first scrape")

    for metric in METRICS:
        short = metric.short_name
        matchers = 'flujo_executor_name="static"'
        expected = EXPECTED.get(short)
        if short in BY_ATTRIBUTE:
            extra, expected = BY_ATTRIBUTE[short]
            matchers += "," + extra
        got = value(prometheus, f"{metric_series(metric, Naming.PYTHON)}{{{matchers}}}")
        assert got == pytest.approx(expected), metric.name

    # Within every limit, once every rule group has been evaluated on these values (an
    # alert with for: 0s fires on the first evaluation that sees them): no memory or
    # circuit-breaker alert. The second evaluation seen started after this point.
    before = prometheus.rule_evaluations()
    assert before, "the rules are not loaded"
    seen: dict[str, set[str]] = {group: set() for group in before}

    def evaluated_twice() -> bool:
        for group, started in prometheus.rule_evaluations().items():
            if started != before.get(group):
                seen.setdefault(group, set()).add(started)
        return all(len(starts) >= 2 for starts in seen.values())

    wait_for(evaluated_twice, 30, "two evaluations of every rule group")
    assert firing(prometheus, "FlujoMemoryUsageCritical", "static") == []
    assert firing(prometheus, "FlujoCircuitBreakerStatusCritical", "reference") == []

    # Beyond the limits: 900 MiB in use; every execution of the reference executor fails.
    over = json.loads(json.dumps(EVERY_STAT))
    over["memory"]["usage_mb"] = 900
    stats.write_text(json.dumps(over), encoding="utf-8")
    control.write_text(json.dumps({"failure_ratio": 1.0}), encoding="utf-8")
    alert = wait_for(lambda: firing(prometheus, "FlujoMemoryUsageCritical", "static"), 20,
                     "FlujoMemoryUsageCritical")[0]
    assert alert["labels"]["severity"] == "critical"
    assert "Value 900MiB, critical limit: above 800MiB" in alert["annotations"]["description"]
    wait_for(lambda: firing(prometheus, "FlujoCircuitBreakerStatusCritical", "reference"), 20,
             "the reference executor's circuit breaker to open")
    wait_for(lambda: firing(prometheus, "FlujoExecutionFailureRatioWarning", "reference"), 20,
             "the failure-ratio alert from the executions counter")

    # Without our rules: the engine's severity per (name, metric) is one query away,
    # the dashboard's "Thresholds exceeded now" query finds it, and the fixed limit is
    # one series for every name (no executor label), drawable next to the value.
    status_series = "flujo_executor_threshold_status_memory_usage" + static
    wait_for(lambda: value(prometheus, status_series) == 2, 20, "the critical status")
    exceeded = grafana.status_panel(Naming.PYTHON, 0)["targets"][0]["expr"].replace(
        "$executor", "static")
    rows = {r["metric"]["flujo_threshold_metric"]: float(r["value"][1])
            for r in prometheus.api("query", query=exceeded)["result"]}
    assert rows["memory_usage"] == 2
    assert all(level in (1, 2) for level in rows.values())
    limit = prometheus.api("query", query='flujo_executor_threshold_memory_usage_bytes'
                                          '{flujo_threshold_level="critical"}')["result"]
    assert [(r["metric"].get("flujo_executor_name"), float(r["value"][1])) for r in limit] == [
        (None, 800 * MIB)]

@pytest.mark.parametrize("naming", list(Naming))
def test_every_dashboard_query_is_valid_promql(prometheus: Prometheus, naming: Naming) -> None:
    # Grafana's variables as Grafana would expand them; a query Prometheus cannot parse
    # is answered 400, which api() raises on.
    board = grafana.dashboard(default_rules(), naming)
    queries = [t["expr"] for panel in grafana.all_panels(board)
               for t in panel.get("targets", ())]
    assert any("label_replace(sum by" in q for q in queries)  # the runs by outcome
    assert any("histogram_quantile" in q for q in queries)
    for query in queries:
        expanded = query.replace("$__rate_interval", "1m").replace("$executor", ".*")
        prometheus.api("query", query=expanded)
