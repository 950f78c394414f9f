# Developer entry points. A fresh machine needs only python3 (3.11), make and gcc: the venv
# is created and filled on first use, and refilled only when a requirements file changes.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# Stamps record which requirements the venv was last filled from; make compares mtimes.
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
# Extra pytest arguments: make test ARGS='-k sandbox -x'
ARGS ?=
# Mutant names or globs for make mutate: make mutate MUTANTS='notify.services.outbox.engine.*'
MUTANTS ?=

.DEFAULT_GOAL := help
.PHONY: help run test faults bench bench-smoke lint fmt clean venv mutate

help:
	@echo "make run    - the whole stack (API, worker, beat, Flower, provider sandbox)"
	@echo "make test   - ruff, mypy and pytest (extra pytest args: ARGS='-k foo')"
	@echo "make faults - the fault-injection suite alone, larger (FAULT_N=300 by default)"
	@echo "make lint   - ruff, mypy and lint-imports (the import contracts) only"
	@echo "make fmt    - format and auto-fix with ruff"
	@echo "make bench  - the full benchmark (~70 min), results in bench/results/"
	@echo "make bench-smoke - the CI-sized benchmark (~6 min; .ci/run runs it after make test)"
	@echo "make mutate - mutation testing of the delivery core (mutmut, ~1 h; docs/testing.md)"
	@echo "make venv   - create/refresh $(VENV) with the dev requirements"
	@echo "make clean  - delete .data (embedded databases, keys, static files)"

$(PY):
	@echo "==> creating $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV)
	@echo "==> upgrading pip"
	@$(PY) -m pip install --quiet --upgrade pip

$(RUN_STAMP): requirements.txt | $(PY)
	@echo "==> installing requirements.txt"
	@$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

# requirements-dev.txt includes requirements.txt, so it refreshes the run stamp too.
$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PY)
	@echo "==> installing requirements-dev.txt"
	@$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@ $(RUN_STAMP)

venv: $(DEV_STAMP)

run: $(RUN_STAMP)
	@$(PY) -m notify.stack run

test: $(DEV_STAMP)
	@$(PY) -m notify.stack test -- $(ARGS)

faults: $(DEV_STAMP)
	@FAULT_N=$${FAULT_N:-300} $(PY) -m notify.stack test -- tests/faults $(ARGS)

# mypy's Django plugin imports the settings, which refuse to load without a SECRET_KEY.
lint: $(DEV_STAMP)
	@echo "==> ruff check" && $(PY) -m ruff check .
	@echo "==> ruff format --check" && $(PY) -m ruff format --check .
	@echo "==> mypy" && SECRET_KEY="$${SECRET_KEY:-lint-only-not-secret}" $(PY) -m mypy .
	@echo "==> lint-imports" && $(VENV)/bin/lint-imports

fmt: $(DEV_STAMP)
	@$(PY) -m ruff format .
	@$(PY) -m ruff check --fix .

# Full benchmark (~70 min; docs/benchmark.md). Results in bench/results/.
bench: $(DEV_STAMP)
	@$(PY) -m bench

# CI-sized benchmark (~6 min), run by .ci/run after `make test`; exits non-zero only when
# the benchmark breaks (a phase crashed, nothing delivered). Results in bench/results/smoke/.
bench-smoke: $(DEV_STAMP)
	@$(PY) -m bench --smoke

# Mutation testing of the delivery core (docs/testing.md): mutmut mutates the files that
# [tool.mutmut] in pyproject.toml names and runs their fast tests against each mutant, one
# mutant at a time (the tests share a database and a Redis). Results are kept in mutants/ and
# only changed code is tested again; `rm -rf mutants` for a fresh run. Not part of make test.
mutate: $(DEV_STAMP)
	@eval "$$($(PY) -m notify.stack env)" && \
	  NOTIFY_TEST_DATABASE="$${NOTIFY_TEST_DATABASE:-test_notify_mutate}" \
	  SECRET_KEY="$${SECRET_KEY:-mutate-only-not-secret}" \
	  $(PY) -m mutmut run --max-children 1 $(foreach m,$(MUTANTS),'$(m)'); \
	status=$$?; $(PY) -m mutmut results; exit $$status

clean:
	@$(PY) -m notify.stack stop 2>/dev/null || true
	rm -rf .data
