"""Figures, the printed table and ``bench/results.json``."""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("results.json")


@dataclass
class Figure:
    id: str
    label: str
    value: float | None  # None: not measured here (``note`` says why)
    unit: str
    goal: str = "reported"
    met: bool | None = None  # None when the figure has no goal or was not measured
    note: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def shown(self) -> str:
        if self.value is None:
            return f"n/a ({self.note})" if self.note else "n/a"
        number = f"{self.value:.3g}" if abs(self.value) < 1000 else f"{self.value:,.0f}"
        return f"{number} {self.unit}".strip()


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = None
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "load_1min_at_start": load,
    }


def table(figures: list[Figure]) -> str:
    rows = [("figure", "value", "goal", "met")]
    for f in figures:
        met = "-" if f.met is None else ("yes" if f.met else "NO")
        rows.append((f.label, f.shown(), f.goal, met))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    # a measured figure's note qualifies its value (an interval, what it leaves out)
    lines.extend(f"  {f.label}: {f.note}" for f in figures if f.value is not None and f.note)
    return "\n".join(lines)


def write(figures: list[Figure], mode: str, seconds: float, path: Path = RESULTS) -> None:
    data = {
        "mode": mode,
        "seconds": round(seconds, 1),
        "machine": machine(),
        "figures": [asdict(f) for f in figures],
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)
