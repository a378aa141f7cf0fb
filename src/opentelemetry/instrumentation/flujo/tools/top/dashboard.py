"""``Dashboard``: the live terminal view, next to an application or fed by a receiver.

In-process use::

    from opentelemetry.instrumentation.flujo.tools.top import Dashboard

    dashboard = Dashboard()      # its own MeterProvider + reader, bound to every
    dashboard.start()            # instrumented executor; refreshes in a thread
    ...
    dashboard.stop()

or pass the ``InMemoryMetricReader`` you gave your own MeterProvider:
``Dashboard(reader)``.
"""

from __future__ import annotations

import threading
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from rich.console import Console
from rich.live import Live

from opentelemetry.instrumentation.flujo._internal.otel.views import flujo_views
from opentelemetry.instrumentation.flujo._internal.runtime import get_runtime
from opentelemetry.instrumentation.flujo._internal.samples import from_metrics_data
from opentelemetry.instrumentation.flujo.tools.top.board import Board
from opentelemetry.instrumentation.flujo.tools.top.render import renderable


class Dashboard:
    def __init__(self, reader: InMemoryMetricReader | None = None, *,
                 board: Board | None = None, console: Console | None = None,
                 title: str = "flujo executors") -> None:
        """``reader``: poll it on every refresh. ``board``: show what a receiver fills in.
        Neither: a private MeterProvider observing every instrumented executor."""
        self._provider: MeterProvider | None = None
        if reader is None and board is None:
            reader = InMemoryMetricReader()
            self._provider = MeterProvider(metric_readers=[reader],
                                           views=flujo_views(get_runtime().config))
            get_runtime().bind(self._provider)
        self.reader = reader
        self.board = board or Board()
        self.console = console or Console()
        self.title = title
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self, fit: bool = False) -> Any:
        """Collect (when reading in-process) and return the renderable; ``fit``: in the
        compact layout when the full one does not fit the console."""
        if self.reader is not None:
            self.board.update(from_metrics_data(self.reader.get_metrics_data()), replace=True)
        counted = "refreshes" if self.reader is not None else "OTLP exports received"
        return renderable(self.board.copy(), self.title, counted,
                          self.console if fit else None)

    def print(self) -> None:
        """One snapshot, no live updating (scripts, CI, pipes): the full tables."""
        self.console.print(self.refresh())

    def run(self, refresh_s: float = 1.0) -> None:
        """Live-update every ``refresh_s`` seconds until ``stop()`` (or Ctrl-C), fitted to
        the terminal; the last frame, drawn on ``stop()``, stays on screen."""
        self._stop.clear()
        self._live(refresh_s)

    def _live(self, refresh_s: float) -> None:
        with Live(self.refresh(fit=True), console=self.console, refresh_per_second=4,
                  transient=False) as live:
            while not self._stop.wait(refresh_s):
                live.update(self.refresh(fit=True))
            live.update(self.refresh(fit=True))

    def start(self, refresh_s: float = 1.0) -> None:
        # Cleared here, not in the thread: a stop() right after start() must end it.
        self._stop.clear()
        self._thread = threading.Thread(target=self._live, args=(refresh_s,),
                                        name="flujo-otel-dashboard", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._provider is not None:
            self._provider.shutdown()
            self._provider = None
