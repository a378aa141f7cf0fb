"""The generated dashboard against a real flujo deployment: flujo_dashboard_workload.py
under ``opentelemetry-instrument`` (zero code) with the Prometheus exporter, scraped by
a real Prometheus every second, every panel query run as Grafana runs it.

Every panel of an expanded row returns data (every one of its queries: each run outcome
the catalog knows, the per-pipeline limit of the one pipeline that has its own); every
panel of a collapsed row returns none; and the metrics flujo exports are exactly those
the catalog says it reports (``FLUJO_STATS``), which is what puts a panel in an
expanded row.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flujo_support import APP_PYTHONPATH, require_flujo

from opentelemetry.instrumentation.flujo._internal.catalog import (
    METRICS,
    RUN_OUTCOMES,
    RUNS,
    SYNC_METRICS,
    Kind,
    reported_by_flujo,
)
from opentelemetry.instrumentation.flujo._internal.config import load_config
from opentelemetry.instrumentation.flujo._internal.thresholds.overrides import effective_rules
from opentelemetry.instrumentation.flujo.tools.generate import grafana
from opentelemetry.instrumentation.flujo.tools.generate.naming import (
    Naming,
    metric_series,
    series_name,
)
from test_prometheus_e2e import Prometheus, free_port, wait_for

from conftest import require

pytestmark = [pytest.mark.flujo, pytest.mark.slow]

HERE = Path(__file__).parent
# The budgeted pipeline's own limit, beside the default for every other name.
SCOPED = "budgeted:usage_limit.utilization: warning>0.7"
# As Grafana runs a panel's queries: $executor = All, $__rate_interval = 1m, the last
# 5 minutes at the step Grafana picks for a 1 s scrape interval.
RANGE_S, STEP = 300, "1s"


def expanded(query: str) -> str:
    return query.replace("$__rate_interval", "1m").replace("$executor", ".*")


def has_data(prometheus: Prometheus, target: dict[str, Any]) -> bool:
    """Whether the query, as Grafana runs it, returns a number (NaN is no data: a
    quantile of no observations)."""
    expr = expanded(target["expr"])
    now = time.time()
    if target.get("instant"):
        samples = [r["value"] for r in prometheus.api("query", query=expr, time=str(now))[
            "result"]]
    else:
        result = prometheus.api("query_range", query=expr, start=str(now - RANGE_S),
                                end=str(now), step=STEP)["result"]
        samples = [v for series in result for v in series["values"]]
    return any(not math.isnan(float(value)) for _, value in samples)


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[tuple[Prometheus, Path]]:
    """(Prometheus scraping the running deployment, the file that stops it)."""
    require_flujo()
    require(shutil.which("prometheus") is not None, "prometheus (Debian package prometheus)")
    port, stop = free_port(), tmp_path / "stop"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(OTEL_METRICS_EXPORTER="prometheus", OTEL_EXPORTER_PROMETHEUS_HOST="127.0.0.1",
               OTEL_EXPORTER_PROMETHEUS_PORT=str(port), OTEL_TRACES_EXPORTER="none",
               OTEL_LOGS_EXPORTER="none", OTEL_SERVICE_NAME="flujo-dashboard",
               OTEL_PYTHON_FLUJO_THRESHOLDS=SCOPED, PYTHONPATH=APP_PYTHONPATH)
    instrument = Path(sys.executable).parent / "opentelemetry-instrument"
    # Files, not pipes: flujo logs at INFO, and a full pipe would stop the app.
    app = subprocess.Popen(
        [str(instrument), sys.executable, str(HERE / "flujo_dashboard_workload.py"), str(stop)],
        cwd=tmp_path, env=env, stdout=(tmp_path / "stdout.txt").open("w"),
        stderr=(tmp_path / "stderr.txt").open("w"))
    (tmp_path / "prometheus").mkdir()
    prometheus = Prometheus(tmp_path / "prometheus")
    try:
        prometheus.add_target("app", f"127.0.0.1:{port}")
        yield prometheus, stop
        stop.touch()
        assert app.wait(timeout=60) == 0, (tmp_path / "stderr.txt").read_text()[-3000:]
    finally:
        prometheus.stop()
        if app.poll() is None:
            app.kill()
            app.wait(timeout=10)


def test_every_expanded_panel_has_data_and_every_collapsed_one_is_what_flujo_never_reports(
        deployment: tuple[Prometheus, Path]) -> None:
    prometheus, _stop = deployment
    rules = effective_rules(load_config({"OTEL_PYTHON_FLUJO_THRESHOLDS": SCOPED}))
    board = grafana.dashboard(rules, Naming.PYTHON)
    rows = [p for p in board["panels"] if p["type"] == "row"]
    shown = [p for p in board["panels"] if p["type"] != "row"]  # the overview table too
    hidden = [p for r in rows if r["collapsed"] for p in r["panels"]]
    assert shown[0]["title"] == "Thresholds exceeded now" and hidden

    # Once there, a sample stays in the 5-minute range: only the empty ones are re-run.
    empty = [(p["title"], t) for p in shown for t in p["targets"]]

    def all_drawn() -> bool:
        empty[:] = [(title, t) for title, t in empty if not has_data(prometheus, t)]
        return not empty

    try:
        wait_for(all_drawn, 60, "every query of every expanded panel to return data")
    except AssertionError as error:
        stuck = [f"{title}: {t['expr']}" for title, t in empty]
        raise AssertionError(f"{error}; still empty: {stuck}") from None

    runs = next(p for p in shown if p["description"].endswith(f"({RUNS.name}, {RUNS.unit})"))
    assert len(runs["targets"]) == len(RUN_OUTCOMES)  # each outcome returned data above
    budget = next(p for p in shown if p["title"] == "usage_limit.utilization")
    assert budget["targets"][-1]["refId"] == "S"  # budgeted's own limit, drawn

    # With all of that in the range, the collapsed rows' panels have nothing to show.
    assert [p["title"] for p in hidden
            if any(has_data(prometheus, t) for t in p["targets"])] == []

    # What the deployment exported is what the catalog says flujo reports.
    start = str(time.time() - RANGE_S)
    names = {s["__name__"] for s in prometheus.api(
        "series", **{"match[]": '{__name__=~"flujo_.+"}', "start": start})}
    exported = {m.name for m in METRICS if metric_series(m, Naming.PYTHON) in names}
    exported |= {m.name for m in SYNC_METRICS if series_name(
        m.name, m.unit, m.kind, Naming.PYTHON) + ("_bucket" if m.kind is Kind.HISTOGRAM
                                                 else "") in names}
    assert exported == {m.name for m in (*METRICS, *SYNC_METRICS) if reported_by_flujo(m)}
