"""Recordings (``flujo_csv`` / ``flujo_jsonl`` files) -> series, with clear errors."""

from __future__ import annotations

import csv
import itertools
import json
import statistics
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from opentelemetry.instrumentation.flujo._internal.catalog import (
    BY_NAME,
    PREFIX,
    SELF_BY_NAME,
    THRESHOLD_LEVEL,
    Kind,
)
from opentelemetry.instrumentation.flujo._internal.exporters.recording import FIELDS, unescape_cell
from opentelemetry.instrumentation.flujo._internal.formatting import did_you_mean
from opentelemetry.instrumentation.flujo._internal.samples import (
    Attributes,
    is_limit,
    label,
    limit_of,
)

REQUIRED = FIELDS[:5]
FEW_INTEGER_VALUES = 10


class RecordingError(Exception):
    """An unusable input: unreadable, empty, not a recording, mixed units, unknown metric."""


@dataclass
class Series:
    executor: str
    metric: str
    attributes: Attributes
    unit: str
    times: list[float] = field(default_factory=list)  # seconds since the epoch
    values: list[float] = field(default_factory=list)
    states: list[str] = field(default_factory=list)  # recorded threshold state, "" if none
    rate: bool = False  # values are per-second increases of a cumulative counter
    # A state or a count with few integer values (0/1, a queue of 0..3): its typical
    # spread is no yardstick for outliers; only its limits judge it.
    discrete: bool = False

    @property
    def key(self) -> tuple[str, str, Attributes]:
        return self.executor, self.metric, self.attributes

    @property
    def label(self) -> str:
        return label(self.metric, self.attributes)


@dataclass
class Recording:
    series: dict[tuple[str, str, Attributes], Series] = field(default_factory=dict)
    # (executor, metric, level) -> [(time, limit)] from the threshold engine's gauges
    limits: dict[tuple[str, str, str], list[tuple[float, float]]] = field(default_factory=dict)
    rows: int = 0
    skipped: int = 0
    first_skip: str = ""


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8", newline="") as f:
        head = f.read(1)
        f.seek(0)
        if head == "{":
            for number, line in enumerate(f, 1):
                if line.strip():
                    try:
                        yield number, json.loads(line)
                    except ValueError:
                        yield number, {}
            return
        reader = csv.DictReader(f)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or ())]
        if missing:
            raise RecordingError(f"{path} is not a flujo recording (no column "
                                 f"{', '.join(missing)})")
        for row in reader:
            yield reader.line_num, row


def _attributes(raw: Any) -> Attributes:
    if isinstance(raw, str):
        raw = json.loads(raw) if raw.strip() else {}
    return tuple(sorted((str(k), str(v)) for k, v in dict(raw).items()))


def _add(recording: Recording, row: dict[str, Any]) -> None:
    time = datetime.fromisoformat(str(row["timestamp"])).timestamp()
    executor = unescape_cell(str(row["executor"] or ""))
    metric, unit, value = str(row["metric"]), str(row["unit"] or ""), float(row["value"])
    attributes = _attributes(row.get("attributes") or {})
    recording.rows += 1
    if is_limit(metric):
        level = dict(attributes).get(THRESHOLD_LEVEL, "")
        recording.limits.setdefault((executor, limit_of(metric), level), []).append(
            (time, value))
        return
    key = (executor, metric, attributes)
    series = recording.series.get(key)
    if series is None:
        series = recording.series[key] = Series(executor, metric, attributes, unit)
    elif series.unit != unit:
        raise RecordingError(f"{metric} is recorded in two units ({series.unit!r} and "
                             f"{unit!r}); report on recordings of one version")
    series.times.append(time)
    series.values.append(value)
    series.states.append(str(row.get("threshold_state") or ""))


def load(paths: Iterable[str], progress: Callable[[str], None] = lambda _: None) -> Recording:
    recording = Recording()
    for name in paths:
        path = Path(name)
        progress(name)
        before = recording.rows
        try:
            for number, row in _rows(path):
                try:
                    _add(recording, row)
                except (KeyError, ValueError, TypeError, AttributeError) as error:
                    recording.skipped += 1
                    recording.first_skip = recording.first_skip or f"{name}:{number}: {error}"
        except (OSError, UnicodeDecodeError) as error:
            raise RecordingError(f"cannot read {name}: {getattr(error, 'strerror', '') or error}"
                                 ) from None
        if recording.rows == before:
            raise RecordingError(f"{name} has no data rows")
    for series in recording.series.values():
        _sort(series)
        if _is_counter(series.metric):
            series.discrete = _few_integers(_to_rate(series))
        else:
            series.discrete = _few_integers(series.values)
    return recording


def _few_integers(values: list[float]) -> bool:
    return (all(v.is_integer() for v in values)
            and len(set(values)) <= FEW_INTEGER_VALUES)


def _sort(series: Series) -> None:
    order = sorted(range(len(series.times)), key=series.times.__getitem__)
    series.times = [series.times[i] for i in order]
    series.values = [series.values[i] for i in order]
    series.states = [series.states[i] for i in order]


def _is_counter(metric: str) -> bool:
    if metric in BY_NAME:
        return BY_NAME[metric].kind is Kind.COUNTER
    return metric in SELF_BY_NAME and SELF_BY_NAME[metric].kind is Kind.COUNTER


def _to_rate(series: Series) -> list[float]:
    """Cumulative counter -> per-second increase; returns the increases themselves.

    An interval over which the counter went down (a restart) has no known increase and
    is left out, as ``rate()`` does. A point closer to the previous one than half the
    usual interval (the export at shutdown, right after the last periodic one) is
    merged into the next interval: a rate over a sliver of time is mostly noise.
    """
    gaps = [b - a for a, b in itertools.pairwise(series.times) if b > a]
    shortest = statistics.median(gaps) / 2 if gaps else 0.0
    times, values, states, increases = [], [], [], []
    start = 0
    for i in range(1, len(series.times)):
        dt = series.times[i] - series.times[start]
        dv = series.values[i] - series.values[start]
        if dv < 0:
            start = i
        elif dt > 0 and dt >= shortest:
            times.append(series.times[i])
            values.append(dv / dt)
            states.append(series.states[i])
            increases.append(dv)
            start = i
    series.times, series.values, series.states = times, values, states
    series.unit = f"{series.unit}/s"
    series.rate = True
    return increases


def select(recording: Recording, metrics: list[str], executors: list[str]) -> None:
    """Keep only the named metrics (full or without ``flujo.executor.``) and executors."""
    known = {s.metric for s in recording.series.values()}
    wanted = set()
    for name in metrics:
        full = name if name in known else PREFIX + name
        if full not in known:
            short = sorted(m.removeprefix(PREFIX) for m in known)
            raise RecordingError(f"unknown metric {name!r}"
                                 f"{did_you_mean(name.removeprefix(PREFIX), short)}; "
                                 f"recorded: {', '.join(short)}")
        wanted.add(full)
    names = {s.executor for s in recording.series.values()}
    for executor in executors:
        if executor not in names:
            raise RecordingError(f"unknown executor {executor!r}"
                                 f"{did_you_mean(executor, names)}; recorded: "
                                 f"{', '.join(sorted(names))}")
    recording.series = {k: s for k, s in recording.series.items()
                        if (not wanted or s.metric in wanted)
                        and (not executors or s.executor in executors)}
