"""A fleet through a real collector: ``python -m bench --fleet`` (Python 3.13 with flujo).

N worker processes, each the real flujo app of ``bench/flujo_app.py`` with M pipelines
(runners named ``pipeline-0`` ...) under ``opentelemetry-instrument`` with the plugin
on, export OTLP/gRPC every second to rotel (a Rust OpenTelemetry collector from PyPI,
``tests/rotel_collector.py``), which forwards to the test receiver
(``tests/receivers.py``). Two more workers run beside them with the plugin off (the same
environment but ``OTEL_PYTHON_FLUJO_ENABLED=false``), for the plugin's CPU per process.

Measured per configuration: each process's exports as they arrive (one OTLP
``ResourceMetrics`` per process per export: its points and protobuf bytes, plain and
gzipped), the active series (every process's last export), the workers' CPU (the
timed runs, on against off, and the whole process), rotel's CPU and peak memory. Every
run's spend and count must arrive (checked, as the slow test does).
"""

from __future__ import annotations

import gzip
import importlib.util
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from opentelemetry.instrumentation.flujo._internal.catalog import (
    EXECUTION_DURATION,
    PREFIX,
    RUNS,
)

from bench.flujo_e2e import ROOT, app_environ, app_result, spread, start_app
from bench.report import Figure

INSTANCE = "service.instance.id"
INTERVAL_MS = 1000
OFF_WORKERS = 2
# (workers, pipelines per worker)
CONFIGS = [(8, 5), (8, 50), (32, 5), (32, 50)]
QUICK_CONFIGS = [(2, 5)]
# The extrapolation's fleet, and the export intervals it is shown at.
FLEET_WORKERS, FLEET_PIPELINES = 1000, 100
INTERVALS_S = (60, 10)


def _tests_module(name: str) -> Any:
    """The test receiver or the rotel runner, from tests/ (loaded from its file: tests/
    on sys.path would make its flujo/ folder importable as ``flujo``)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / f"{name}.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _environ(endpoint: str, enabled: bool) -> dict[str, str]:
    return app_environ(OTEL_METRICS_EXPORTER="otlp", OTEL_TRACES_EXPORTER="none",
                       OTEL_LOGS_EXPORTER="none", OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
                       OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_SERVICE_NAME="flujo-fleet",
                       OTEL_METRIC_EXPORT_INTERVAL=str(INTERVAL_MS),
                       OTEL_PYTHON_FLUJO_ENABLED="true" if enabled else "false")


def _exports(requests: list[Any]) -> dict[str, list[dict[str, Any]]]:
    """Every process's exports, in arrival order: points, series, bytes."""
    by_process: dict[str, list[dict[str, Any]]] = {}
    for request in requests:
        for rm in request.resource_metrics:
            instance = next((a.value.string_value for a in rm.resource.attributes
                             if a.key == INSTANCE), "")
            series = set()
            kinds: dict[str, int] = {}
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    data = getattr(metric, metric.WhichOneof("data"))
                    # what a gateway can sum over processes (gateway-aggregate.yaml)
                    kind = ("total" if metric.WhichOneof("data") == "histogram"
                            or getattr(data, "is_monotonic", False) else "per_process")
                    for point in data.data_points:
                        series.add((metric.name, tuple(sorted(
                            (a.key, str(a.value)) for a in point.attributes))))
                        kinds[kind] = kinds.get(kind, 0) + 1
            raw = rm.SerializeToString()
            by_process.setdefault(instance, []).append(
                {"points": len(series), "bytes": len(raw), "gzip": len(gzip.compress(raw)),
                 "series": series, "kinds": kinds})
    return by_process


def _totals(requests: list[Any], name: str) -> float:
    """A cumulative metric's latest value per process and series, summed."""
    last: dict[tuple[Any, ...], float] = {}
    for request in requests:
        for rm in request.resource_metrics:
            instance = next((a.value.string_value for a in rm.resource.attributes
                             if a.key == INSTANCE), "")
            if not instance:  # no process to put it under (see run_fleet)
                continue
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name != name:
                        continue
                    data = getattr(metric, metric.WhichOneof("data"))
                    for point in data.data_points:
                        key = (instance, str(point.attributes))
                        last[key] = (point.count if metric.WhichOneof("data") == "histogram"
                                     else getattr(point, point.WhichOneof("value")))
    return sum(last.values())


def run_fleet(workers: int, pipelines: int) -> dict[str, Any]:
    grpc_receiver, rotel_collector = _tests_module("receivers").GrpcReceiver, \
        _tests_module("rotel_collector").Rotel
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as cwd, grpc_receiver() as receiver, \
            rotel_collector(receiver.endpoint) as rotel:
        # Each pipeline runs twice: a warm-up run (the name's first series) and a timed one.
        args = [str(pipelines), str(pipelines), "1"]
        started = [start_app(args, _environ(rotel.grpc_endpoint, True), True, Path(cwd))
                   for _ in range(workers)]
        off = [start_app(args, _environ(rotel.grpc_endpoint, False), True, Path(cwd))
               for _ in range(OFF_WORKERS)]
        on_said = [app_result(p, timeout=1800) for p in started]
        off_said = [app_result(p, timeout=1800) for p in off]
        runs = sum(s["said"]["runs"] for s in on_said)
        steps = sum(s["said"]["steps"] for s in on_said)
        # Each worker's last export happens at its exit; rotel forwards within 100 ms.
        deadline = time.monotonic() + 120
        while True:
            with receiver.lock:
                requests = list(receiver.requests)
            arrived = (_totals(requests, RUNS.name), _totals(requests, EXECUTION_DURATION.name))
            if arrived == (runs, steps) or time.monotonic() > deadline:
                break
            with receiver.arrived:
                receiver.arrived.wait(0.5)
        collector = rotel.usage()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    children_cpu = (children.ru_utime + children.ru_stime
                    - before.ru_utime - before.ru_stime) - collector["cpu_s"]
    everything = _exports(requests)
    # Points that arrived without their resource (no service.instance.id at all): rotel
    # 0.0.1a15 sends the part of a batch it splits past its --batch-max-size (8,192
    # points) without the resource. Counted, not a process.
    resourceless = everything.pop("", [])
    # The workers with the plugin off export the SDK's few points of their own: left out.
    exports = {instance: process for instance, process in everything.items()
               if any(metric.startswith(PREFIX) for e in process for metric, _ in e["series"])}
    per_export = [e for process in exports.values() for e in process]
    last = [process[-1] for process in exports.values()]
    active = sum(len(e["series"]) for e in last)
    on_us = [s["cpu_us_per_run"] for s in on_said]
    off_us = [s["cpu_us_per_run"] for s in off_said]
    return {
        "workers": workers, "pipelines": pipelines, "interval_ms": INTERVAL_MS,
        "runs": runs, "runs_arrived": arrived[0], "steps": steps,
        "executions_arrived": arrived[1], "intact": arrived == (runs, steps),
        "processes_exporting": len(exports),
        "exports_without_resource": len(resourceless),
        "points_without_resource": sum(e["points"] for e in resourceless),
        "exports_per_process": spread([len(p) for p in exports.values()]),
        "points_per_export": spread([e["points"] for e in per_export]),
        "bytes_per_export": spread([e["bytes"] for e in per_export]),
        "gzip_bytes_per_export": spread([e["gzip"] for e in per_export]),
        "last_export_bytes": spread([e["bytes"] for e in last]),
        "last_export_gzip_bytes": spread([e["gzip"] for e in last]),
        "series_per_process": spread([len(e["series"]) for e in last]),
        "active_series": active,
        "series_by_kind": {kind: sum(e["kinds"].get(kind, 0) for e in last)
                           for kind in ("total", "per_process")},
        # the series left once service.instance.id is aggregated away
        "series_without_instance": len(set().union(*(e["series"] for e in last))),
        "cpu_us_per_run": {"on": spread(on_us), "off": spread(off_us)},
        "plugin_us_per_run": statistics.median(on_us) - statistics.median(off_us),
        "process_cpu_s": children_cpu / (workers + OFF_WORKERS),
        "collector": collector,
    }


def extrapolate(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-process series and bytes are linear in the pipelines a process runs (fit
    between the fewest and the most pipelines measured), times the workers."""
    by_m: dict[int, dict[str, Any]] = {}
    for r in results:
        by_m.setdefault(r["pipelines"], r)
    low, high = min(by_m), max(by_m)
    if low == high:
        return {}

    def at(field: str, m: int) -> float:
        y0, y1 = by_m[low][field]["median"], by_m[high][field]["median"]
        return y0 + (y1 - y0) * (m - low) / (high - low)

    series = at("series_per_process", FLEET_PIPELINES)
    last_bytes = at("last_export_bytes", FLEET_PIPELINES)
    last_gzip = at("last_export_gzip_bytes", FLEET_PIPELINES)
    per_pipeline = (by_m[high]["series_without_instance"]
                    - by_m[low]["series_without_instance"]) / (high - low)
    out: dict[str, Any] = {
        "workers": FLEET_WORKERS, "pipelines": FLEET_PIPELINES,
        "series_per_process": series,
        "series_at_backend": series * FLEET_WORKERS,
        "series_without_instance": by_m[low]["series_without_instance"]
        + per_pipeline * (FLEET_PIPELINES - low),
        "bytes_per_export_per_process": last_bytes,
        "gzip_bytes_per_export_per_process": last_gzip,
    }
    for interval in INTERVALS_S:
        out[f"bytes_per_s_{interval}s"] = last_bytes * FLEET_WORKERS / interval
        out[f"gzip_bytes_per_s_{interval}s"] = last_gzip * FLEET_WORKERS / interval
    return out


def figures(quick: bool) -> list[Figure]:
    if _tests_module("rotel_collector").rotel_binary() is None:
        return [Figure("fleet", "fleet through rotel", None, "",
                       note="needs rotel (pip install rotel: the test extra)")]
    results = [run_fleet(n, m) for n, m in (QUICK_CONFIGS if quick else CONFIGS)]
    out = []
    for r in results:
        label = f"{r['workers']} workers x {r['pipelines']} pipelines"
        out.append(Figure(f"fleet.n{r['workers']}_m{r['pipelines']}.bytes",
                          f"{label}: OTLP bytes per process per export (last, protobuf)",
                          r["last_export_bytes"]["median"], "B", met=r["intact"],
                          goal="every run arrives", detail=r))
    projected = extrapolate(results)
    if projected:
        out.append(Figure("fleet.extrapolated.series",
                          f"{FLEET_WORKERS:,} workers x {FLEET_PIPELINES} pipelines: series "
                          "at the backend", projected["series_at_backend"], "",
                          detail=projected))
    return out
