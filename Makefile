# Three environments prove the declared support; `make test` (what CI runs) runs all three:
#   .venv         the newest Python (3.13) and the newest OpenTelemetry: everything but
#                 the real-flujo tests (also lint, generate, bench)
#   .venv-lowest  the lowest Python (3.10) and the lowest declared version of every
#                 runtime dependency (tests/constraints/lowest.txt): the core of the suite
#   .venv-flujo   Python 3.13, flujo 0.6.x and the opentelemetry-api < 1.44 that flujo's
#                 pydantic-ai needs: the real-flujo tests and the core again
# Python X.Y's real path: python3.Y from PATH, else pyenv's newest X.Y.* (a pyenv shim
# exists even where it cannot run, hence the version check); empty when there is none.
FIND_PY = import sys; print(sys.executable if "%d.%d" % sys.version_info[:2] == "$(1)" else "")
find_python = $(or $(shell python$(1) -c '$(FIND_PY)' 2>/dev/null),$(shell PYENV_VERSION=$$(pyenv versions --bare 2>/dev/null | grep -E '^$(subst .,\.,$(1))\.[0-9]+$$' | sort -V | tail -1) python3 -c '$(FIND_PY)' 2>/dev/null))
PYTHON313 ?= $(call find_python,3.13)
PYTHON310 ?= $(call find_python,3.10)
PYTHON ?= $(PYTHON313)
VENV := .venv
LVENV := .venv-lowest
FVENV := .venv-flujo
PIP_FLAGS ?= -q --disable-pip-version-check

.PHONY: demo test test-quick test-main test-lowest test-flujo lint bench generate
.PHONY: dev dev-lowest dev-flujo bench-smoke bench-flujo clean

# An interpreter that is not there fails the build of its environment, loudly: a
# skipped environment would leave part of the declared support unproven.
need_python = @test -n "$(1)" || { echo "error: Python $(2) not found on PATH or in pyenv;" \
	"the $(3) environment needs it" >&2; exit 1; }

$(VENV)/.stamp: pyproject.toml
	$(call need_python,$(PYTHON),3.13,main)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) -e ".[dev]"
	touch $@

# Only the runtime dependencies are pinned (to their floors); the test tools resolve
# to what works with them.
$(LVENV)/.stamp: pyproject.toml tests/constraints/lowest.txt
	$(call need_python,$(PYTHON310),3.10,lowest-versions)
	$(PYTHON310) -m venv $(LVENV)
	$(LVENV)/bin/pip install $(PIP_FLAGS) -e ".[test]" -c tests/constraints/lowest.txt
	touch $@

$(FVENV)/.stamp: pyproject.toml
	$(call need_python,$(PYTHON313),3.13,flujo)
	$(PYTHON313) -m venv $(FVENV)
	$(FVENV)/bin/pip install $(PIP_FLAGS) -e ".[test]" "flujo>=0.6,<0.7" "opentelemetry-api<1.44"
	touch $@

# The demo needs only the cli extra (rich): a venv without ensurepip (~10 s), filled by
# the interpreter's pip without byte-compiling every dependency, is ready in ~20 s on an
# idle machine. pip itself is installed into it the same way (a second or two), so that
# after `. .venv/bin/activate` the README's next command, `pip install ...`, installs
# into this venv and not into whichever pip is next on PATH. `make dev` later adds the
# rest to the same venv.
$(VENV)/.demo-stamp: pyproject.toml
	$(PYTHON) -m venv --without-pip $(VENV)
	$(PYTHON) -m pip --python $(VENV)/bin/python install $(PIP_FLAGS) --no-compile -e ".[cli]" pip
	touch $@

dev: $(VENV)/.stamp
dev-lowest: $(LVENV)/.stamp
dev-flujo: $(FVENV)/.stamp

demo: $(if $(wildcard $(VENV)/.stamp),$(VENV)/.stamp,$(VENV)/.demo-stamp)
	$(VENV)/bin/flujo-otel demo --duration 20

# Everything, slow tests included (CI runs this). The three environments run side by
# side: their tests mostly wait on subprocesses and receivers (2 cores, fresh venvs:
# lint + test + bench-smoke took 6 min on an otherwise idle machine, 13.5 min with five
# other jobs running; test-main is the longest). Each one's output is printed whole
# when it ends; -k: a failure in one never hides another's result.
test:
	$(MAKE) -k -j3 --output-sync=target test-main test-lowest test-flujo

# The quick loop while developing: no real flujo, no test marked slow.
test-quick: dev
	$(VENV)/bin/pytest -m "not flujo and not slow" $(PYTEST_ARGS)

test-main: dev
	$(VENV)/bin/pytest -m "not flujo" $(PYTEST_ARGS)

# The core of the suite, run again on the lowest declared versions and on the older
# opentelemetry-api/sdk that flujo pins: collection, OTLP export (import auto,
# opentelemetry-instrument with and without a configurator), thresholds, alerts, fork
# safety, service.instance.id under gunicorn, the instrumentor.
CORE_TESTS := tests/test_instruments.py tests/test_collection.py tests/test_registry.py \
	tests/test_otlp.py tests/test_instrumentor.py tests/test_thresholds_evaluate.py \
	tests/test_thresholds_otlp.py tests/test_alerts_delivery.py tests/test_faults_reset.py \
	tests/test_stats_budget.py tests/test_runtime.py tests/test_faults_fork.py \
	tests/test_service_instance.py tests/test_workers.py tests/test_packaging.py

# The lowest versions also run the failing-collector suite: the exporters' bounded
# retries are why the floor is 1.35.
test-lowest: dev-lowest
	$(LVENV)/bin/pytest $(CORE_TESTS) tests/test_faults_export.py $(PYTEST_ARGS)

test-flujo: dev-flujo
	$(FVENV)/bin/pytest -m flujo $(PYTEST_ARGS)
	$(FVENV)/bin/pytest $(CORE_TESTS) $(PYTEST_ARGS)

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
	rm -rf $(VENV) $(LVENV) $(FVENV) .pytest_cache .mypy_cache .ruff_cache
