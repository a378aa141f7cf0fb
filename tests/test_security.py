"""Security: secrets stay out of every output; the top receiver warns off loopback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from faults import app_env
from opentelemetry.instrumentation.flujo._internal.config import load_config

from conftest import ROOT

OTLP_TOKEN = "otlp-S3CRET-hdr"
SMTP_PASSWORD = "smtp-S3CRET-pw"
WEBHOOK_TOKEN = "hook-S3CRET-tok"
WEBHOOK_HEADER = "hook-S3CRET-hdr"
SECRETS = (OTLP_TOKEN, SMTP_PASSWORD, WEBHOOK_TOKEN, WEBHOOK_HEADER)

ENV = {
    # Nothing listens on port 9: every export, webhook and mail fails and is logged.
    "OTEL_METRICS_EXPORTER": "otlp",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
    "OTEL_EXPORTER_OTLP_HEADERS": f"authorization=Bearer%20{OTLP_TOKEN}",
    "OTEL_EXPORTER_OTLP_TIMEOUT": "1",
    "OTEL_METRIC_EXPORT_INTERVAL": "200",
    "OTEL_TRACES_EXPORTER": "none",
    "OTEL_LOGS_EXPORTER": "none",
    "OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_URL": f"http://127.0.0.1:9/hook/{WEBHOOK_TOKEN}",
    "OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_HEADERS": f"x-token={WEBHOOK_HEADER}",
    "OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_RETRIES": "1",
    "OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_TIMEOUT": "200",
    "OTEL_PYTHON_FLUJO_ALERT_SMTP_HOST": "127.0.0.1",
    "OTEL_PYTHON_FLUJO_ALERT_SMTP_PORT": "9",
    "OTEL_PYTHON_FLUJO_ALERT_SMTP_FROM": "flujo@example.com",
    "OTEL_PYTHON_FLUJO_ALERT_SMTP_TO": "oncall@example.com",
    "OTEL_PYTHON_FLUJO_ALERT_SMTP_USERNAME": "flujo",
    "OTEL_PYTHON_FLUJO_ALERT_SMTP_PASSWORD": SMTP_PASSWORD,
    "OTEL_PYTHON_FLUJO_ALERT_SMTP_MIN_LEVEL": "warning",
}

# An app that breaches a critical threshold (alerts to every handler), logs at DEBUG,
# prints the config's repr and an alert event's repr and JSON payload.
APP = """
import json, logging, sys, threading
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
failed_export = threading.Event()

class Watch(logging.Handler):
    def emit(self, record):
        message = record.getMessage()
        if any(m in message for m in ("Failed to export", "Transient error",
                                      "Exception while exporting metrics")):
            failed_export.set()

logging.getLogger().addHandler(Watch())
import opentelemetry.instrumentation.flujo.auto
from opentelemetry.instrumentation.flujo import add_alert_handler, instrument_executor
from opentelemetry.instrumentation.flujo._internal.runtime import get_runtime
events, alerted = [], threading.Event()

def collect(event):
    events.append(event)
    if len(events) == 2:
        alerted.set()

add_alert_handler(collect)
class Executor:
    def get_optimization_stats(self):
        return {"memory": {"usage_mb": 900}, "error_handling": {"circuit_breaker_state": "OPEN"}}
executor = Executor()
instrument_executor(executor, "api")
# Hang guards, not pacing: the two alerts, every handler done (the webhook and the mail
# failed), and a failed export.
if not (alerted.wait(60) and get_runtime().alerts.flush(60) and failed_export.wait(60)):
    sys.exit("the alerts, their handlers or the failed export never came")
print(repr(get_runtime().config))
for event in events:
    print(repr(event))
    print(json.dumps(event.to_dict() if hasattr(event, "to_dict") else vars(event), default=str))
print("events", len(events))
"""


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def test_no_secret_in_logs_reprs_or_alert_payloads() -> None:
    result = subprocess.run([sys.executable, "-c", APP], env=app_env(ENV), cwd=ROOT,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "events 2" in result.stdout  # the breaches really alerted
    assert "webhook" in result.stderr.lower()  # the failing handlers really logged
    assert "smtp" in result.stderr.lower()
    # the failing export really logged (SDK 1.30's HTTP exporter raises the connection
    # error, which its reader logs)
    assert any(message in result.stderr for message in (
        "Failed to export", "Transient error", "Exception while exporting metrics"))
    assert _leaks(result.stdout + result.stderr) == []


def test_config_repr_hides_credentials() -> None:
    assert _leaks(repr(load_config(ENV))) == []


def flujo_otel(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).parent / "flujo-otel"), *args],
                          env=app_env(ENV), cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)


def test_cli_output_has_no_secret() -> None:
    for args in (["rules", "prometheus"], ["dashboard", "grafana"],
                 ["top", "--once", "--listen", "127.0.0.1:0", "--grpc-listen", "off",
                  "--wait", "0.2"]):
        result = flujo_otel(*args)
        assert result.stdout or result.stderr, args
        assert _leaks(result.stdout + result.stderr) == [], args


def test_top_warns_when_listening_beyond_loopback() -> None:
    quiet = flujo_otel("top", "--once", "--listen", "127.0.0.1:0", "--grpc-listen",
                       "127.0.0.1:0", "--wait", "0.2")
    assert "not loopback" not in quiet.stderr
    exposed = flujo_otel("top", "--once", "--listen", "0.0.0.0:0", "--grpc-listen", "off",
                         "--wait", "0.2")
    assert "not loopback" in exposed.stderr
