"""Generated alerting rules, proven by promtool: each alert fires past its limit after
``for`` and not sooner, stays quiet at the limit, and says so in human units."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from opentelemetry.instrumentation.flujo._internal.catalog import MIB, PREFIX, Direction
from opentelemetry.instrumentation.flujo._internal.config import Config
from opentelemetry.instrumentation.flujo._internal.thresholds.overrides import effective_rules
from opentelemetry.instrumentation.flujo._internal.thresholds.rules import Rule, default_rules
from opentelemetry.instrumentation.flujo.tools.cli import main
from opentelemetry.instrumentation.flujo.tools.generate import (
    humanize,
    prometheus_rules,
    promtool_tests,
)
from opentelemetry.instrumentation.flujo.tools.generate.naming import Naming

from conftest import require

DEFAULTS = default_rules()
OVERRIDES = (
    Rule(PREFIX + "memory.usage", "warning", Direction.ABOVE, 100 * MIB),
    Rule(PREFIX + "execution.avg_duration", "warning", Direction.ABOVE, 0.25),
    Rule(PREFIX + "execution.failure_ratio", "critical", Direction.ABOVE, 0.5),
    Rule(PREFIX + "cache.size", "critical", Direction.ABOVE, 0.95,
         relative_to=PREFIX + "cache.max"),
    Rule(PREFIX + "circuit_breaker.status", "warning", Direction.ABOVE, state="half_open"),
    Rule(PREFIX + "memory.allocation_rate", "critical", Direction.ABOVE, 3.5 * MIB),
    Rule(PREFIX + "cache.evictions", "warning", Direction.ABOVE, 2.5, rate=True),
    Rule(PREFIX + "cache.misses", "critical", Direction.ABOVE, 0, rate=True),
    Rule(PREFIX + "telemetry.metrics_collected", "critical", Direction.BELOW, 1, rate=True),
)
# What effective_rules gives for these overrides: each replaces the default of its
# metric and level.
WITH_OVERRIDES = OVERRIDES + tuple(
    r for r in DEFAULTS if (r.metric, r.level) not in {(o.metric, o.level) for o in OVERRIDES})


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    require(shutil.which("promtool") is not None, "promtool (Debian package prometheus)")
    return subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)


# Per-pipeline rules: an exact name, globs of different specificity on one metric, a
# character class, and scoped state, ratio, relative and rate rules.
SCOPED = effective_rules(Config(thresholds=(
    "checkout:execution.avg_duration: warning>2s; check*:execution.avg_duration: critical>9s;"
    "payments-[ab]?:memory.usage: warning>100MiB; eu.*:execution.failure_ratio: warning>5%;"
    "checkout:circuit_breaker.status: warning=half_open;"
    "*-batch:cache.size: warning>0.95*cache.max; checkout:cache.evictions: warning>5/s")))


def write_pair(directory: Path, rules: tuple[Rule, ...], tested: tuple[Rule, ...], *,
               naming: Naming, for_: str, window: str, keep: str | None = None) -> None:
    (directory / "rules.yml").write_text(
        prometheus_rules.render(rules, naming, for_, window, keep, window), encoding="utf-8")
    (directory / "rules.test.yml").write_text(
        promtool_tests.render(tested, naming, "rules.yml", for_, window, keep, window),
        encoding="utf-8")


@pytest.mark.parametrize(("rules", "naming", "for_", "window", "keep"), [
    (DEFAULTS, Naming.COLLECTOR, "1m", "5m", None),
    (DEFAULTS, Naming.PYTHON, "0s", "2m", None),
    (WITH_OVERRIDES, Naming.COLLECTOR, "2m30s", "10m", None),
    (WITH_OVERRIDES, Naming.PYTHON, "1m", "5m", "1m30s"),
    (SCOPED, Naming.COLLECTOR, "30s", "5m", "2m"),
    (SCOPED, Naming.PYTHON, "0s", "2m", None),
], ids=["defaults-collector", "defaults-python-for0", "overrides-collector",
        "overrides-python-keep", "scoped-collector-keep", "scoped-python"])
def test_generated_rules_pass_promtool(tmp_path: Path, rules: tuple[Rule, ...], naming: Naming,
                                       for_: str, window: str, keep: str | None) -> None:
    write_pair(tmp_path, rules, rules, naming=naming, for_=for_, window=window, keep=keep)
    checked = promtool("check", "rules", "rules.yml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules)} rules found" in checked.stdout
    tested = promtool("test", "rules", "rules.test.yml", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr


@pytest.mark.parametrize("change", [
    {"limit": 3 * 500 * MIB},          # the limit is wrong
    {"direction": Direction.BELOW},    # the comparison is the wrong way round
], ids=["limit", "direction"])
def test_a_wrong_rule_fails_its_promtool_test(tmp_path: Path, change: dict[str, object]) -> None:
    wrong = tuple(replace(r, **change) if (r.metric, r.level) == (PREFIX + "memory.usage",
                                                                   "warning") else r
                  for r in DEFAULTS)
    write_pair(tmp_path, wrong, DEFAULTS, naming=Naming.COLLECTOR, for_="1m", window="5m")
    tested = promtool("test", "rules", "rules.test.yml", cwd=tmp_path)
    assert tested.returncode != 0
    assert "FlujoMemoryUsageWarning" in tested.stdout + tested.stderr


def test_scoped_rules_exclude_each_other_in_their_matchers() -> None:
    alerts = [a for a in prometheus_rules.alerts(SCOPED, Naming.COLLECTOR)
              if a.name == "FlujoExecutionAvgDurationWarning"]
    assert [a.expr for a in alerts] == [
        'flujo_executor_execution_avg_duration_seconds{flujo_executor_name!~"checkout|check.*"}'
        " > 1",
        'flujo_executor_execution_avg_duration_seconds{flujo_executor_name=~"checkout"} > 2',
        'flujo_executor_execution_avg_duration_seconds{flujo_executor_name=~"check.*", '
        'flujo_executor_name!~"checkout"} > 1',
    ]
    eu = next(a for a in prometheus_rules.alerts(SCOPED, Naming.COLLECTOR)
              if a.rule.scope == "eu.*")
    assert 'flujo_executor_name=~"eu\\\\..*"' in eu.expr  # the dot is literal


def test_a_scoped_rule_without_its_exclusion_fires_twice_and_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without the unscoped rule's exclusion, a scoped name is checked by both rules.
    monkeypatch.setattr(prometheus_rules, "scope_matchers", lambda rule, _rules: [
        f'{prometheus_rules.EXECUTOR_LABEL}=~"{prometheus_rules.glob_regex(rule.scope)}"'
    ] if rule.scope else [])
    (tmp_path / "rules.yml").write_text(
        prometheus_rules.render(SCOPED, Naming.COLLECTOR, "0s", "5m"), encoding="utf-8")
    monkeypatch.undo()
    (tmp_path / "rules.test.yml").write_text(
        promtool_tests.render(SCOPED, Naming.COLLECTOR, "rules.yml", "0s", "5m"),
        encoding="utf-8")
    tested = promtool("test", "rules", "rules.test.yml", cwd=tmp_path)
    assert tested.returncode != 0
    assert "FlujoExecutionAvgDurationWarning" in tested.stdout + tested.stderr


# A windowed count as the generated rules write it: (x - (x offset w or x * 0)).
GROWN = re.compile(r"\((?P<x>\w+(?:\{[^}]*\})?) - \((?P=x) offset (?P<w>\w+) "
                   r"or (?P=x) \* 0\)\)")


def test_a_failure_ratio_of_rates_fails_its_promtool_test(tmp_path: Path) -> None:
    """The ratio of two rate()s (the rules before the one ratio definition) is not the
    in-process ratio: the ``late`` sequence tells them apart (rate() ignores the value
    its failure series starts with), where ``bursty`` cannot."""
    write_pair(tmp_path, DEFAULTS, DEFAULTS, naming=Naming.COLLECTOR, for_="0s", window="5m")
    rules = (tmp_path / "rules.yml").read_text(encoding="utf-8")
    of_rates, swapped = GROWN.subn(r"(rate(\g<x>[\g<w>]))", rules)
    assert swapped == 2  # the failed and the total count
    (tmp_path / "rules.yml").write_text(of_rates, encoding="utf-8")
    tested = promtool("test", "rules", "rules.test.yml", cwd=tmp_path)
    assert tested.returncode != 0
    failures = tested.stdout + tested.stderr
    assert 'flujo_executor_name="late"' in failures, failures
    assert 'flujo_executor_name="bursty"' not in failures, failures


def test_a_wrong_keep_firing_for_fails_its_promtool_test(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(
        prometheus_rules.render(DEFAULTS, Naming.COLLECTOR, "0s", "5m", "1m"), encoding="utf-8")
    (tmp_path / "rules.test.yml").write_text(promtool_tests.render(
        DEFAULTS, Naming.COLLECTOR, "rules.yml", "0s", "5m", "2m"), encoding="utf-8")
    assert promtool("test", "rules", "rules.test.yml", cwd=tmp_path).returncode != 0


def test_for_and_keep_firing_for_default_to_the_engines_settings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_PYTHON_FLUJO_THRESHOLD_FOR", "2m")
    monkeypatch.setenv("OTEL_PYTHON_FLUJO_THRESHOLD_KEEP_FOR", "90s")
    rules = yaml.safe_load(prometheus_rules.render(DEFAULTS, Naming.COLLECTOR))
    first = rules["groups"][0]["rules"][0]
    assert (first["for"], first["keep_firing_for"]) == ("2m", "1m30s")
    monkeypatch.delenv("OTEL_PYTHON_FLUJO_THRESHOLD_KEEP_FOR")
    first = yaml.safe_load(prometheus_rules.render(DEFAULTS, Naming.COLLECTOR))["groups"][0][
        "rules"][0]
    assert "keep_firing_for" not in first  # 0s: left out, for Prometheus < 2.42
    monkeypatch.delenv("OTEL_PYTHON_FLUJO_THRESHOLD_FOR")
    first = yaml.safe_load(prometheus_rules.render(DEFAULTS, Naming.COLLECTOR))["groups"][0][
        "rules"][0]
    assert "for" not in first  # 0s, Prometheus's default: left out, as documented


def test_a_wrong_for_duration_fails_its_promtool_test(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(
        prometheus_rules.render(DEFAULTS, Naming.COLLECTOR, "0s"), encoding="utf-8")
    (tmp_path / "rules.test.yml").write_text(
        promtool_tests.render(DEFAULTS, Naming.COLLECTOR, "rules.yml", "1m"), encoding="utf-8")
    assert promtool("test", "rules", "rules.test.yml", cwd=tmp_path).returncode != 0


def test_expressions() -> None:
    alerts = {a.name: a for a in prometheus_rules.alerts(WITH_OVERRIDES, Naming.COLLECTOR)}
    assert alerts["FlujoMemoryUsageCritical"].expr == \
        "flujo_executor_memory_usage_bytes > 838860800"
    assert alerts["FlujoCacheHitRatioCritical"].expr == "flujo_executor_cache_hit_ratio < 0.1"
    assert alerts["FlujoCacheSizeWarning"].expr == \
        "flujo_executor_cache_size > 0.8 * flujo_executor_cache_max"
    assert alerts["FlujoCircuitBreakerStatusCritical"].expr == \
        'flujo_executor_circuit_breaker_status{flujo_circuit_breaker_state="open"} == 1'
    assert alerts["FlujoCacheEvictionsRateWarning"].expr == \
        "rate(flujo_executor_cache_evictions_total[5m]) > 2.5"
    # What each counter grew by over the ratio window, as the instrumentation's ratio.
    failed = 'flujo_executor_executions_total{flujo_execution_outcome="failure"}'
    every = "flujo_executor_executions_total"
    assert alerts["FlujoExecutionFailureRatioWarning"].expr == (
        f"sum without (flujo_execution_outcome) ({failed} - ({failed} offset 5m or {failed} * 0))"
        f" / sum without (flujo_execution_outcome) ({every} - ({every} offset 5m or {every} * 0))"
        " > 0.1")
    assert alerts["FlujoMemoryUsageWarning"].labels == {
        "severity": "warning", "flujo_threshold_metric": "flujo.executor.memory.usage"}


def test_rate_rule_on_a_gauge_is_refused() -> None:
    with pytest.raises(ValueError, match="not a counter"):
        prometheus_rules.alerts(
            [Rule(PREFIX + "queue.size", "warning", Direction.ABOVE, 1, rate=True)],
            Naming.COLLECTOR)


@pytest.mark.parametrize(("function", "value", "text"), [
    (humanize.humanize, 1234567, "1.235M"),
    (humanize.humanize, 0.0123, "12.3m"),
    (humanize.humanize1024, 500 * MIB, "500Mi"),
    (humanize.humanize1024, 2048, "2ki"),
    (humanize.humanize_duration, 90, "1m 30s"),
    (humanize.humanize_duration, 0.1, "100ms"),
    (humanize.humanize_duration, 93784, "1d 2h 3m 4s"),
    (humanize.humanize_percentage, 0.305, "30.5%"),
])
def test_humanize_matches_prometheus_template_functions(function: object, value: float,
                                                        text: str) -> None:
    assert callable(function)
    assert function(value) == text


def test_cli_writes_rules_and_tests_that_pass(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "tests").mkdir()
    code = main(["rules", "prometheus", "--naming", "python", "--for", "30s",
                 "-o", str(tmp_path / "rules.yml"),
                 "--tests", str(tmp_path / "tests" / "rules.test.yml")])
    assert code == 0
    tests = yaml.safe_load((tmp_path / "tests" / "rules.test.yml").read_text())
    assert tests["rule_files"] == ["../rules.yml"]
    tested = promtool("test", "rules", "rules.test.yml", cwd=tmp_path / "tests")
    assert tested.returncode == 0, tested.stdout
    assert main(["rules", "prometheus"]) == 0
    assert "flujo_executor_memory_pressure_ratio > 0.8" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["--for", "5 minutes"], "not a Prometheus duration"),
    (["--rate-window", "1x"], "not a Prometheus duration"),
    (["--tests", "t.yml"], "--tests needs -o"),
    (["-o", "/nonexistent-dir/rules.yml"], "cannot write /nonexistent-dir/rules.yml"),
])
def test_cli_usage_errors(argv: list[str], message: str,
                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "prometheus", *argv]) == 2
    assert message in capsys.readouterr().err
