"""What one pipeline name's runs did and spent: the runs counter and duration, spend by
step, and how near the runs in flight came to their ``UsageLimits``.

One :class:`Spend` per executor (pipeline) name, owned by that name's :class:`Measured`
(measured.py), fed by the run wrappers (runs.py) and read with the name's stats.

**Spend is what was produced.** Every step output's cost and tokens are counted once,
when flujo extracts them from the output (``extract_usage_metrics``: a top-level step's,
a loop iteration's, a parallel branch's, a fallback's, a nested run's steps'), under the
step that produced it. That equals flujo's ``PipelineResult`` totals wherever those are
complete, and exceeds them exactly by what flujo leaves out of a run it stops at its
``UsageLimits`` (``UsageLimitExceededError.result`` keeps only part of the steps that
ran). An attempt that raised produced no output and is not counted, nor is a cache
hit (it produced nothing new; flujo's totals count its stored cost again).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opentelemetry.instrumentation.flujo._internal.catalog import (
    PIPELINE_NAME,
    RUN_OUTCOME,
    STEP_NAME,
    TOKEN_TYPE,
    TOKEN_TYPES,
)
from opentelemetry.instrumentation.flujo._internal.flujo_hooks import genai

if TYPE_CHECKING:
    from opentelemetry.instrumentation.flujo._internal.flujo_hooks.sources import FlujoSources

# Entries a journal (a name's executions, its outputs) holds before the hot path folds
# it itself: with no collection for a while (a provider without a reader), memory stays
# bounded (~0.5 MiB a journal).
JOURNAL_CAPACITY = 4096


class Spend:
    """Runs and spend of one pipeline name: the counts the stats report (cost, tokens,
    usage-limit utilization) and the run, duration and spend points recorded into the
    runtime's bindings. Called by runs.py per run and per output, and by the name's
    :class:`Measured` per collection."""

    __slots__ = ("_cost", "_ended", "_journal", "_limited", "_lock", "_peak", "_ran",
                 "_run_attributes", "_sources", "_spend_attributes", "_step_label", "_tokens",
                 "name")

    def __init__(self, name: str, sources: FlujoSources,
                 step_label: Callable[[Any], str] | None) -> None:
        self.name = name
        self._sources = sources
        # The name's capped step labels (shared with its execution histogram); None:
        # the attribute is off.
        self._step_label = step_label
        self._lock = threading.Lock()
        self._ran = False  # a run has started (a plain store: no lock on the hot path)
        self._cost = 0.0
        self._tokens = 0
        self._limited: set[Any] = set()  # runs in flight that have UsageLimits
        self._peak: float | None = None  # their largest fraction, of those ended since
        self._run_attributes: dict[str, dict[str, str]] = {}
        self._spend_attributes: dict[tuple[Any, ...], dict[str, str]] = {}
        # The outputs since the last fold, as add()'s arguments: the hot path appends,
        # fold() adds them up when a collection starts or the stats are read.
        self._journal: deque[tuple[Any, float, int, tuple[int, int] | None, str | None]] = (
            deque())
        # The runs ended since the last fold: (outcome, seconds, duration point kept for
        # the fold), the same way.
        self._ended: deque[tuple[str, float, bool]] = deque()

    def run_started(self, run: Any) -> None:
        self._ran = True
        if run.limited:
            with self._lock:
                self._limited.add(run)

    def run_ended(self, run: Any, outcome: str, elapsed: float) -> None:
        if run.limited:
            with self._lock:
                self._limited.discard(run)
                # Kept until the next read: a run shorter than the export interval
                # still shows how near its limit it came, once.
                self._peak = max(self._peak or 0.0, run.fraction)
        context, sources = run.context, self._sources
        kept = context is sources.run_quiet or sources.run_keeps(context)
        if not kept:  # its duration point gives an exemplar: recorded now, in its span
            attributes = self._run_attributes_of(outcome)
            for binding, instruments in sources.run_targets:
                if binding.active and instruments.duration is not None:
                    instruments.duration.record(elapsed, attributes, context=context)
        ended = self._ended
        ended.append((outcome, elapsed, kept))
        if len(ended) > JOURNAL_CAPACITY:
            self.fold()

    def _run_attributes_of(self, outcome: str) -> dict[str, str]:
        attributes = self._run_attributes.get(outcome)
        if attributes is None:
            attributes = self._run_attributes.setdefault(
                outcome, {PIPELINE_NAME: self.name, RUN_OUTCOME: outcome})
        return attributes

    def add(self, step: Any, cost: float, tokens: int,
            split: tuple[int, int] | None, model: str | None) -> None:
        """One output's spend; ``split``: (input, output) tokens where flujo knows them,
        with the ``model`` (``provider:model``) that used them."""
        journal = self._journal
        journal.append((step, cost, tokens, split, model))
        if len(journal) > JOURNAL_CAPACITY:
            self.fold()

    def fold(self) -> None:
        """Add the journals' outputs and ended runs to the sums, the counters' totals and
        the duration's kept points, one by one (an entry added meanwhile is folded now or
        next time, never lost)."""
        journal, ended = self._journal, self._ended
        if not (journal or ended):
            return
        targets = [instruments for binding, instruments in self._sources.run_targets
                   if binding.active]
        durations: list[tuple[float, dict[str, str]]] = []
        with self._lock:
            while ended:
                outcome, elapsed, kept = ended.popleft()
                attributes = self._run_attributes_of(outcome)
                for instruments in targets:
                    if instruments.runs is not None:
                        instruments.runs.add(1, attributes)
                if kept:
                    durations.append((elapsed, attributes))
            while journal:
                step, cost, tokens, split, model = journal.popleft()
                self._cost += cost
                self._tokens += tokens
                for instruments in targets:
                    if cost and instruments.cost is not None:
                        instruments.cost.add(cost, self._attributes_of(step, model))
                    if tokens and instruments.tokens is not None:
                        if split is None:
                            instruments.tokens.add(tokens, self._attributes_of(step))
                        else:
                            for token_type, count in zip(TOKEN_TYPES, split, strict=True):
                                instruments.tokens.add(count, self._attributes_of(
                                    step, model, token_type))
        if durations:
            for instruments in targets:
                if instruments.duration is not None:
                    instruments.duration.keep(durations)

    def _attributes_of(self, step: Any, model: str | None = None,
                       token_type: str | None = None) -> dict[str, str]:
        key = (step, model, token_type)
        found = self._spend_attributes.get(key)
        if found is not None:
            return found
        attributes = {PIPELINE_NAME: self.name}
        if self._step_label is not None:
            attributes[STEP_NAME] = self._step_label(step)
        if token_type is not None:
            attributes[TOKEN_TYPE] = token_type
        if model:  # flujo's own metric, not a GenAI convention one: the current names
            attributes.update(genai.model_attributes(model, latest=True))
        return self._spend_attributes.setdefault(key, attributes)

    def stats(self) -> dict[str, float] | None:
        """What the runs spent; None for a name that has had no run (a bare executor).
        ``usage_limit_utilization`` describes the runs in progress (and one that ended
        since the previous read, once): absent between runs."""
        self.fold()
        with self._lock:
            if not self._ran:
                return None
            stats: dict[str, float] = {"cost_usd": self._cost, "tokens": self._tokens}
            fractions = [run.fraction for run in self._limited]
            if self._peak is not None:
                fractions.append(self._peak)
                self._peak = None
        if fractions:  # absent without a run that has limits: no evidence, no value
            stats["usage_limit_utilization"] = max(fractions)
        return stats
