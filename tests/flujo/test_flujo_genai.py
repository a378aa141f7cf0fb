"""GenAI semantic-convention metrics and exemplars, from real flujo pipelines with real
pydantic-ai agents under ``opentelemetry-instrument`` (zero code), with traces and
metrics exported over real OTLP from the same process (flujo_genai_workload.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from flujo_support import APP_PYTHONPATH, require_flujo

from opentelemetry.instrumentation.flujo._internal import catalog

from receivers import Exemplar, GrpcReceiver, Point, Span

pytestmark = [pytest.mark.flujo, pytest.mark.slow]

HERE = Path(__file__).parent
SCOPE = catalog.SCOPE
TOKENS, DURATION = catalog.GENAI_TOKEN_USAGE.name, catalog.GENAI_OPERATION_DURATION.name
RUN_DURATION, STEP_DURATION = catalog.RUN_DURATION.name, catalog.EXECUTION_DURATION.name
PIPELINE, EXECUTOR, STEP = catalog.PIPELINE_NAME, catalog.EXECUTOR_NAME, catalog.STEP_NAME
SYSTEM, PROVIDER = "gen_ai.system", "gen_ai.provider.name"
MODEL, TOKEN_TYPE, OPERATION = "gen_ai.request.model", "gen_ai.token.type", "gen_ai.operation.name"
# flujo.toml: prices for the providers flujo has no default for (it refuses to run
# an agent it cannot price).
PRICES = """
[cost.providers.google-gla.gemini-2.0-flash]
prompt_tokens_per_1k = 0.0001
completion_tokens_per_1k = 0.0004

[cost.providers.grok.grok-3]
prompt_tokens_per_1k = 0.003
completion_tokens_per_1k = 0.015
"""


class Exported:
    """What one run of the workload exported, and what flujo said about it."""

    def __init__(self, said: dict[str, Any], points: list[Point], spans: list[Span]) -> None:
        self.said = said
        self.points = points
        self.spans = {(s.trace_id, s.span_id): s for s in spans}

    def series(self, metric: str, scope: str = SCOPE,
               **attributes: Any) -> dict[tuple[Any, ...], list[Point]]:
        """Every export of each series of ``metric`` that has ``attributes``, oldest first."""
        found: dict[tuple[Any, ...], list[Point]] = defaultdict(list)
        for p in sorted(self.points, key=lambda p: p.time_unix_nano):
            if (p.metric == metric and p.scope == scope
                    and all(p.attributes.get(k) == v for k, v in attributes.items())):
                found[tuple(sorted(p.attributes.items()))].append(p)
        return found

    def final(self, metric: str, scope: str = SCOPE, **attributes: Any) -> dict[Any, Any]:
        """{attributes: last cumulative value} of ``metric``'s series."""
        return {key: exports[-1].value
                for key, exports in self.series(metric, scope, **attributes).items()}

    def exemplars(self, metric: str, **attributes: Any) -> list[Exemplar]:
        """Every exemplar of ``metric``'s points (a collection reports those offered since
        the previous one, so every export counts)."""
        return [e for exports in self.series(metric, **attributes).values()
                for p in exports for e in p.exemplars]

    def span_of(self, exemplar: Exemplar) -> Span:
        return self.spans[(exemplar.trace_id, exemplar.span_id)]


def run_workload(tmp_path: Path, **extra_env: str) -> Exported:
    require_flujo()
    (tmp_path / "flujo.toml").write_text(PRICES)
    with GrpcReceiver() as receiver:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        env.update(
            OTEL_METRICS_EXPORTER="otlp", OTEL_TRACES_EXPORTER="otlp",
            OTEL_LOGS_EXPORTER="none", OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_SERVICE_NAME="flujo-genai",
            # the package under test first, as the test process has it
            PYTHONPATH=os.pathsep.join([APP_PYTHONPATH, *sys.path]), **extra_env)
        instrument = Path(sys.executable).parent / "opentelemetry-instrument"
        done = subprocess.run(
            [str(instrument), sys.executable, str(HERE / "flujo_genai_workload.py")],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        line = next(x for x in done.stdout.splitlines() if x.startswith("FLUJO-RESULTS "))
        # The process exported everything at its shutdown, before it exited.
        return Exported(json.loads(line.removeprefix("FLUJO-RESULTS ")), receiver.points(),
                        receiver.spans())


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    return run_workload(tmp_path_factory.mktemp("genai-default"))


def tokens_of(exported: Exported, key: str, **model: str) -> dict[str, dict[str, float]]:
    """{token type: {"count", "sum"}} of our gen_ai.client.token.usage for one model."""
    out = {}
    for token_type in ("input", "output"):
        values = list(exported.final(TOKENS, **model, **{TOKEN_TYPE: token_type}).values())
        assert len(values) == 1, (key, token_type, values)
        out[token_type] = {"count": values[0]["count"], "sum": values[0]["sum"]}
    return out


def test_agent_calls_are_genai_metrics_with_the_established_names(default: Exported) -> None:
    said = default.said
    assert said["served"]["success"] == 6 and said["hooked"]["success"] == 3
    for pipeline, provider, model in (("served", "openai", "gpt-4o-mini"),
                                      ("hooked", "gcp.gemini", "gemini-2.0-flash")):
        at = {SYSTEM: provider, MODEL: model}
        used = tokens_of(default, pipeline, **at)
        # One input and one output point per call, adding up to what flujo accounted.
        assert used["input"]["count"] == used["output"]["count"] == said[pipeline]["calls"]
        assert used["input"]["sum"] > 0 and used["output"]["sum"] > 0
        assert used["input"]["sum"] + used["output"]["sum"] == said[pipeline]["tokens"]
        (duration,) = default.final(DURATION, **at).values()
        assert duration["count"] == said[pipeline]["calls"]
    # The attributes: the convention's names and values, the model without flujo's
    # provider prefix, the operation; the established provider attribute only.
    keys = {key for metric in (TOKENS, DURATION) for key in default.final(metric)}
    assert keys and all(dict(key)[OPERATION] == "chat" and PROVIDER not in dict(key)
                        and ":" not in dict(key)[MODEL] for key in keys)
    assert {dict(key)[SYSTEM] for key in keys} == {"openai", "gcp.gemini", "xai"}
    # A call that raised: its duration with error.type; no tokens (flujo accounted none).
    (failed,) = default.final(DURATION, **{SYSTEM: "xai"}).values()
    assert failed["count"] >= 1
    assert all(dict(key).get("error.type") for key in default.final(DURATION, **{SYSTEM: "xai"}))
    assert not default.final(TOKENS, **{SYSTEM: "xai"})
    # flujo.step.tokens keeps the complete per-step account, with the current names.
    step_tokens = default.final(catalog.STEP_TOKENS.name, **{PIPELINE: "hooked"})
    assert sum(step_tokens.values()) == said["hooked"]["total"]
    assert {dict(key).get(PROVIDER) for key in step_tokens} == {"gcp.gemini", None}


def test_an_agent_pydantic_ai_instruments_is_not_counted_twice(default: Exported) -> None:
    claude = {MODEL: "claude-3-5-haiku"}
    # pydantic-ai recorded that agent's tokens itself; this package did not (auto).
    pydantic_ai = default.final(TOKENS, scope="pydantic-ai", **{TOKEN_TYPE: "input"})
    assert sum(v["count"] for v in pydantic_ai.values()) == default.said["instrumented"]["calls"]
    assert not default.final(TOKENS, **claude) and not default.final(DURATION, **claude)
    # Its spend is still in flujo's per-step account.
    assert sum(default.final(catalog.STEP_TOKENS.name, **{PIPELINE: "instrumented"}).values()) \
        == default.said["instrumented"]["total"]


def test_exemplars_lead_to_the_spans_of_the_runs(default: Exported) -> None:
    for metric in (RUN_DURATION, STEP_DURATION, DURATION):
        found = default.exemplars(metric)
        assert found, metric
        # Every exemplar is a span the same process exported.
        missing = [e for e in found if (e.trace_id, e.span_id) not in default.spans]
        assert not missing, (metric, missing)

    # Runs inside the application's request spans: their points lead to those spans.
    served = default.exemplars(RUN_DURATION, **{PIPELINE: "served"})
    assert {default.span_of(e).name for e in served} == {"request"}
    assert {default.span_of(e).name
            for e in default.exemplars(STEP_DURATION, **{EXECUTOR: "served"})} == {"request"}
    assert {default.span_of(e).name
            for e in default.exemplars(DURATION, **{MODEL: "gpt-4o-mini"})} == {"request"}
    # The slowest run's exemplar is that run's trace.
    requests = [s for s in default.spans.values() if s.name == "request"]
    assert len(requests) == 6
    slowest = max(requests, key=lambda s: s.duration_ns)
    assert max(served, key=lambda e: e.value).trace_id == slowest.trace_id

    # With flujo's OpenTelemetryHook: its pipeline_run span, and each step's own span.
    hooked = default.exemplars(RUN_DURATION, **{PIPELINE: "hooked"})
    assert hooked and {default.span_of(e).name for e in hooked} == {"pipeline_run"}
    for key, exports in default.series(STEP_DURATION, **{EXECUTOR: "hooked"}).items():
        step = dict(key)[STEP]
        names = {default.span_of(e).name for p in exports for e in p.exemplars}
        assert names == {step}, (step, names)
    gemini = default.exemplars(DURATION, **{MODEL: "gemini-2.0-flash"})
    assert gemini and {default.span_of(e).name for e in gemini} == {"answer"}
    runs = {s.trace_id for s in default.spans.values() if s.name == "pipeline_run"}
    assert {e.trace_id for e in gemini} <= runs


def test_the_latest_conventions_and_on_count_every_agent_call(tmp_path: Path) -> None:
    exported = run_workload(
        tmp_path, OTEL_SEMCONV_STABILITY_OPT_IN="http,gen_ai_latest_experimental",
        OTEL_PYTHON_FLUJO_GENAI_METRICS="on")
    keys = {key for metric in (TOKENS, DURATION) for key in exported.final(metric)}
    assert keys and all(SYSTEM not in dict(key) for key in keys)
    assert {dict(key)[PROVIDER] for key in keys} == {"openai", "gcp.gemini", "anthropic", "x_ai"}
    # on: the agent pydantic-ai instruments is counted here too (and by pydantic-ai).
    claude = tokens_of(exported, "instrumented", **{PROVIDER: "anthropic"})
    assert claude["input"]["count"] == exported.said["instrumented"]["calls"]
    assert exported.final(TOKENS, scope="pydantic-ai")


def test_off_records_no_genai_metrics(tmp_path: Path) -> None:
    exported = run_workload(tmp_path, OTEL_PYTHON_FLUJO_GENAI_METRICS="off")
    assert not exported.final(TOKENS) and not exported.final(DURATION)
    assert sum(exported.final(catalog.STEP_TOKENS.name, **{PIPELINE: "served"}).values()) \
        == exported.said["served"]["total"]
