"""The export shape per executor name, this design next to the previous one (issue 12).

Per executor name, with every stat of the executor contract present and every default
rule on (and, beside it, with the spend and budget stats flujo's runs add): data points, OTLP
protobuf bytes per export (what the gRPC and HTTP exporters send, gRPC adding a 5-byte
frame) and collection time. Each is the slope between a 1-name and an N-name
collection, so what every export carries once (resource, scope, instruments, the
limits shared by every name) drops out. ``PreviousShape`` exports the previous
threshold layer's shape (a 3-state state-set per checked metric and every limit under
every name) from the same engine, so only the shape differs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.otlp import exported
from bench.report import Figure
from bench.subjects import Plugin, PreviousShape, named_executors
from bench.timing import interleaved

POINTS_GOAL, BYTES_GOAL = 60, 4096
SUBJECTS: dict[str, Callable[[Any], Plugin]] = {"current": Plugin, "previous": PreviousShape}


def _per_name(make: Callable[[Any], Plugin], n: int,
              with_runs: bool = False) -> tuple[float, float, float]:
    one, many = exported(make, 1, with_runs), exported(make, n, with_runs)
    return tuple((b - a) / (n - 1) for a, b in zip(one, many, strict=True))  # type: ignore[return-value]


def _collection_s(n: int, rounds: int) -> dict[str, float]:
    """Median CPU seconds per collection of ``n`` names, per subject, interleaved."""
    held, subjects = [], {}
    for label, make in SUBJECTS.items():
        executors = named_executors(n)
        held.append(executors)
        subjects[label] = make(executors)
    try:
        for subject in subjects.values():
            subject.collect()
        medians = interleaved({label: s.collect for label, s in subjects.items()}, rounds)
    finally:
        for subject in subjects.values():
            subject.close()
    return medians.cpu


def figures(n: int, rounds: int) -> list[Figure]:
    sizes = {label: _per_name(make, n) for label, make in SUBJECTS.items()}
    runs_points, runs_raw, runs_gz = _per_name(Plugin, n, with_runs=True)
    one, many = _collection_s(1, rounds), _collection_s(n, rounds)
    time_us = {label: (many[label] - one[label]) / (n - 1) * 1e6 for label in SUBJECTS}
    (points, raw, gz), (old_points, old_raw, old_gz) = sizes["current"], sizes["previous"]
    previous = {"previous_points": old_points, "previous_bytes": old_raw,
                "previous_gzip_bytes": old_gz, "previous_collection_us": time_us["previous"],
                "names": n}
    return [
        Figure("shape.points", "data points per executor name",
               points, "", goal=f"<= {POINTS_GOAL}", met=points <= POINTS_GOAL,
               detail=previous),
        Figure("shape.bytes", "OTLP bytes per executor name per export", raw, "B",
               goal=f"<= {BYTES_GOAL}", met=raw <= BYTES_GOAL,
               detail={**previous, "gzip_bytes": gz}),
        Figure("shape.collection", "collection CPU time per executor name", time_us["current"],
               "us", goal="falls with the points",
               met=time_us["current"] < time_us["previous"] * (points / old_points) * 1.25,
               detail={**previous, "ratio_to_previous": time_us["current"] / time_us["previous"],
                       "points_ratio": points / old_points}),
        # A flujo pipeline's name that has runs also reports spend and budget use:
        # reported beside the executor contract's figures, which the goals are for.
        Figure("shape.with_runs", "  with flujo runs' spend and budget: points / bytes",
               runs_points, "", note=f"{runs_raw:.0f} B",
               detail={"bytes": runs_raw, "gzip_bytes": runs_gz, "names": n}),
        Figure("shape.previous", "  previous design: points / bytes / us per name",
               old_points, "", note=f"{old_raw:.0f} B, {time_us['previous']:.0f} us",
               detail=previous),
    ]
