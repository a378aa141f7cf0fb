"""The generated Grafana dashboard: rows per category, a panel per metric in its unit,
the rules' limits as threshold lines, the threshold states, an executor variable."""

from __future__ import annotations

from typing import Any

from opentelemetry.instrumentation.flujo._internal.catalog import (
    CATEGORIES,
    EXECUTION_DURATION,
    METRICS,
    MIB,
    PREFIX,
    RUN_DURATION,
    RUNS,
    STEP_COST,
    SYNC_METRICS,
    Direction,
)
from opentelemetry.instrumentation.flujo._internal.thresholds.rules import Rule, default_rules
from opentelemetry.instrumentation.flujo.tools.cli import main
from opentelemetry.instrumentation.flujo.tools.generate import grafana
from opentelemetry.instrumentation.flujo.tools.generate.naming import Naming, metric_series


def panels(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["description"].rsplit("(", 1)[1].split(",")[0]: p
            for p in board["panels"] if p["type"] == "timeseries"}


def steps(panel: dict[str, Any]) -> list[tuple[str, float | None]]:
    return [(s["color"], s["value"])
            for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]


def test_a_row_per_category_and_a_panel_per_metric() -> None:
    board = grafana.dashboard(default_rules(), Naming.COLLECTOR)
    rows = [p["title"] for p in board["panels"] if p["type"] == "row"]
    assert rows == [c.replace("_", " ") for c in CATEGORIES]
    by_metric = panels(board)
    assert set(by_metric) == {m.name for m in (*METRICS, *SYNC_METRICS)}
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    units = {name: p["fieldConfig"]["defaults"]["unit"] for name, p in by_metric.items()}
    assert units[PREFIX + "memory.usage"] == "bytes"
    assert units[PREFIX + "execution.avg_duration"] == "s"
    assert units[PREFIX + "cache.hit_ratio"] == "percentunit"
    assert units[PREFIX + "executions"] == "cps"
    assert units[PREFIX + "spend.cost"] == units[STEP_COST.name] == "currencyUSD"
    assert units[EXECUTION_DURATION.name] == units[RUN_DURATION.name] == "s"


def test_histograms_are_drawn_as_quantiles_against_the_limits_they_were_sized_for() -> None:
    board = panels(grafana.dashboard(default_rules(), Naming.COLLECTOR))
    duration = board[EXECUTION_DURATION.name]
    assert [t["expr"] for t in duration["targets"]] == [
        f"histogram_quantile({q}, sum by (le, flujo_executor_name) (rate("
        'flujo_executor_execution_duration_seconds_bucket{flujo_executor_name=~"$executor"}'
        "[$__rate_interval])))" for q in (0.5, 0.95, 0.99)]
    # execution.avg_duration's warning and critical, execution.max_duration's warning
    assert [s[1] for s in steps(duration)] == [None, 1.0, 5.0, 5.0]
    run = board[RUN_DURATION.name]
    assert "flujo_pipeline_run_duration_seconds_bucket{flujo_pipeline_name=~" \
        in run["targets"][0]["expr"]


def test_spend_is_drawn_per_hour_and_runs_by_outcome() -> None:
    board = panels(grafana.dashboard(default_rules(), Naming.PYTHON))
    assert board[STEP_COST.name]["targets"][0]["expr"] == (
        "sum by (flujo_pipeline_name, flujo_step_name, gen_ai_request_model, "
        'gen_ai_provider_name) (rate(flujo_step_cost_total{flujo_pipeline_name=~"$executor"}'
        "[$__rate_interval]) * 3600)")
    assert board[PREFIX + "spend.cost"]["targets"][0]["expr"] == (
        'rate(flujo_executor_spend_cost_total{flujo_executor_name=~"$executor"}'
        "[$__rate_interval]) * 3600")
    runs = board[RUNS.name]["targets"][0]
    assert runs["legendFormat"] == "{{flujo_pipeline_name}} {{flujo_run_outcome}}"


def test_queries_use_the_naming_and_the_executor_variable() -> None:
    for naming in Naming:
        board = grafana.dashboard(default_rules(), naming)
        for metric in METRICS:
            expr = panels(board)[metric.name]["targets"][0]["expr"]
            assert metric_series(metric, naming) + '{flujo_executor_name=~"$executor"}' in expr
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["executor"]["query"] == "label_values(flujo_executor_name)"
    status = next(p for p in board["panels"] if p["type"] == "table")
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
