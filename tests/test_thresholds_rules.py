"""Threshold rules: the defaults, the override syntax and its units, env, file and API."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from opentelemetry.instrumentation.flujo._internal import catalog
from opentelemetry.instrumentation.flujo._internal.catalog import MIB, Direction
from opentelemetry.instrumentation.flujo._internal.config import load_config
from opentelemetry.instrumentation.flujo._internal.thresholds import (
    Rule,
    default_rules,
    effective_rules,
)
from opentelemetry.instrumentation.flujo._internal.thresholds.overrides import MAX_FILE_BYTES

P = catalog.PREFIX


def rules_of(inline: str = "", path: str = "") -> dict[tuple[str, str], Rule]:
    env = {"OTEL_PYTHON_FLUJO_THRESHOLDS": inline, "OTEL_PYTHON_FLUJO_THRESHOLDS_FILE": path}
    return {(r.metric, r.level): r for r in effective_rules(load_config(env))}


def test_defaults_are_the_contracts() -> None:
    rules = {(r.metric, r.level): r for r in default_rules()}
    assert rules[(P + "memory.usage", "warning")].limit == 500 * MIB
    assert rules[(P + "memory.usage", "critical")].limit == 800 * MIB
    assert rules[(P + "execution.avg_duration", "critical")].limit == 5.0
    hit = rules[(P + "cache.hit_ratio", "critical")]
    assert (hit.direction, hit.limit) == (Direction.BELOW, 0.1)
    assert rules[(P + "error.recovery_ratio", "warning")].direction is Direction.BELOW
    size = rules[(P + "cache.size", "warning")]
    assert (size.limit, size.relative_to) == (0.8, P + "cache.max")
    assert rules[(P + "circuit_breaker.status", "critical")].state == "open"
    assert rules[(P + "execution.failure_ratio", "warning")].limit == 0.1
    # No rate rule by default, and nothing for metrics the contract leaves without one.
    assert not any(r.rate for r in rules.values())
    assert (P + "cache.evictions", "warning") not in rules
    assert effective_rules(load_config({})) == default_rules()


@pytest.mark.parametrize(("text", "expected"), [
    ("memory.usage: warning>600MiB", 600 * MIB),
    ("memory.usage: warning>600MB", 600 * MIB),  # the guide's MB: rss / 1024 / 1024
    ("memory.usage: warning>629145600By", 600 * MIB),
    ("memory.usage: warning>0.5GiB", 512 * MIB),
    ("flujo.executor.memory.usage:warning > 600 MiB", 600 * MIB),
])
def test_byte_limits_say_their_unit(text: str, expected: float) -> None:
    assert rules_of(text)[(P + "memory.usage", "warning")].limit == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("execution.avg_duration: warning>1500ms", 1.5),
    ("execution.avg_duration: warning>1.5s", 1.5),
    ("execution.avg_duration: warning>1500000us", 1.5),
])
def test_time_limits_say_their_unit(text: str, expected: float) -> None:
    assert rules_of(text)[(P + "execution.avg_duration", "warning")].limit == \
        pytest.approx(expected)


def test_percent_and_ratio_inputs_are_the_same_rule() -> None:
    percent = rules_of("cache.hit_ratio: warning<40%, critical<15%")
    ratio = rules_of("cache.hit_ratio: warning<0.4, critical<0.15")
    for level in ("warning", "critical"):
        key = (P + "cache.hit_ratio", level)
        assert percent[key].limit == pytest.approx(ratio[key].limit)
        assert percent[key].direction is ratio[key].direction is Direction.BELOW


def test_relative_rate_state_and_off() -> None:
    rules = rules_of(
        "cache.size: warning>0.9*cache.max, critical>95%*cache.max; "
        "cache.evictions: warning>10/s, critical>1200/min; "
        "circuit_breaker.status: warning=half_open; "
        "telemetry.overhead: off; memory.usage: critical=off; queue.size: warning>100")
    assert rules[(P + "cache.size", "critical")].relative_to == P + "cache.max"
    assert rules[(P + "cache.size", "critical")].limit == pytest.approx(0.95)
    evictions = rules[(P + "cache.evictions", "critical")]
    assert (evictions.rate, evictions.limit) == (True, pytest.approx(20.0))
    assert rules[(P + "circuit_breaker.status", "warning")].state == "half_open"
    assert rules[(P + "circuit_breaker.status", "critical")].state == "open"
    assert (P + "telemetry.overhead", "warning") not in rules
    assert (P + "memory.usage", "critical") not in rules
    assert (P + "memory.usage", "warning") in rules
    assert rules[(P + "queue.size", "warning")].limit == 100


@pytest.mark.parametrize(("entry", "why"), [
    ("nosuch.metric: warning>1", "not a flujo metric"),
    ("memory.usage: warning>600", "needs one of the units"),  # bytes? MiB? say which
    ("execution.avg_duration: warning>2", "needs one of the units"),
    ("error.ratio: warning>40", "not a ratio in [0, 1]"),  # 40 what? write 40%
    ("error.ratio: warning>-0.1", "negative"),
    ("error.ratio: warning>0.4, critical>0.2", "beyond critical"),
    ("cache.hit_ratio: warning<0.1, critical<0.3", "beyond critical"),
    ("error.ratio: warning<0.05", "below a limit but critical is above"),
    ("cache.evictions: warning>10", "is a counter"),
    ("circuit_breaker.status: critical>1", "is a state"),
    ("cache.size: warning>0.5*nosuch", "is not a metric"),
    ("memory.usage: warning>1*cache.max", "not a capacity"),
    ("memory.usage: panic>1MiB", "does not start with warning or critical"),
    ("memory.usage warning>1MiB", "expected metric:"),
])
def test_bad_rules_warn_once_and_the_rest_still_apply(
        entry: str, why: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        rules = rules_of(f"queue.size: warning>70; {entry}; object_pool.utilization: warning>85%")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert why in warnings[0] and "OTEL_PYTHON_FLUJO_THRESHOLDS" in warnings[0]
    assert entry.split(":", maxsplit=1)[0].strip() in warnings[0]
    assert rules[(P + "queue.size", "warning")].limit == 70
    assert rules[(P + "object_pool.utilization", "warning")].limit == pytest.approx(0.85)
    defaults = {(r.metric, r.level): r for r in default_rules()}
    for key, rule in defaults.items():  # the bad entry changed nothing
        if key[0] not in (P + "queue.size", P + "object_pool.utilization"):
            assert rules[key] == rule


TOML = """
# the guide's AlertManager levels, made stricter
[memory.usage]
warning = ">400MB"
critical = ">600MiB"

["cache.hit_ratio"]
warning = "<50%"

["flujo.executor.cache.evictions"]
warning = ">5/s"

["telemetry.overhead"]
warning = "off"

[error.ratio]
warning = ">0.5"   # beyond the default critical (30%): ignored with a warning
"""


def test_overrides_from_a_toml_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "thresholds.toml"
    path.write_text(TOML)
    with caplog.at_level(logging.WARNING):
        rules = rules_of(path=str(path))
    assert rules[(P + "memory.usage", "warning")].limit == 400 * MIB
    assert rules[(P + "memory.usage", "critical")].limit == 600 * MIB
    assert rules[(P + "cache.hit_ratio", "warning")].limit == 0.5
    assert rules[(P + "cache.evictions", "warning")].rate
    assert (P + "telemetry.overhead", "warning") not in rules
    assert rules[(P + "error.ratio", "warning")].limit == 0.1
    assert "error.ratio" in caplog.text and "beyond critical" in caplog.text


def test_overrides_from_a_json_file_and_env_wins(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.json"
    path.write_text(json.dumps({"memory.usage": {"warning": ">400MiB"},
                                "queue.size": {"warning": ">10"}}))
    rules = rules_of("queue.size: warning>20", str(path))
    assert rules[(P + "memory.usage", "warning")].limit == 400 * MIB
    assert rules[(P + "queue.size", "warning")].limit == 20


@pytest.mark.parametrize(("suffix", "content"), [
    ("toml", b"[memory.usage\nwarning="), ("toml", b"\xff\xfe"), ("json", b"[1, 2]"),
    ("toml", b"#" * (MAX_FILE_BYTES + 1)), ("json", b"[" * 200_000),
    ("json", b'{"a":' * 50_000 + b"1" + b"}" * 50_000)])
def test_an_unusable_file_warns_and_the_defaults_stay(
        tmp_path: Path, suffix: str, content: bytes, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / f"bad.{suffix}"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        assert rules_of(path=str(path)) == {(r.metric, r.level): r for r in default_rules()}
    assert "OTEL_PYTHON_FLUJO_THRESHOLDS_FILE" in caplog.text and str(path) in caplog.text


def test_a_missing_file_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        rules_of(path=str(tmp_path / "absent.toml"))
    assert "absent.toml" in caplog.text


def scoped_of(inline: str = "", path: str = "") -> dict[tuple[str | None, str, str], float]:
    """{(scope, metric, level): limit} of the effective rules, scoped ones included."""
    env = {"OTEL_PYTHON_FLUJO_THRESHOLDS": inline, "OTEL_PYTHON_FLUJO_THRESHOLDS_FILE": path}
    return {(r.scope, r.metric.removeprefix(P), r.level): r.limit
            for r in effective_rules(load_config(env))}


SCOPED_TOML = """
["checkout:execution.avg_duration"]
warning = ">2s"

["batch-*:execution.avg_duration"]
warning = ">30s"
critical = ">2min"
"""


def test_per_pipeline_rules_read_the_same_in_the_variable_and_the_file(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.toml"
    path.write_text(SCOPED_TOML)
    from_file = scoped_of(path=str(path))
    from_env = scoped_of("checkout:execution.avg_duration: warning>2s; "
                         "batch-*:execution.avg_duration: warning>30s, critical>2min")
    assert from_file == from_env
    # A scope changes only the levels it names: checkout keeps the unscoped critical.
    assert from_env[("checkout", "execution.avg_duration", "warning")] == 2.0
    assert from_env[("checkout", "execution.avg_duration", "critical")] == 5.0
    assert from_env[("batch-*", "execution.avg_duration", "critical")] == 120.0
    assert from_env[(None, "execution.avg_duration", "warning")] == 1.0  # unscoped: as before


def test_scopes_come_most_specific_first_later_wins_ties() -> None:
    rules = effective_rules(load_config({"OTEL_PYTHON_FLUJO_THRESHOLDS": (
        "*:queue.size: warning>1; check*:queue.size: warning>2; checkout:queue.size: "
        "warning>3; checkout-*:queue.size: warning>4; c?eck*:queue.size: warning>5; "
        "check*:queue.size: warning>6")}))
    assert [(r.scope, r.limit) for r in rules if r.scope] == [
        ("checkout", 3), ("checkout-*", 4), ("check*", 6), ("c?eck*", 5), ("*", 1)]


@pytest.mark.parametrize(("entry", "problem"), [
    ("check,out:queue.size: warning>3", "is not an executor name or glob"),
    (" :queue.size: warning>3", "is not an executor name or glob"),
    ("checkout:queue.size: off", "cannot switch every level off"),
    ("checkout:memory.usage: warning>900MiB", "beyond critical"),
    ("checkout:nope: warning>1", "not a flujo metric"),
])
def test_bad_scoped_entries_warn_and_are_ignored(entry: str, problem: str,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        rules = scoped_of(entry + "; queue.size: warning>7")
    assert problem in caplog.text
    assert not [key for key in rules if key[0] is not None]
    assert rules[(None, "queue.size", "warning")] == 7  # the rest still applies
