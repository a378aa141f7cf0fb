# Two environments: .venv (the default python3, newest OpenTelemetry) runs everything
# but the real-flujo tests; .venv-flujo (Python 3.13, flujo 0.6.x, and the
# opentelemetry-api < 1.44 that flujo's pydantic-ai needs) runs those.
PYTHON ?= python3
# The interpreter's real path: a pyenv shim for python3.13 exists even when it cannot run.
FIND313 := import sys; print(sys.executable if sys.version_info[:2] == (3, 13) else "")
PYTHON313 ?= $(or $(shell python3.13 -c '$(FIND313)' 2>/dev/null),$(shell PYENV_VERSION=3.13.0 python3 -c '$(FIND313)' 2>/dev/null),python3.13)
VENV := .venv
FVENV := .venv-flujo
PIP_FLAGS ?= -q --disable-pip-version-check

.PHONY: demo test test-quick test-main test-flujo lint bench generate dev dev-flujo clean
.PHONY: bench-smoke bench-flujo

$(VENV)/.stamp: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) -e ".[dev]"
	touch $@

$(FVENV)/.stamp: pyproject.toml
	$(PYTHON313) -m venv $(FVENV)
	$(FVENV)/bin/pip install $(PIP_FLAGS) -e ".[test]" "flujo>=0.6,<0.7" "opentelemetry-api<1.44"
	touch $@

# The demo needs only the cli extra (rich): a venv without pip of its own (ensurepip
# alone takes ~10 s), filled by the interpreter's pip without byte-compiling every
# dependency, is ready in ~20 s on an idle machine. `make dev` later adds pip and the
# rest to the same venv.
$(VENV)/.demo-stamp: pyproject.toml
	$(PYTHON) -m venv --without-pip $(VENV)
	$(PYTHON) -m pip --python $(VENV)/bin/python install $(PIP_FLAGS) --no-compile -e ".[cli]"
	touch $@

dev: $(VENV)/.stamp
dev-flujo: $(FVENV)/.stamp

demo: $(if $(wildcard $(VENV)/.stamp),$(VENV)/.stamp,$(VENV)/.demo-stamp)
	$(VENV)/bin/flujo-otel demo --duration 20

# Everything, slow tests included (CI runs this): both halves run even when the first
# fails (-k), so a failure in one never hides the other's result.
test:
	$(MAKE) -k test-main test-flujo

# The quick loop while developing: no real flujo, no test marked slow.
test-quick: dev
	$(VENV)/bin/pytest -m "not flujo and not slow" $(PYTEST_ARGS)

test-main: dev
	$(VENV)/bin/pytest -m "not flujo" $(PYTEST_ARGS)

# Real flujo, plus the core of the suite again on the older opentelemetry-api/sdk
# that flujo pins (our dependency ranges must keep working there).
COMPAT_TESTS := tests/test_instruments.py tests/test_collection.py tests/test_registry.py \
	tests/test_otlp.py tests/test_instrumentor.py tests/test_thresholds_evaluate.py \
	tests/test_thresholds_otlp.py tests/test_alerts_delivery.py tests/test_faults_reset.py \
	tests/test_stats_budget.py \
	tests/test_runtime.py

test-flujo: dev-flujo
	$(FVENV)/bin/pytest -m flujo $(PYTEST_ARGS)
	$(FVENV)/bin/pytest $(COMPAT_TESTS) $(PYTEST_ARGS)

lint: dev
	$(VENV)/bin/ruff check src tests bench examples
	$(VENV)/bin/mypy

generate: dev
	$(VENV)/bin/python -m opentelemetry.instrumentation.flujo.tools.generate

bench: dev
	$(VENV)/bin/python -m bench

# CI: every figure runs and is written (not over the committed bench/results.json);
# no timing is asserted.
bench-smoke: dev
	$(VENV)/bin/python -m bench --quick --output bench/results-smoke.json

# The flujo wrapper's figures need flujo (Python 3.13): they print n/a elsewhere.
bench-flujo: dev-flujo
	$(FVENV)/bin/python -m bench --flujo --output bench/results-flujo.json

clean:
	rm -rf $(VENV) $(FVENV) .pytest_cache .mypy_cache .ruff_cache
