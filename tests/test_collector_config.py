"""collector-config/: up to date, parseable, and made of components that exist."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from opentelemetry.instrumentation.flujo.tools.generate import GENERATED, RULES_FILE

from conftest import ROOT, require

CONFIG = ROOT / "collector-config"
COLLECTOR_FILES = ("agent.yaml", "agent-loadbalancing.yaml", "gateway.yaml",
                   "gateway-aggregate.yaml")

# Component type names of opentelemetry-collector-contrib (the contrib distribution's
# manifest, distributions/otelcol-contrib/manifest.yaml in
# opentelemetry-collector-releases, and each component's metadata.yaml `type`).
# Only the ones these configs may use; add a name here only after checking it there.
# `loadbalancing` was renamed `load_balancing` in late 2025 (old name kept as an alias).
KNOWN = {
    "receivers": {"otlp", "prometheus", "hostmetrics"},
    "processors": {"memory_limiter", "batch", "resource", "resourcedetection", "attributes",
                   "filter", "transform", "k8sattributes", "cumulativetodelta"},
    "exporters": {"otlp", "otlphttp", "prometheusremotewrite", "prometheus", "debug",
                  "loadbalancing", "load_balancing"},
    "extensions": {"health_check", "pprof", "zpages"},
}


def load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((CONFIG / name).read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def test_rules_and_dashboard_are_generated_files() -> None:
    # test_catalog.test_generated_files_are_current checks every GENERATED file is current.
    dashboard = "collector-config/grafana/dashboards/flujo-executors.json"
    assert {RULES_FILE, dashboard} <= set(GENERATED)


@pytest.mark.parametrize("name", COLLECTOR_FILES)
def test_collector_config_uses_known_components_and_wires_them(name: str) -> None:
    config = load(name)
    defined: dict[str, set[str]] = {}
    for section, known in KNOWN.items():
        ids = set(config.get(section) or {})
        unknown = {i for i in ids if i.split("/", 1)[0] not in known}
        assert unknown == set(), f"{name}: unknown {section} {unknown}"
        defined[section] = ids
    service = config["service"]
    assert set(service.get("extensions", [])) <= defined["extensions"]
    pipelines = service["pipelines"]
    assert any(p.split("/", 1)[0] == "metrics" for p in pipelines)
    for pipeline_id, pipeline in pipelines.items():
        assert pipeline_id.split("/", 1)[0] in {"metrics", "traces", "logs"}
        assert pipeline["receivers"]
        assert pipeline["exporters"]
        for section in ("receivers", "processors", "exporters"):
            missing = set(pipeline.get(section, [])) - defined[section]
            assert missing == set(), f"{name}: {pipeline_id} uses undefined {missing}"
        # memory_limiter must come first to protect the rest of the pipeline.
        assert pipeline["processors"][0] == "memory_limiter"


def test_agent_has_the_three_exporters_and_the_balancer_points_at_gateways() -> None:
    agent = load("agent.yaml")
    assert set(agent["exporters"]) == {"otlphttp", "prometheusremotewrite", "debug"}
    balancer = load("agent-loadbalancing.yaml")["exporters"]["loadbalancing"]
    assert balancer["routing_key"] in {"resource", "service", "streamID"}
    assert "otlp" in balancer["protocol"]
    gateway = load("gateway.yaml")
    assert "prometheusremotewrite" in gateway["service"]["pipelines"]["metrics"]["exporters"]


def test_the_fleet_gateway_sums_totals_without_the_instance_and_keeps_gauges_per_process() -> None:
    config = load("gateway-aggregate.yaml")
    pipelines = config["service"]["pipelines"]
    totals = pipelines["metrics/totals"]["processors"]
    # increments before the identity goes: a cumulative stream summed over processes
    # would be wrong
    assert totals.index("cumulativetodelta") < totals.index("transform/drop_instance")
    statements = config["processors"]["transform/drop_instance"]["metric_statements"][0]
    assert 'delete_key(attributes, "service.instance.id")' in statements["statements"]
    # the two filters drop complementary kinds: every metric goes one way or the other
    dropped = {name: config["processors"][name]["metrics"]["metric"]
               for name in ("filter/totals", "filter/per_process")}
    assert "type == METRIC_DATA_TYPE_GAUGE" in dropped["filter/totals"]
    assert "type == METRIC_DATA_TYPE_HISTOGRAM" in dropped["filter/per_process"]
    assert "filter/per_process" in pipelines["metrics/per_process"]["processors"]
    assert "transform/drop_instance" not in pipelines["metrics/per_process"]["processors"]


def test_prometheus_config_passes_promtool() -> None:
    require(shutil.which("promtool") is not None, "promtool (Debian package prometheus)")
    for args in (["check", "config", "prometheus.yml"],
                 ["test", "rules", "flujo-rules.test.yml"]):
        done = subprocess.run(["promtool", *args], cwd=CONFIG / "prometheus",
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


def test_docker_compose_mounts_existing_files_and_enables_remote_write() -> None:
    compose = load("docker-compose.yaml")
    services = compose["services"]
    assert services["collector"]["image"].startswith("otel/opentelemetry-collector-contrib:")
    assert "--web.enable-remote-write-receiver" in services["prometheus"]["command"]
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            assert (CONFIG / source).exists(), source
    # The compose stack's exporter override names exporters the agent defines.
    override = next(a for a in services["collector"]["command"] if a.startswith("--config=yaml:"))
    exporters = yaml.safe_load(override.split("exporters:", 1)[1])
    assert set(exporters) <= set(load("agent.yaml")["exporters"])
    assert services["collector"]["environment"]["PROMETHEUS_REMOTE_WRITE_URL"] == \
        "http://prometheus:9090/api/v1/write"


def test_grafana_provisioning_points_at_the_dashboard_and_prometheus() -> None:
    provider = load("grafana/provisioning/dashboards/flujo.yaml")["providers"][0]
    compose = load("docker-compose.yaml")["services"]["grafana"]["volumes"]
    mounted = {Path(v.split(":")[1]): v.split(":")[0] for v in compose}
    dashboards = CONFIG / mounted[Path(provider["options"]["path"])]
    assert (dashboards / "flujo-executors.json").exists()
    source = load("grafana/provisioning/datasources/prometheus.yaml")["datasources"][0]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
