"""Reads and validates the ``OTEL_PYTHON_FLUJO_*`` environment, once.

A bad value never raises: it gets one warning that names the variable, the value
given and the value used instead.
"""

from __future__ import annotations

import logging
import os
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from opentelemetry.instrumentation.flujo import environment_variables as ev
from opentelemetry.instrumentation.flujo._internal.catalog import (
    EXPORTED_NAMES,
    GENAI_OPT_IN,
    PREFIX,
    excluded,
)
from opentelemetry.instrumentation.flujo._internal.formatting import did_you_mean

_logger = logging.getLogger(__name__)

T = TypeVar("T")
N = TypeVar("N", int, float)

# The OpenTelemetry variable (not this package's) naming the conventions to opt into.
SEMCONV_OPT_IN = "OTEL_SEMCONV_STABILITY_OPT_IN"
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


@dataclass(frozen=True)
class AlertConfig:
    """Alert delivery (alerts/): the handlers' queue, webhook and SMTP settings. Secrets
    stay out of the repr."""

    queue_size: int = 100
    webhook_url: str = field(default="", repr=False)
    webhook_headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    webhook_timeout_s: float = 5.0
    webhook_retries: int = 3
    webhook_min_level: str = "warning"
    smtp_host: str = ""
    smtp_port: int = 0
    smtp_security: str = "starttls"
    smtp_from: str = ""
    smtp_to: tuple[str, ...] = ()
    smtp_username: str = field(default="", repr=False)
    smtp_password: str = field(default="", repr=False)
    smtp_timeout_s: float = 10.0
    smtp_min_level: str = "critical"


@dataclass(frozen=True)
class Config:
    """The plugin's settings, read once from the ``OTEL_PYTHON_FLUJO_*`` environment
    (:func:`load_config`) when the runtime is built; every stage reads its own part."""

    enabled: bool = True
    excluded_metrics: tuple[str, ...] = ()
    rate_unit: str = "percent"
    max_executor_names: int = 100
    stats_timeout_s: float = 1.0
    # threshold engine (thresholds/)
    thresholds: str = ""
    thresholds_file: str = ""
    threshold_for_s: float = 0.0
    threshold_keep_for_s: float = 0.0
    # the alerting ratios' sliding window (_internal/window.py, the Prometheus rules)
    ratio_window_s: float = 300.0
    alerts: AlertConfig = field(default_factory=AlertConfig)
    max_step_names: int = 100
    # GenAI metrics (flujo_hooks/genai.py): auto | on | off, and whether
    # OTEL_SEMCONV_STABILITY_OPT_IN asks for the latest experimental conventions.
    genai_metrics: str = "auto"
    genai_latest: bool = False


MAX_LOGGED_VALUE = 80


def warn_invalid(variable: str, value: str, problem: str, used: object) -> None:
    # repr() escapes control characters (no forged log lines); a huge value is cut.
    shown = value if len(value) <= MAX_LOGGED_VALUE else value[:MAX_LOGGED_VALUE] + "..."
    _logger.warning("%s=%r %s; using %r instead", variable, shown, problem, used)


def read(
    environ: Mapping[str, str],
    variable: str,
    parse: Callable[[str], T],
    default: T,
    problem: str,
) -> T:
    """The parsed value of ``variable``, or ``default`` with one warning if it is bad."""
    raw = environ.get(variable)
    if raw is None or raw.strip() == "":
        return default
    try:
        return parse(raw.strip())
    except (ValueError, TypeError, OverflowError):
        warn_invalid(variable, raw, problem, default)
        return default


def parse_bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(raw)


def parse_choice(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        lowered = raw.lower()
        if lowered not in choices:
            raise ValueError(raw)
        return lowered

    return parse


def parse_number(kind: Callable[[str], N], minimum: N, maximum: N) -> Callable[[str], N]:
    """A parser for an ``int`` or ``float`` from ``minimum`` to ``maximum``."""

    def parse(raw: str) -> N:
        # int()/float() also take other scripts' digits (fullwidth ones): a typo, not a number.
        if not raw.isascii():
            raise ValueError(raw)
        value = kind(raw)
        # NaN fails both comparisons, so it is rejected here too.
        if not minimum <= value <= maximum:
            raise ValueError(raw)
        return value

    return parse


def parse_address(raw: str) -> str:
    local, at, domain = raw.rpartition("@")
    if not (at and local and domain) or any(c.isspace() for c in raw):
        raise ValueError(raw)
    return raw


def parse_addresses(raw: str) -> tuple[str, ...]:
    addresses = tuple(parse_address(part.strip()) for part in raw.split(",") if part.strip())
    if not addresses:
        raise ValueError(raw)
    return addresses


def parse_globs(raw: str) -> tuple[str, ...]:
    globs = tuple(part.strip() for part in raw.split(",") if part.strip())
    if not globs:  # only commas
        raise ValueError(raw)
    return globs


def _excluded_metrics(env: Mapping[str, str]) -> tuple[str, ...]:
    """The patterns that match a metric; one warning names those that match none (a
    typo, or a name from another version), which are left out."""
    variable = ev.OTEL_PYTHON_FLUJO_EXCLUDED_METRICS
    patterns: tuple[str, ...] = read(env, variable, parse_globs, (), "is not a list of globs")
    unmatched = [p for p in patterns if not any(excluded(n, (p,)) for n in EXPORTED_NAMES)]
    if not unmatched:
        return patterns
    kept = tuple(p for p in patterns if p not in unmatched)
    short = [n.removeprefix(PREFIX) for n in EXPORTED_NAMES]
    # A name (not a glob) that matches nothing is a typo: name the closest metric.
    shown = ", ".join(repr(p[:40]) + ("" if re.search(r"[*?\[]", p) else
                                      did_you_mean(p.removeprefix(PREFIX), short))
                      for p in unmatched[:3]) + (", ..." if len(unmatched) > 3 else "")
    warn_invalid(variable, env[variable], f"has patterns that match no metric ({shown}; "
                 "patterns take full names or, as in thresholds, short ones such as "
                 "'memory.*')", kept)
    return kept


def parse_headers(raw: str) -> tuple[tuple[str, str], ...]:
    """``k=v,k2=v2`` with URL-encoded values, as in ``OTEL_EXPORTER_OTLP_HEADERS``."""
    out = []
    for part in raw.split(","):
        if not part.strip():
            continue
        key, equals, value = part.partition("=")
        if not equals or not key.strip():
            raise ValueError("not key=value")  # never echo a header value: it may be a token
        out.append((key.strip(), urllib.parse.unquote(value.strip())))
    if not out:
        raise ValueError("no headers")
    return tuple(out)


def parse_url(raw: str) -> str:
    if urllib.parse.urlsplit(raw).scheme not in ("http", "https"):
        raise ValueError(raw)
    return raw


_MILLISECONDS = parse_number(float, 1.0, 600_000.0)


def _whole(env: Mapping[str, str], variable: str, minimum: int, maximum: int,
           default: int) -> int:
    return read(env, variable, parse_number(int, minimum, maximum), default,
                f"is not a whole number from {minimum} to {maximum}")


def _seconds(env: Mapping[str, str], variable: str, default_s: float) -> float:
    """A duration given in milliseconds (the OTEL_* convention), in seconds."""
    return read(env, variable, _MILLISECONDS, default_s * 1000,
                "is not a number of milliseconds from 1 to 600000") / 1000


def _alert_config(env: Mapping[str, str]) -> AlertConfig:
    default = AlertConfig()
    level = parse_choice("warning", "critical")
    return AlertConfig(
        queue_size=_whole(env, ev.OTEL_PYTHON_FLUJO_ALERT_QUEUE_SIZE, 1, 100_000,
                          default.queue_size),
        # A webhook URL often is the secret (Slack, Teams): never echoed.
        webhook_url=_secret(env, ev.OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_URL, parse_url, "",
                            "is not an http:// or https:// URL; using no webhook instead"),
        webhook_headers=_secret(env, ev.OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_HEADERS, parse_headers,
                                default.webhook_headers,
                                "is not a comma-separated list of key=value; "
                                "using no headers instead"),
        webhook_timeout_s=_seconds(env, ev.OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_TIMEOUT,
                                   default.webhook_timeout_s),
        webhook_retries=_whole(env, ev.OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_RETRIES, 0, 10,
                               default.webhook_retries),
        webhook_min_level=read(env, ev.OTEL_PYTHON_FLUJO_ALERT_WEBHOOK_MIN_LEVEL, level,
                               default.webhook_min_level, "is not warning or critical"),
        smtp_host=env.get(ev.OTEL_PYTHON_FLUJO_ALERT_SMTP_HOST, "").strip(),
        smtp_port=_whole(env, ev.OTEL_PYTHON_FLUJO_ALERT_SMTP_PORT, 1, 65535, 0),
        smtp_security=read(env, ev.OTEL_PYTHON_FLUJO_ALERT_SMTP_SECURITY,
                           parse_choice("starttls", "ssl", "none"), default.smtp_security,
                           "is not starttls, ssl or none"),
        smtp_from=read(env, ev.OTEL_PYTHON_FLUJO_ALERT_SMTP_FROM, parse_address,
                       default.smtp_from, "is not an e-mail address"),
        smtp_to=read(env, ev.OTEL_PYTHON_FLUJO_ALERT_SMTP_TO, parse_addresses, default.smtp_to,
                     "is not a comma-separated list of e-mail addresses"),
        smtp_username=env.get(ev.OTEL_PYTHON_FLUJO_ALERT_SMTP_USERNAME, ""),
        smtp_password=env.get(ev.OTEL_PYTHON_FLUJO_ALERT_SMTP_PASSWORD, ""),
        smtp_timeout_s=_seconds(env, ev.OTEL_PYTHON_FLUJO_ALERT_SMTP_TIMEOUT,
                                default.smtp_timeout_s),
        smtp_min_level=read(env, ev.OTEL_PYTHON_FLUJO_ALERT_SMTP_MIN_LEVEL, level,
                            default.smtp_min_level, "is not warning or critical"),
    )


def _secret(env: Mapping[str, str], variable: str, parse: Callable[[str], T], default: T,
            problem: str) -> T:
    """Like :func:`read`, but the warning never shows the value (it may hold a token)."""
    raw = env.get(variable, "").strip()
    if not raw:
        return default
    try:
        return parse(raw)
    except ValueError:
        _logger.warning("%s %s", variable, problem)
        return default


_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_DURATION_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800,
               "y": 31536000}


def parse_duration(text: str) -> float:
    """A Prometheus duration (``30s``, ``2m``, ``1h30m``, ``0s``) in seconds; the same
    syntax as the generated rules' ``for:``, so one value serves both."""
    parts = _DURATION.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{text!r} is not a Prometheus duration such as 0s, 30s, 2m or 1h30m")
    return float(sum(int(n) * _DURATION_S[u] for n, u in parts))


def _duration(env: Mapping[str, str], variable: str, default: float) -> float:
    return read(env, variable, parse_duration, default,
                "is not a duration such as 0s, 30s, 2m or 1h30m")


def recording_path(variable: str, default: str) -> str:
    """The file a recording exporter appends to: ``variable``'s value, else ``default``.
    Read by the exporter itself (building one builds no runtime)."""
    return read(os.environ, variable, str, default, "is unusable")


def _window(text: str) -> float:
    seconds = parse_duration(text)
    if seconds <= 0:
        raise ValueError(text)
    return seconds


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    env = os.environ if environ is None else environ
    default = Config()
    return Config(
        enabled=read(env, ev.OTEL_PYTHON_FLUJO_ENABLED, parse_bool, default.enabled,
                     "is not true or false"),
        excluded_metrics=_excluded_metrics(env),
        rate_unit=read(env, ev.OTEL_PYTHON_FLUJO_RATE_UNIT, parse_choice("percent", "ratio"),
                       default.rate_unit, "is not 'percent' or 'ratio'"),
        max_executor_names=_whole(env, ev.OTEL_PYTHON_FLUJO_MAX_EXECUTOR_NAMES, 1, 100_000,
                                  default.max_executor_names),
        stats_timeout_s=_seconds(env, ev.OTEL_PYTHON_FLUJO_STATS_TIMEOUT,
                                 default.stats_timeout_s),
        thresholds=env.get(ev.OTEL_PYTHON_FLUJO_THRESHOLDS, "").strip(),
        thresholds_file=env.get(ev.OTEL_PYTHON_FLUJO_THRESHOLDS_FILE, "").strip(),
        threshold_for_s=_duration(env, ev.OTEL_PYTHON_FLUJO_THRESHOLD_FOR,
                                  default.threshold_for_s),
        threshold_keep_for_s=_duration(env, ev.OTEL_PYTHON_FLUJO_THRESHOLD_KEEP_FOR,
                                       default.threshold_keep_for_s),
        ratio_window_s=read(env, ev.OTEL_PYTHON_FLUJO_RATIO_WINDOW, _window,
                            default.ratio_window_s,
                            "is not a duration of more than 0s such as 5m or 1h"),
        alerts=_alert_config(env),
        max_step_names=_whole(env, ev.OTEL_PYTHON_FLUJO_MAX_STEP_NAMES, 0, 10_000,
                              default.max_step_names),
        genai_metrics=read(env, ev.OTEL_PYTHON_FLUJO_GENAI_METRICS,
                           parse_choice("auto", "on", "off"), default.genai_metrics,
                           "is not 'auto', 'on' or 'off'"),
        # Shared by every instrumentation (a comma-separated list): values for other
        # signals are theirs, so nothing here is an error.
        genai_latest=GENAI_OPT_IN in (
            v.strip().lower() for v in env.get(SEMCONV_OPT_IN, "").split(",")),
    )
