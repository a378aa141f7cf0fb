"""service.instance.id on the providers this package builds, on every supported SDK.

Each process (and each forked child) must export under an id of its own, or a
backend merges the workers' cumulative counters into one series; a configured id is
never replaced. Runs in every test environment: the SDKs differ here (none before
1.43, 1.43 keeps the parent's in a child, 1.44 on replaces a configured one there).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from faults import app_env

# Builds the provider as `import ...auto` does, then forks two children; every process
# prints the service.instance.id its next collection carries.
APP = """
import os
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.instrumentation.flujo._internal.config import load_config
from opentelemetry.instrumentation.flujo._internal.otel.sdk_setup import build_meter_provider

reader = InMemoryMetricReader()
provider = build_meter_provider(load_config({}), {"OTEL_METRICS_EXPORTER": "none"},
                                extra_readers=[reader])
provider.get_meter("probe").create_counter("probe").add(1)

def instance_id():
    resource = reader.get_metrics_data().resource_metrics[0].resource
    return resource.attributes.get("service.instance.id")

print("parent", instance_id(), flush=True)
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        print("child", instance_id(), flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
"""

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() is POSIX only")


def _ids(**env: str) -> list[tuple[str, str]]:
    result = subprocess.run([sys.executable, "-c", APP], env=app_env(env),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    lines = [tuple(line.split(" ", 1)) for line in result.stdout.splitlines()]
    assert [role for role, _ in lines] == ["parent", "child", "child"], result.stdout
    return lines  # type: ignore[return-value]


def test_every_process_and_every_forked_child_has_an_id_of_its_own() -> None:
    first, second = _ids(), _ids()
    ids = [value for _, value in first + second]
    for value in ids:
        assert uuid.UUID(value).version == 4
    assert len(set(ids)) == 6, ids


def test_a_configured_id_is_kept_in_the_parent_and_every_child() -> None:
    lines = _ids(OTEL_RESOURCE_ATTRIBUTES="service.instance.id=checkout-7,team=sre")
    assert {value for _, value in lines} == {"checkout-7"}
