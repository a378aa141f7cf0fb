"""Fault matrix 10: every OTEL_PYTHON_FLUJO_* variable with invalid values.

The variables come from environment_variables.py, so a new one is covered the day it
is added: it must warn (once, naming itself) for garbage, or be declared free-form.
"""

from __future__ import annotations

import logging
import re

import pytest

from faults import run_app
from opentelemetry.instrumentation.flujo import environment_variables as ev
from opentelemetry.instrumentation.flujo._internal.config import Config, load_config

VARIABLES = sorted(name for name in vars(ev) if name.startswith("OTEL_PYTHON_FLUJO_"))
# Free text by nature: any string is a path, a host name or a credential.
FREE_FORM = {ev.OTEL_PYTHON_FLUJO_CSV_PATH,
             ev.OTEL_PYTHON_FLUJO_JSONL_PATH, ev.OTEL_PYTHON_FLUJO_ALERT_SMTP_HOST,
             ev.OTEL_PYTHON_FLUJO_ALERT_SMTP_USERNAME, ev.OTEL_PYTHON_FLUJO_ALERT_SMTP_PASSWORD,
             # Checked when the threshold engine builds its rules (one warning each, naming
             # the variable; tests/test_thresholds_overrides.py), not by load_config.
             ev.OTEL_PYTHON_FLUJO_THRESHOLDS, ev.OTEL_PYTHON_FLUJO_THRESHOLDS_FILE}
# The value used instead of garbage, as the warning names it.
USED = {ev.OTEL_PYTHON_FLUJO_ENABLED: "True", ev.OTEL_PYTHON_FLUJO_RATE_UNIT: "'percent'",
        ev.OTEL_PYTHON_FLUJO_MAX_EXECUTOR_NAMES: "100",
        ev.OTEL_PYTHON_FLUJO_STATS_TIMEOUT: "1000.0",
        ev.OTEL_PYTHON_FLUJO_GENAI_METRICS: "'auto'"}
GARBAGE = ["definitely-not-valid", "-1", "0", "nan", "inf", "1e309", "99999999999999999999",
           "tru", "\uff11", "\u202etrue", "' OR 1=1 --", "x" * 10_000, ",,,",
           "1\nWARNING forged log line"]


def _warnings(caplog: pytest.LogCaptureFixture, variable: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno >= logging.WARNING and variable in r.getMessage()]


def test_every_variable_is_known() -> None:
    assert len(VARIABLES) >= 5
    assert set(VARIABLES) >= FREE_FORM


@pytest.mark.parametrize("variable", VARIABLES)
def test_invalid_values_warn_once_and_use_the_default(
    variable: str, caplog: pytest.LogCaptureFixture
) -> None:
    rejected = 0
    for garbage in GARBAGE:
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            config = load_config({variable: garbage})
        warnings = _warnings(caplog, variable)
        if warnings:
            rejected += 1
            assert len(warnings) == 1, warnings
            assert config == Config(), (variable, garbage)  # the default is what is used
            assert "instead" in warnings[0]  # and the warning says which value that is
            if variable in USED:
                assert warnings[0].endswith(f"; using {USED[variable]} instead"), warnings
            # it names the value it refused (escaped, cut), unless the value may be secret
            assert (warnings[0].startswith(f"{variable}={repr(garbage)[:40]}")
                    or warnings[0].startswith(f"{variable} ")), warnings
            assert len(warnings[0]) < 400  # no log flooding
            assert "\n" not in warnings[0]  # and no forged lines
        else:
            # accepted: then it really is used, never silently replaced by the default
            assert config != Config() or variable in FREE_FORM, (variable, garbage)
    assert rejected or variable in FREE_FORM, f"{variable} accepts every garbage value"


@pytest.mark.parametrize("garbage", ["definitely-not-valid", "nan", "-1"])
def test_auto_import_with_every_variable_invalid_never_raises(garbage: str) -> None:
    env = dict.fromkeys(VARIABLES, garbage)
    env["OTEL_METRICS_EXPORTER"] = "none"
    result = run_app(env, "import-auto")
    assert result.returncode == 0, result.stderr
    assert "auto-imported" in result.stdout
    assert "Traceback" not in result.stderr
    for variable in VARIABLES:
        # The warning about the variable, not one that names it as a replacement
        # (_HYSTERESIS_ENTER's names _THRESHOLD_FOR); _THRESHOLDS must not match _FILE.
        named = re.compile(rf"\b{variable}(=| is )")
        warned = [line for line in result.stderr.splitlines() if named.search(line)]
        assert len(warned) <= 1, warned
        if variable not in FREE_FORM and garbage == "definitely-not-valid":
            assert len(warned) == 1, (variable, result.stderr)
