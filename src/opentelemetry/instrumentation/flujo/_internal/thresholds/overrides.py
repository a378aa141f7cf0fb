"""User thresholds: the inline syntax, the file, the Python API, and the effective rules.

Inline (``OTEL_PYTHON_FLUJO_THRESHOLDS``), entries separated by ``;``::

    memory.usage: warning>600MiB, critical>900MiB; cache.hit_ratio: warning<40%;
    cache.size: warning>0.9*cache.max; cache.evictions: warning>50/s;
    circuit_breaker.status: warning=half_open; telemetry.overhead: off

File (``OTEL_PYTHON_FLUJO_THRESHOLDS_FILE``, TOML, or JSON when it ends in ``.json``):
a table per metric whose ``warning`` / ``critical`` hold the same text after the level
(``">600MiB"``, ``"=open"``, ``"off"``). Later sources win: defaults, file, inline, API.
A clause that cannot be read, or a metric whose rules would contradict each other,
gets one warning naming it and is ignored; everything else still applies.

Limits per pipeline: an entry whose metric is prefixed with a glob of executor names
and a colon (``checkout:execution.avg_duration: warning>2s``; in the file, the
quoted table ``["checkout:execution.avg_duration"]``) applies to the names the glob
matches. It changes only the levels it names: the others are the metric's unscoped
ones. The most specific scope matching a name wins (``rules.scope_rank``).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from opentelemetry.instrumentation.flujo import environment_variables as ev
from opentelemetry.instrumentation.flujo._internal.catalog import (
    BY_NAME,
    CIRCUIT_STATES,
    PREFIX,
    Direction,
    Metric,
    excluded,
    metric_named,
)
from opentelemetry.instrumentation.flujo._internal.config import Config
from opentelemetry.instrumentation.flujo._internal.formatting import did_you_mean
from opentelemetry.instrumentation.flujo._internal.thresholds.limit_syntax import (
    LimitError,
    parse_limit,
)
from opentelemetry.instrumentation.flujo._internal.thresholds.rules import (
    LEVELS,
    Rule,
    default_rules,
    is_state_metric,
    pair_problem,
    scope_rank,
)
from opentelemetry.instrumentation.flujo._internal.warn_once import Warn

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 1024 * 1024
FILE_SOURCE = ev.OTEL_PYTHON_FLUJO_THRESHOLDS_FILE
INLINE_SOURCE = ev.OTEL_PYTHON_FLUJO_THRESHOLDS
API_SOURCE = "set_thresholds()"
_ORDER = {name: index for index, name in enumerate(BY_NAME)}
_CLAUSE = re.compile(r"\s*(warning|critical)\s*(.*?)\s*$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Change:
    """Set one rule (``rule``), or switch a level (or, ``level=None``, all) off, of its
    entry's metric."""

    level: str | None
    rule: Rule | None = None


@dataclass(frozen=True)
class Override:
    """One entry, applied or ignored as a whole; ``label`` names it in warnings."""

    label: str
    scope: str | None
    metric: str
    changes: tuple[Change, ...]


_NOT_SCOPE = re.compile(r"[;,:]")


def split_scope(name: str) -> tuple[str | None, str]:
    """``"checkout:cache.size"`` -> ``("checkout", "cache.size")``; no colon: no scope."""
    scope, colon, metric = name.partition(":")
    if not colon:
        return None, name
    scope = scope.strip()
    if not scope or _NOT_SCOPE.search(scope):
        raise LimitError(f"{scope!r} is not an executor name or glob (no ';', ',' or ':')")
    return scope, metric


def _warn_always(message: str) -> None:
    _logger.warning("%s", message)


def _ignored(warn: Warn, source: str, label: str, problem: str) -> None:
    warn(f"{source}: threshold {label!r} ignored: {problem}")


def find_metric(name: str) -> Metric:
    metric = metric_named(name)
    if metric is None:
        hint = did_you_mean(name.strip().removeprefix(PREFIX),
                            (n.removeprefix(PREFIX) for n in BY_NAME))
        raise LimitError(f"{name.strip()!r} is not a flujo metric{hint}")
    return metric


def parse_clause(metric: Metric, level: str, text: str) -> Change:
    """``text`` is what follows the level: ``>600MiB``, ``<40%``, ``=open`` or ``off``."""
    text = text.strip()
    if text.lower() in ("off", "=off"):
        return Change(level)
    if is_state_metric(metric):
        state = text.removeprefix("=").strip().lower()
        if not text.startswith("=") or state not in CIRCUIT_STATES:
            raise LimitError(f"{metric.name} is a state: write ={'|='.join(CIRCUIT_STATES)}")
        return Change(level, Rule(metric.name, level, Direction.ABOVE, state=state))
    if text[:1] not in ("<", ">"):
        raise LimitError(f"{text!r} does not start with > or <")
    limit = parse_limit(metric, text[1:])
    direction = Direction.ABOVE if text[0] == ">" else Direction.BELOW
    return Change(level, Rule(
        metric.name, level, direction, limit.value, limit.relative_to, rate=limit.rate))


def parse_inline(text: str, source: str, warn: Warn = _warn_always) -> list[Override]:
    entries: list[Override] = []
    for part in text.split(";"):
        if not part.strip():
            continue
        name, colon, clauses = part.partition(":")
        try:
            if not colon:
                raise LimitError("expected metric: warning>limit, critical>limit")
            scope = None
            if ":" in clauses:  # scope:metric: clauses
                scope, _ = split_scope(name + ":")
                name, _, clauses = clauses.partition(":")
            metric = find_metric(name)
            changes = []
            problems = []  # every clause's, not only the first: one edit fixes them all
            if clauses.strip().lower() == "off":
                changes.append(Change(None))
            else:
                for clause in clauses.split(","):
                    match = _CLAUSE.match(clause)
                    try:
                        if match is None:
                            raise LimitError(f"{clause.strip()!r} does not start with "
                                             "warning or critical")
                        changes.append(parse_clause(metric, match.group(1).lower(),
                                                    match.group(2)))
                    except LimitError as exc:
                        problems.append(str(exc))
            if problems:
                raise LimitError("; ".join(problems))
            entries.append(Override(part.strip(), scope, metric.name, tuple(changes)))
        except LimitError as exc:
            _ignored(warn, source, part.strip(), str(exc))
    return entries


def _leaves(tree: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    """Metric tables at any depth: TOML reads ``[memory.usage]`` as nested tables."""
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and not set(value) & set(LEVELS):
            yield from _leaves(value, name + ".")
        else:
            yield name, value


def parse_mapping(tree: Mapping[str, Any], source: str,
                  warn: Warn = _warn_always) -> list[Override]:
    entries: list[Override] = []
    for name, value in _leaves(tree):
        try:
            scope, metric_name = split_scope(name)
            metric = find_metric(metric_name)
            if value is False or (isinstance(value, str) and value.strip().lower() == "off"):
                entries.append(Override(name, scope, metric.name, (Change(None),)))
                continue
            if not isinstance(value, Mapping) or not set(value) <= set(LEVELS):
                raise LimitError("expected a table of warning / critical, or \"off\"")
            changes, problems = [], []
            for level, given in value.items():
                text = "off" if given is False or given is None else given
                try:
                    if not isinstance(text, str):
                        raise LimitError(f"{level} = {text!r} is not text like \">600MiB\"")
                    changes.append(parse_clause(metric, level, text))
                except LimitError as exc:
                    problems.append(str(exc))
            if problems:
                raise LimitError("; ".join(problems))
            entries.append(Override(name, scope, metric.name, tuple(changes)))
        except LimitError as exc:
            _ignored(warn, source, name, str(exc))
    return entries


def read_file(path: str, source: str, warn: Warn = _warn_always) -> list[Override]:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise ValueError(f"larger than {MAX_FILE_BYTES} bytes")
        text = data.decode("utf-8")
        tree = json.loads(text) if path.lower().endswith(".json") else tomllib.loads(text)
        if not isinstance(tree, Mapping):
            raise ValueError("the top level is not a table")
    except (OSError, ValueError, RecursionError) as exc:  # JSON/TOML/Unicode: ValueError
        warn(f"{source}={path!r} cannot be used ({exc}); using no file thresholds")
        return []
    try:
        return parse_mapping(tree, f"{source} {path}", warn)
    except RecursionError:  # tables nested thousands deep
        warn(f"{source}={path!r} is nested too deeply; using no file thresholds")
        return []


Rules = dict[tuple[str, str], Rule]  # (metric, level) -> rule


def _applied(rules: Rules, entry: Override) -> Rules:
    trial = dict(rules)
    for change in entry.changes:
        for level in (change.level,) if change.level else LEVELS:
            trial.pop((entry.metric, level), None)
        if change.rule is not None:
            trial[(entry.metric, change.rule.level)] = change.rule
    return trial


def _problem(rules: Rules, metric: str) -> str | None:
    return pair_problem([rule for (name, _), rule in rules.items() if name == metric])


def apply(rules: Rules, entries: Iterable[Override], source: str, warn: Warn = _warn_always,
          scoped: list[tuple[str, Override]] | None = None) -> None:
    """Apply each unscoped entry to ``rules`` in place, unless it leaves its metric
    contradictory; scoped entries are kept in ``scoped`` for :func:`_scoped_rules`."""
    for entry in entries:
        if entry.scope is not None:
            if scoped is not None:
                scoped.append((source, entry))
            continue
        trial = _applied(rules, entry)
        problem = _problem(trial, entry.metric)
        if problem:
            _ignored(warn, source, entry.label, problem)
            continue
        rules.clear()
        rules.update(trial)


def _scoped_rules(rules: Rules, scoped: list[tuple[str, Override]], warn: Warn) -> list[Rule]:
    """Each (scope, metric)'s rules: the metric's unscoped ones with the scope's
    entries applied in order; per metric, the most specific scope first."""
    sets: dict[tuple[str, str], Rules] = {}
    last: dict[tuple[str, str], int] = {}
    for index, (source, entry) in enumerate(scoped):
        assert entry.scope is not None
        key = (entry.scope, entry.metric)
        base = sets.get(key) or {k: v for k, v in rules.items() if k[0] == entry.metric}
        trial = _applied(base, entry)
        problem = _problem(trial, entry.metric) or (
            None if trial else "a scope cannot switch every level off; raise its limits")
        if problem:
            _ignored(warn, source, entry.label, problem)
            continue
        sets[key] = trial
        last[key] = index
    by_metric: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key in sets:
        by_metric[key[1]].append(key)
    out = []
    for metric in sorted(by_metric, key=_ORDER.__getitem__):
        keys = sorted(by_metric[metric], key=lambda k: (scope_rank(k[0]), last[k]), reverse=True)
        for scope, _ in keys:
            out += [replace(sets[(scope, metric)][(metric, level)], scope=scope)
                    for level in LEVELS if (metric, level) in sets[(scope, metric)]]
    return out


def effective_rules(config: Config, api: tuple[Override, ...] = (),
                    warn: Warn = _warn_always) -> tuple[Rule, ...]:
    """The defaults with the user's file, inline and API overrides applied, in that order;
    none for a metric OTEL_PYTHON_FLUJO_EXCLUDED_METRICS excludes (not exported, so
    neither are its limit, its status or its alerts).

    Every call reads the file and the inline text again; ``warn`` gets each problem
    (the threshold engine passes its :class:`WarnOnce`, so a runtime says each once).
    """
    rules = {(rule.metric, rule.level): rule for rule in default_rules()}
    scoped: list[tuple[str, Override]] = []
    if config.thresholds_file:
        apply(rules, read_file(config.thresholds_file, FILE_SOURCE, warn), FILE_SOURCE, warn,
              scoped)
    if config.thresholds:
        apply(rules, parse_inline(config.thresholds, INLINE_SOURCE, warn), INLINE_SOURCE, warn,
              scoped)
    apply(rules, api, API_SOURCE, warn, scoped)
    # Catalog order, warning before critical, unscoped rules first: generated files
    # stay stable.
    unscoped = sorted(rules.values(), key=lambda r: (_ORDER[r.metric], LEVELS.index(r.level)))
    return tuple(rule for rule in (*unscoped, *_scoped_rules(rules, scoped, warn))
                 if not excluded(rule.metric, config.excluded_metrics))
