"""The generated Grafana dashboard: what flujo reports first (expanded rows), the rest in
collapsed rows, a panel per metric in its unit saying where its numbers come from, the
rules' limits as threshold lines, the threshold states, an executor variable."""

from __future__ import annotations

from typing import Any

from opentelemetry.instrumentation.flujo._internal.catalog import (
    BY_NAME,
    EXECUTION_DURATION,
    FLUJO_STATS,
    METRICS,
    MIB,
    PREFIX,
    RUN_DURATION,
    RUN_OUTCOMES,
    RUNS,
    STATS,
    STEP_COST,
    SYNC_BY_NAME,
    SYNC_METRICS,
    Direction,
    reported_by_flujo,
)
from opentelemetry.instrumentation.flujo._internal.thresholds.rules import Rule, default_rules
from opentelemetry.instrumentation.flujo.tools.cli import main
from opentelemetry.instrumentation.flujo.tools.generate import grafana
from opentelemetry.instrumentation.flujo.tools.generate.naming import Naming, metric_series


def metric_of(panel: dict[str, Any]) -> str:
    return str(panel["description"].rsplit("(", 1)[1].split(",")[0])


def panels(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {metric_of(p): p for p in grafana.all_panels(board) if p["type"] == "timeseries"}


def steps(panel: dict[str, Any]) -> list[tuple[str, float | None]]:
    return [(s["color"], s["value"])
            for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]


def test_a_panel_per_metric_in_its_unit() -> None:
    board = grafana.dashboard(default_rules(), Naming.COLLECTOR)
    by_metric = panels(board)
    assert set(by_metric) == {m.name for m in (*METRICS, *SYNC_METRICS)}
    assert len(by_metric) == len([p for p in grafana.all_panels(board)
                                  if p["type"] == "timeseries"])
    ids = [p["id"] for p in grafana.all_panels(board)]
    assert len(ids) == len(set(ids))
    units = {name: p["fieldConfig"]["defaults"]["unit"] for name, p in by_metric.items()}
    assert units[PREFIX + "memory.usage"] == "bytes"
    assert units[PREFIX + "execution.avg_duration"] == "s"
    assert units[PREFIX + "cache.hit_ratio"] == "percentunit"
    assert units[PREFIX + "executions"] == "cps"
    assert units[PREFIX + "spend.cost"] == units[STEP_COST.name] == "currencyUSD"
    assert units[EXECUTION_DURATION.name] == units[RUN_DURATION.name] == "s"


def test_it_opens_on_what_flujo_reports_and_collapses_the_rest() -> None:
    board = grafana.dashboard(default_rules(), Naming.PYTHON)
    top = board["panels"]
    assert top[0]["title"] == "Thresholds exceeded now"
    rows = [p for p in top if p["type"] == "row"]
    expanded = [r for r in rows if not r["collapsed"]]
    collapsed = [r for r in rows if r["collapsed"]]
    assert [r["title"] for r in expanded] == [
        "Pipeline runs and spend", "Executions", "Process memory"]
    assert rows == expanded + collapsed  # every expanded row first
    assert all("get_optimization_stats()" in r["title"] for r in collapsed)
    # An expanded row's panels follow it at the top level; a collapsed row holds its own.
    assert all(r["panels"] == [] for r in expanded)
    visible = {metric_of(p) for p in top if p["type"] == "timeseries"}
    hidden = {metric_of(p) for r in collapsed for p in r["panels"]}
    every = [*METRICS, *SYNC_METRICS]
    assert visible == {m.name for m in every if reported_by_flujo(m)}
    assert hidden == {m.name for m in every if not reported_by_flujo(m)}
    # The 19: object pool (4), clean-up, cache size/max/utilization/evictions/
    # misses, wait time, contention, queue, cached patterns, circuit breaker, telemetry (4)
    assert len(hidden) == 19
    order = [metric_of(p) for p in top if p["type"] == "timeseries"]
    assert order[:4] == [RUNS.name, RUN_DURATION.name, STEP_COST.name,
                         PREFIX + "usage_limit.utilization"]
    executions = order.index(PREFIX + "executions")
    assert order[executions:executions + 6] == [
        PREFIX + "executions", EXECUTION_DURATION.name, PREFIX + "execution.failure_ratio",
        PREFIX + "error.ratio", PREFIX + "error.recovery_ratio", PREFIX + "cache.hit_ratio"]
    assert order[-3:] == [PREFIX + "memory.usage", PREFIX + "memory.pressure",
                          PREFIX + "memory.allocation_rate"]


def test_flujo_stats_are_catalog_stats() -> None:
    assert {s.id for s in STATS} >= FLUJO_STATS
    assert set(grafana.NO_DATA) <= {*BY_NAME, *SYNC_BY_NAME}


def test_every_panel_says_where_its_numbers_come_from_and_what_no_data_means() -> None:
    board = grafana.dashboard(default_rules(), Naming.COLLECTOR)
    for panel in grafana.all_panels(board):
        if panel["type"] == "row":
            continue
        assert "No data: " in panel["description"], panel["title"]
    by_metric = panels(board)
    pool = by_metric[PREFIX + "object_pool.utilization"]["description"]
    assert "stats['memory']['object_pool_utilization']" in pool
    assert "flujo 0.6 never reports it" in pool
    budget = by_metric[PREFIX + "usage_limit.utilization"]["description"]
    assert "No data: no run with UsageLimits in flight" in budget
    average = by_metric[PREFIX + "execution.avg_duration"]["description"]
    assert "measured by the flujo wrapper" in average
    assert "No data: no execution ended since the previous collection" in average
    assert "Recorded by the flujo wrapper" in by_metric[RUNS.name]["description"]


def test_histograms_are_drawn_as_quantiles_against_the_limits_they_were_sized_for() -> None:
    board = panels(grafana.dashboard(default_rules(), Naming.COLLECTOR))
    duration = board[EXECUTION_DURATION.name]
    assert [t["expr"] for t in duration["targets"]] == [
        f"histogram_quantile({q}, sum by (le, flujo_executor_name) (rate("
        'flujo_executor_execution_duration_seconds_bucket{flujo_executor_name=~"$executor"}'
        "[$__rate_interval])))" for q in (0.5, 0.95, 0.99)]
    # execution.avg_duration's warning and critical, execution.max_duration's warning
    assert [s[1] for s in steps(duration)] == [None, 1.0, 5.0, 5.0]
    assert all(t["exemplar"] is True for t in duration["targets"])
    run = board[RUN_DURATION.name]
    assert all(t["exemplar"] is True for t in run["targets"])
    assert "flujo_pipeline_run_duration_seconds_bucket{flujo_pipeline_name=~" \
        in run["targets"][0]["expr"]


def test_spend_is_drawn_per_hour_and_runs_by_outcome() -> None:
    board = panels(grafana.dashboard(default_rules(), Naming.PYTHON))
    # by pipeline and model (the step's share is one query away)
    assert board[STEP_COST.name]["targets"][0]["expr"] == (
        "sum by (flujo_pipeline_name, gen_ai_request_model, gen_ai_provider_name) "
        '(rate(flujo_step_cost_total{flujo_pipeline_name=~"$executor"}'
        "[$__rate_interval]) * 3600)")
    assert board[PREFIX + "spend.cost"]["targets"][0]["expr"] == (
        'rate(flujo_executor_spend_cost_total{flujo_executor_name=~"$executor"}'
        "[$__rate_interval]) * 3600")
    # A series per outcome the catalog knows, 0 for a pipeline that ran but had none.
    runs = board[RUNS.name]["targets"]
    assert [t["expr"] for t in runs] == [
        'label_replace(sum by (flujo_pipeline_name) (rate(flujo_pipeline_runs_total'
        f'{{flujo_pipeline_name=~"$executor", flujo_run_outcome="{outcome}"}}'
        '[$__rate_interval])) or 0 * sum by (flujo_pipeline_name) (rate('
        'flujo_pipeline_runs_total{flujo_pipeline_name=~"$executor"}[$__rate_interval])), '
        f'"flujo_run_outcome", "{outcome}", "", "")' for outcome in RUN_OUTCOMES]
    assert {t["legendFormat"] for t in runs} == {"{{flujo_pipeline_name}} {{flujo_run_outcome}}"}


def test_queries_use_the_naming_and_the_executor_variable() -> None:
    for naming in Naming:
        board = grafana.dashboard(default_rules(), naming)
        for metric in METRICS:
            expr = panels(board)[metric.name]["targets"][0]["expr"]
            assert metric_series(metric, naming) + '{flujo_executor_name=~"$executor"}' in expr
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["executor"]["query"] == "label_values(flujo_executor_name)"
    status = board["panels"][0]
    assert status["targets"][0]["expr"].startswith(
        'label_replace({__name__=~"flujo_executor_threshold_status_.+", '
        'flujo_executor_name=~"$executor"}')


def test_threshold_lines_come_from_the_rules() -> None:
    rules = (
        Rule(PREFIX + "memory.usage", "warning", Direction.ABOVE, 100 * MIB),
        Rule(PREFIX + "memory.usage", "critical", Direction.ABOVE, 200 * MIB),
        Rule(PREFIX + "cache.hit_ratio", "warning", Direction.BELOW, 0.3),
        Rule(PREFIX + "cache.hit_ratio", "critical", Direction.BELOW, 0.1),
        Rule(PREFIX + "cache.size", "warning", Direction.ABOVE, 0.7,
             relative_to=PREFIX + "cache.max"),
    )
    by_metric = panels(grafana.dashboard(rules, Naming.PYTHON))
    assert steps(by_metric[PREFIX + "memory.usage"]) == [
        ("green", None), ("orange", 100 * MIB), ("red", 200 * MIB)]
    assert steps(by_metric[PREFIX + "cache.hit_ratio"]) == [
        ("red", None), ("orange", 0.1), ("green", 0.3)]
    size = by_metric[PREFIX + "cache.size"]
    assert size["targets"][1]["expr"] == \
        '0.7 * flujo_executor_cache_max{flujo_executor_name=~"$executor"}'
    assert steps(by_metric[PREFIX + "queue.size"]) == [("green", None)]


def test_per_pipeline_limits_are_drawn_from_the_engines_per_name_gauge() -> None:
    scoped = (Rule(PREFIX + "execution.avg_duration", "warning", Direction.ABOVE, 1.0),
              Rule(PREFIX + "execution.avg_duration", "warning", Direction.ABOVE, 2.0,
                   scope="checkout"))
    panel = panels(grafana.dashboard(scoped, Naming.COLLECTOR))[
        PREFIX + "execution.avg_duration"]
    # The unscoped limit is the panel's threshold line; the scoped one a series that
    # exists only for the names whose limit differs.
    assert steps(panel) == [("green", None), ("orange", 1.0)]
    assert panel["targets"][1]["expr"] == ('flujo_executor_threshold_execution_avg_duration_'
                                           'seconds{flujo_executor_name=~"$executor"}')
    assert [o["matcher"]["options"] for o in panel["fieldConfig"]["overrides"]] == [
        ".* warning limit"]


def test_cli_writes_the_dashboard(tmp_path: Any) -> None:
    out = tmp_path / "d.json"
    assert main(["dashboard", "grafana", "--naming", "python", "-o", str(out)]) == 0
    assert out.read_text() == grafana.render(default_rules(), Naming.PYTHON)
