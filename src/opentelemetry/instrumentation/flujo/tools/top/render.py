"""The dashboard drawn with rich: one table per executor, status coloured."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from opentelemetry.instrumentation.flujo.tools.top.board import Board
from opentelemetry.instrumentation.flujo.tools.top.rows import executor_rows, executors

STYLES = {"ok": "green", "warning": "yellow", "critical": "bold red"}
ASSUMED_NOTE = "* status from the default limits: the data carries no threshold state"


def _age(board: Board, executor: str) -> str:
    seen = board.updated.get(executor)
    return "" if seen is None else f"  (updated {time.monotonic() - seen:.0f}s ago)"


def renderable(board: Board, title: str = "flujo executors") -> Any:
    parts: list[Any] = []
    assumed = False
    for executor in executors(board):
        table = Table(title=f"{executor}{_age(board, executor)}", title_justify="left",
                      expand=False)
        table.add_column("Metric", style="cyan", no_wrap=True)
        table.add_column("Value", justify="right", no_wrap=True)
        table.add_column("Warning", justify="right", style="dim")
        table.add_column("Critical", justify="right", style="dim")
        table.add_column("Status", no_wrap=True)
        for row in executor_rows(board, executor):
            assumed |= row.assumed
            status = Text(row.state + ("*" if row.assumed else ""),
                          style=STYLES.get(row.state, ""))
            table.add_row(row.label, row.value, row.warning, row.critical, status)
        parts.append(table)
    if not parts:
        parts.append(Text("(no data yet)", style="dim"))
    footer = f"{title}: {board.batches} batches"
    if board.rejected:
        footer += f", {board.rejected} rejected"
    parts.append(Text(footer + (f"\n{ASSUMED_NOTE}" if assumed else ""), style="dim"))
    return Group(*parts)
