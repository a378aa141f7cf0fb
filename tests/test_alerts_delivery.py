"""Alert events reach logging, the OTel Logs API, callables, a real webhook and a real SMTP
server; a failing or hanging handler delays neither the collection nor the others."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs import export as logs_export

from opentelemetry.instrumentation.flujo import AlertEvent, add_alert_handler, remove_alert_handler
from opentelemetry.instrumentation.flujo._internal.alerts import LogsApiHandler, SmtpHandler
from opentelemetry.instrumentation.flujo._internal.catalog import ALERTS_DROPPED
from opentelemetry.instrumentation.flujo._internal.config import load_config

from conftest import ROOT, OneExecutorRig, collect, eventually, require
from receivers import Webhook

MEMORY = "flujo.executor.memory.usage"
SECRET = "s3cr3t-T0ken"


class Rig(OneExecutorRig):
    def collect(self, usage_mb: float) -> None:
        """One collection with memory.usage at ``usage_mb``."""
        self.executor.stats = {"memory": {"usage_mb": usage_mb}}
        collect(self.reader)

    def flush(self, timeout_s: float = 5.0) -> bool:
        return self.runtime.alerts.flush(timeout_s)

    def dropped(self, handler: str, reason: str) -> int:
        return self.runtime.alerts.dropped[(handler, reason)]

    def close(self) -> None:
        self.runtime.close()
        self.provider.shutdown()


@pytest.fixture
def rig() -> Iterator[Rig]:
    r = Rig()
    yield r
    r.close()


def test_logging_gets_a_structured_record(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="opentelemetry.instrumentation.flujo.alerts"):
        rig.collect(900)
        rig.collect(100)
        assert rig.flush()  # logged on the dispatcher's logging thread
    records = [r for r in caplog.records if r.name == "opentelemetry.instrumentation.flujo.alerts"]
    # A recovery is not an error: log-based paging must not fire on it.
    assert [r.levelno for r in records] == [logging.ERROR, logging.INFO]
    assert "critical -> ok (value 100 MiB, within limit > 500 MiB)" in records[1].getMessage()
    assert "ok -> critical" in records[0].getMessage()
    assert "900 MiB" in records[0].getMessage()
    alert = records[0].flujo_alert  # type: ignore[attr-defined]
    assert (alert["executor"], alert["metric"], alert["old_state"], alert["new_state"],
            alert["unit"], alert["limit"]) == ("api", MEMORY, "ok", "critical", "By", 800 * 2**20)


def test_a_transition_logs_at_the_level_of_the_state_entered_naming_its_limit(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="opentelemetry.instrumentation.flujo.alerts"):
        for mib in (600, 100, 600, 900, 600, 100):
            rig.collect(mib)
        assert rig.flush()
    records = [(r.getMessage().split(": ", 2)[2], r.levelno)
               for r in caplog.records if r.name == "opentelemetry.instrumentation.flujo.alerts"]
    assert records == [
        ("ok -> warning (value 600 MiB, limit > 500 MiB)", logging.WARNING),
        ("warning -> ok (value 100 MiB, within limit > 500 MiB)", logging.INFO),
        ("ok -> warning (value 600 MiB, limit > 500 MiB)", logging.WARNING),
        ("warning -> critical (value 900 MiB, limit > 800 MiB)", logging.ERROR),
        ("critical -> warning (value 600 MiB, limit > 500 MiB)", logging.WARNING),
        ("warning -> ok (value 100 MiB, within limit > 500 MiB)", logging.INFO)]


def test_a_callable_gets_the_event_record(rig: Rig) -> None:
    events: list[AlertEvent] = []
    add_alert_handler(events.append)
    try:
        before = datetime.now(timezone.utc)
        rig.collect(600)
        assert rig.flush()
        after = datetime.now(timezone.utc)
    finally:
        remove_alert_handler(events.append)
    (event,) = events
    assert (event.executor, event.metric, event.old_state, event.new_state) == (
        "api", MEMORY, "ok", "warning")
    assert (event.value, event.limit, event.unit) == (600 * 2**20, 500 * 2**20, "By")
    assert before <= event.timestamp <= after  # when the collection saw it, in UTC


def event_name(record: Any, attributes: dict[str, Any]) -> Any:
    """The record's event name: a field from logs API 1.38 on, the "event.name"
    attribute before (taken out of ``attributes``)."""
    return getattr(record, "event_name", None) or attributes.pop("event.name", None)


def test_the_logs_api_gets_an_event(rig: Rig) -> None:
    # InMemoryLogRecordExporter from 1.44 on; InMemoryLogExporter before
    exporter = getattr(logs_export, "InMemoryLogRecordExporter",
                       logs_export.InMemoryLogExporter)()
    provider = LoggerProvider()
    provider.add_log_record_processor(logs_export.SimpleLogRecordProcessor(exporter))
    handler = LogsApiHandler(provider)
    add_alert_handler(handler)
    try:
        rig.collect(900)
        rig.collect(100)
        assert rig.flush()
    finally:
        remove_alert_handler(handler)
    finished, recovered = (getattr(f, "log_record", f) for f in exporter.get_finished_logs())
    # By the state entered, as in Python logging: a recovery is INFO.
    assert (recovered.severity_number, recovered.severity_text) == (SeverityNumber.INFO, "INFO")
    assert recovered.attributes["flujo.threshold.state"] == "ok"
    record = finished
    attributes = dict(record.attributes)
    assert event_name(record, attributes) == "flujo.threshold.transition"
    assert (record.severity_number, record.severity_text) == (SeverityNumber.ERROR, "ERROR")
    assert attributes == {
        "flujo.executor.name": "api", "flujo.threshold.metric": MEMORY,
        "flujo.threshold.state": "critical", "flujo.threshold.previous_state": "ok",
        "flujo.threshold.value": 900.0 * 2**20, "flujo.threshold.limit": 800.0 * 2**20,
        "flujo.threshold.unit": "By"}


GLOBAL_PROVIDER_APP = """
import sys
sys.path.insert(0, "tests")
from opentelemetry._logs import set_logger_provider
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs import export
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.instrumentation.flujo import instrument_executor
from opentelemetry.instrumentation.flujo._internal.runtime import get_runtime
from conftest import StaticExecutor

exporter = getattr(export, "InMemoryLogRecordExporter", None) or export.InMemoryLogExporter
exporter = exporter()
provider = LoggerProvider()
provider.add_log_record_processor(export.SimpleLogRecordProcessor(exporter))
set_logger_provider(provider)
reader = InMemoryMetricReader()
executor = StaticExecutor({"cache": {"hit_rate": 5}})  # held: the registry's ref is weak
instrument_executor(executor, "app", MeterProvider(metric_readers=[reader]))
reader.get_metrics_data()
get_runtime().alerts.flush()
for log in exporter.get_finished_logs():
    record = getattr(log, "log_record", log)
    # a field from logs API 1.38 on, the "event.name" attribute before
    name = getattr(record, "event_name", None) or record.attributes["event.name"]
    print(name, record.attributes["flujo.threshold.metric"],
          record.attributes["flujo.threshold.state"])
"""


def test_the_global_logger_provider_is_used_once_set() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run([sys.executable, "-c", GLOBAL_PROVIDER_APP], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "flujo.threshold.transition", "flujo.executor.cache.hit_ratio", "critical"]


def test_webhook_posts_json_and_retries_with_backoff(caplog: pytest.LogCaptureFixture) -> None:
    hook = Webhook(failures=1, query=f"token={SECRET}")
    rig = Rig({"OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_URL": hook.url,
               "OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_HEADERS": f"Authorization=Bearer%20{SECRET}",
               "OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_TIMEOUT": "2000"})
    try:
        with caplog.at_level(logging.DEBUG):
            rig.collect(900)
            assert rig.flush(10)
    finally:
        rig.close()
        hook.close()
    assert len(hook.headers) == 2  # a 503, then the retry
    assert hook.headers[-1]["Authorization"] == f"Bearer {SECRET}"
    assert hook.headers[-1]["Content-Type"] == "application/json"
    (body,) = hook.bodies
    assert {k: body[k] for k in ("executor", "metric", "old_state", "new_state", "unit")} == {
        "executor": "api", "metric": MEMORY, "old_state": "ok", "new_state": "critical",
        "unit": "By"}
    assert body["value"] == 900 * 2**20 and body["limit"] == 800 * 2**20
    assert body["timestamp"].endswith("+00:00")
    assert SECRET not in caplog.text and SECRET not in repr(rig.runtime.config)


def test_webhook_gives_up_and_counts_it() -> None:
    hook = Webhook(failures=100, query=f"token={SECRET}")
    rig = Rig({"OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_URL": hook.url,
               "OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_RETRIES": "1"})
    try:
        rig.collect(900)
        assert rig.flush(10)
        assert len(hook.headers) == 2
        assert rig.dropped("webhook", "error") == 1
        dropped = {dict(a).get("handler"): v for (n, a), v in collect(rig.reader).items()
                   if n == ALERTS_DROPPED.name}
        assert dropped == {"webhook": 1}
    finally:
        rig.close()
        hook.close()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "not a url"])
def test_only_http_webhooks_and_the_url_is_never_logged(
        url: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        config = load_config({"OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_URL": url})
    assert config.alerts.webhook_url == ""
    assert "OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_URL" in caplog.text and url not in caplog.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, list[Any], list[str]]]:
    try:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult
    except ImportError:
        require(False, "aiosmtpd (the test extra)")

    messages: list[Any] = []
    logins: list[str] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            messages.append(envelope)
            return "250 OK"

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                      data: Any) -> AuthResult:
        ok = data.login == b"alerts" and data.password == SECRET.encode()
        logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)  # handled=False: the server replies 535

    port = _free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port,
                            authenticator=authenticator, auth_require_tls=False)
    controller.start()
    yield port, messages, logins
    controller.stop()


def smtp_env(port: int, password: str, to: str = "oncall@example.com") -> dict[str, str]:
    """The SMTP handler against the test's server, logging in as ``alerts``."""
    return {"OTEL_PYTHON_FLUJO_ALERT_SMTP_HOST": "127.0.0.1",
            "OTEL_PYTHON_FLUJO_ALERT_SMTP_PORT": str(port),
            "OTEL_PYTHON_FLUJO_ALERT_SMTP_SECURITY": "none",
            "OTEL_PYTHON_FLUJO_ALERT_SMTP_FROM": "flujo@example.com",
            "OTEL_PYTHON_FLUJO_ALERT_SMTP_TO": to,
            "OTEL_PYTHON_FLUJO_ALERT_SMTP_USERNAME": "alerts",
            "OTEL_PYTHON_FLUJO_ALERT_SMTP_PASSWORD": password}


def test_smtp_mails_critical_only_and_keeps_the_password_secret(
        smtp_server: tuple[int, list[Any], list[str]], caplog: pytest.LogCaptureFixture) -> None:
    port, messages, logins = smtp_server
    rig = Rig(smtp_env(port, SECRET, "oncall@example.com,sre@example.com"))
    try:
        with caplog.at_level(logging.DEBUG):
            rig.collect(600)  # ok -> warning: not mailed by default
            rig.collect(900)  # warning -> critical: mailed
            assert rig.flush(10)
    finally:
        rig.close()
    (envelope,) = messages
    assert logins == ["alerts"]
    assert envelope.rcpt_tos == ["oncall@example.com", "sre@example.com"]
    text = envelope.content.decode()
    assert f"Subject: CRITICAL: {MEMORY} on api" in text
    assert "warning -> critical" in text and '"new_state": "critical"' in text
    handler = SmtpHandler("127.0.0.1", "flujo@example.com", ("oncall@example.com",), port,
                          "none", "alerts", SECRET, 1.0)
    assert SECRET not in caplog.text and SECRET not in repr(handler)
    assert SECRET not in repr(load_config({"OTEL_PYTHON_FLUJO_ALERT_SMTP_PASSWORD": SECRET}))


def test_a_failing_smtp_login_is_counted_without_the_password(
        smtp_server: tuple[int, list[Any], list[str]], caplog: pytest.LogCaptureFixture) -> None:
    port, messages, _ = smtp_server
    rig = Rig(smtp_env(port, "wrong-" + SECRET))
    try:
        with caplog.at_level(logging.DEBUG):
            rig.collect(900)
            assert rig.flush(10)
            dropped = rig.dropped("smtp", "error")
    finally:
        rig.close()
    assert messages == []
    assert dropped == 1
    assert "alert handler smtp failed" in caplog.text and SECRET not in caplog.text


def test_failing_and_hanging_handlers_delay_nothing(rig: Rig) -> None:
    release, hung = threading.Event(), threading.Event()
    arrived = threading.Condition()
    good: list[AlertEvent] = []

    def raises(event: AlertEvent) -> None:
        raise RuntimeError("handler bug")

    def hangs(event: AlertEvent) -> None:
        hung.set()
        release.wait(60)  # a hang guard: the test releases it

    def healthy(event: AlertEvent) -> None:
        with arrived:
            good.append(event)
            arrived.notify_all()

    for handler in (raises, hangs, healthy):
        add_alert_handler(handler)
    try:
        for n, usage in enumerate((900, 100) * 100, 1):  # 200 transitions
            rig.collect(usage)
            # Collections come seconds apart in production: the healthy handler has its
            # event before the next one, so only the hung handler's queue can fill.
            with arrived:
                assert arrived.wait_for(lambda n=n: len(good) == n, 30), (
                    n, len(good), dict(rig.runtime.alerts.dropped))
        # Every collection ended, and the good handler got every event, while the hung
        # one still holds its first.
        assert hung.wait(30) and not release.is_set()
        # The raising handler has its own worker: its count catches up on its own time.
        eventually(lambda: rig.dropped("raises", "error") == 200,
                   "the raising handler's 200 errors counted")
        # 100 queued + 1 in hand; the rest of the 200 did not fit
        assert rig.dropped("hangs", "queue_full") == 99
    finally:
        release.set()
        for handler in (raises, hangs, healthy):
            remove_alert_handler(handler)


def test_the_custom_thresholds_example_runs_its_handler() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run([sys.executable, "examples/custom_thresholds.py"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60, check=True)
    assert "handler: reducing concurrency (memory pressure)" in result.stdout
    assert result.stdout.count("handler: flujo.executor.memory.usage") == 3
    assert "ok -> warning (value 450 MiB, limit > 400 MiB)" in result.stderr


EXIT_APP = """
import atexit, sys, threading, time
from opentelemetry.instrumentation.flujo import AlertEvent, add_alert_handler
from opentelemetry.instrumentation.flujo._internal.runtime import get_runtime

exiting = threading.Event()

def slow(event):
    exiting.wait(30)  # busy until the interpreter exits: the events are still queued then
    with open(sys.argv[1], "a") as out:
        out.write(event.new_state + "\\n")

add_alert_handler(slow)
get_runtime().alerts.publish(AlertEvent("api", "flujo.executor.memory.usage", old, new, 1.0, 2.0, "By",
                              "above", time.time_ns())
                   for old, new in (("ok", "warning"), ("warning", "critical"), ("critical", "ok")))
atexit.register(exiting.set)  # registered last, so it runs before the runtime's flush
"""


def test_queued_alerts_are_delivered_at_exit(tmp_path: Path) -> None:
    out = tmp_path / "delivered.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    subprocess.run([sys.executable, "-c", EXIT_APP, str(out)], env=env, cwd=ROOT,
                   capture_output=True, text=True, timeout=60, check=True)
    assert out.read_text().split() == ["warning", "critical", "ok"]
