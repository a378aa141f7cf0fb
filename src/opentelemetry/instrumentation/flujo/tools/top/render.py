"""The dashboard drawn with rich: one table per executor, status coloured.

In a terminal too small for the full tables (an 80x24 window holds about 20 rows of
them, an executor has up to 38; the demo's 34 fit 120x40), the compact layout keeps
every row: the limit columns are dropped, each executor's rows are split into two
side-by-side columns, a metric family's name is written once, and the status becomes a
mark after the value.
"""

from __future__ import annotations

import re
import time
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from opentelemetry.instrumentation.flujo.tools.top.board import Board
from opentelemetry.instrumentation.flujo.tools.top.rows import Row, executor_rows, executors

STYLES = {"ok": "green", "warning": "yellow", "critical": "bold red"}
ASSUMED_NOTE = "* status from the default limits: the data carries no threshold state"
MARKS = {"warning": "!", "critical": "!!"}
COMPACT_LEGEND = "! warning  !! critical  * default limits   (limits: in a larger terminal)"
_FULL_TABLE_LINES = 3  # title, header, the line under it
_FAMILY = re.compile(r"^[^.{]+")
_ATTRIBUTE_KEY = re.compile(r"([{,])[^{},=]+=")


def _age(board: Board, executor: str) -> str:
    seen = board.updated.get(executor)
    return "" if seen is None else f"  (updated {time.monotonic() - seen:.0f}s ago)"


def _status(row: Row, text: str) -> Text:
    return Text(text + ("*" if row.assumed else ""), style=STYLES.get(row.state, ""))


def _full(board: Board, executor: str, rows: list[Row]) -> Table:
    # No outer edge: two lines fewer, so the demo's full table fits 120x40.
    table = Table(title=f"{executor}{_age(board, executor)}", title_justify="left",
                  expand=False, show_edge=False)
    table.add_column("Metric", style="cyan", no_wrap=True)
    table.add_column("Value", justify="right", no_wrap=True)
    table.add_column("Warning", justify="right", style="dim")
    table.add_column("Critical", justify="right", style="dim")
    table.add_column("Status", no_wrap=True)
    for row in rows:
        table.add_row(row.label, row.value, row.warning, row.critical,
                      _status(row, row.state))
    return table


def _families(rows: list[Row]) -> list[tuple[str, str, Row]]:
    """(family, name, row): attribute names left out (``executions{failure}``), and the
    families in the order of their first row, so ``circuit_breaker.status`` comes after
    every ``error.*`` row rather than between them."""
    families: dict[str, list[tuple[str, str, Row]]] = {}
    for row in rows:
        match = _FAMILY.match(row.label)
        family = match.group(0) if match else ""
        families.setdefault(family, []).append(
            (family, _ATTRIBUTE_KEY.sub(r"\1", row.label), row))
    return [entry for members in families.values() for entry in members]


def _compact(board: Board, executor: str, rows: list[Row]) -> Group:
    named = _families(rows)
    half = (len(named) + 1) // 2
    columns = [named[:half], named[half:]]
    grid = Table.grid(padding=(0, 1))
    for _ in columns:
        grid.add_column(style="cyan", overflow="fold")
        grid.add_column(justify="right", no_wrap=True)
        grid.add_column(no_wrap=True)
    for i in range(half):
        cells: list[Any] = []
        for column in columns:
            if i >= len(column):
                continue
            family, name, row = column[i]
            # A family's name once per column: "error.ratio", then "  .recovery_ratio".
            if i and family and column[i - 1][0] == family:
                name = "  " + name[len(family):]
            mark = MARKS.get(row.state, "")
            cells += [name, Text(row.value, style=STYLES.get(row.state, "")),
                      _status(row, mark) if mark or row.assumed else ""]
        grid.add_row(*cells)
    return Group(Text(f"{executor}{_age(board, executor)}", style="italic"), grid)


def _fits(console: Console, tables: list[Table], extra_lines: int) -> bool:
    height = sum(t.row_count + _FULL_TABLE_LINES for t in tables) + extra_lines
    width = max((console.measure(t).maximum for t in tables), default=0)
    # One line spare: a frame as tall as the terminal scrolls it by a line.
    return height < console.size.height and width <= console.size.width


def renderable(board: Board, title: str = "flujo executors", counted: str = "updates",
               console: Console | None = None) -> Any:
    """The whole dashboard. ``counted`` names what ``board.updates`` counts (refreshes,
    OTLP exports received). With ``console``, the compact layout when the full tables
    do not fit it."""
    rows = {executor: executor_rows(board, executor) for executor in executors(board)}
    assumed = any(row.assumed for listed in rows.values() for row in listed)
    footer = f"{title} · {counted}: {board.updates}"
    if board.rejected:
        footer += f", {board.rejected} rejected"
    tables = [_full(board, executor, r) for executor, r in rows.items()]
    parts: list[Any] = list(tables)
    notes = [ASSUMED_NOTE] if assumed else []
    if console is not None and not _fits(console, tables, 1 + len(notes)):
        parts = [_compact(board, executor, r) for executor, r in rows.items()]
        notes = [COMPACT_LEGEND]
    if not parts:
        parts.append(Text("(no data yet)", style="dim"))
    parts.append(Text("\n".join([footer, *notes]), style="dim"))
    return Group(*parts)
