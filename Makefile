# fairness: tasks. `make` (or `make help`) lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
INSTALLER ?= uv
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Python writes each module's bytecode when it first imports it, unless PYTHONDONTWRITEBYTECODE is
# set (it is on this 2-core machine): then every process a run starts (test workers, CLI tests,
# notebook kernels) would compile again every module it imports whose bytecode the install did not
# write, and make venv writes none (scripts/install.sh). So the tasks here never pass it on.
unexport PYTHONDONTWRITEBYTECODE
# The package compiled once before the many processes a run starts, so that they do not race to
# compile it (compileall writes the .pyc files whatever that variable says).
COMPILE = $(BIN)/python -m compileall -q fairness
MATRIX := data/synthetic/gvm-history.csv
SEED ?= 20181231
CONTACT ?=

.PHONY: help venv data report test test-slow lint bench clean

help: ## list the tasks
	@echo "fairness: audit gang databases for disproportionality and data-protection failures"
	@echo
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

# scripts/install.sh: uv (pip if uv cannot be had) installs the package and its extras without
# compiling the libraries; each module is compiled when first imported, once (see unexport above).
$(STAMP): pyproject.toml scripts/sysdeps.sh scripts/install.sh
	@bash scripts/sysdeps.sh
	bash scripts/install.sh $(PYTHON) $(VENV) $(INSTALLER)
	@touch $(STAMP)

venv: $(STAMP) ## create .venv and install the package with its dependencies

$(MATRIX): | $(STAMP)
	$(BIN)/fairness synth --scenario gvm-history --seed $(SEED) --out $(MATRIX)

data: $(MATRIX) ## generate the default synthetic matrix (if missing)

report: $(STAMP) $(MATRIX) ## render the quarterly report and the scrutiny briefing (2018Q4 and the latest quarter) into reports/
	@$(COMPILE)
	$(BIN)/fairness report --matrix $(MATRIX) --quarter 2018Q4 --quarter latest --briefing $(if $(CONTACT),--contact "$(CONTACT)")

# make test: every test not marked slow, the doctests, property tests with a fifth of their
# examples, on TEST_WORKERS processes (pytest-xdist; one file per worker at a time, so each
# file's shared fixtures are computed once). make test-slow: the slow tests (real notebooks,
# processes, whole synthetic histories) and every property test with all its examples.
# PYTEST_ARGS: more options for pytest (e.g. PYTEST_ARGS=--durations=20).
TEST_WORKERS ?= auto
PYTEST_ARGS ?=
PYTEST_PARALLEL = -n $(TEST_WORKERS) --dist loadfile

test: $(STAMP) ## run the fast test suite (everything not marked slow; under 2.5 min on 2 cores)
	@$(COMPILE)
	$(BIN)/python -m pytest -m "not slow" --hypothesis-profile=fast $(PYTEST_PARALLEL) $(PYTEST_ARGS)

test-slow: $(STAMP) ## run the slow tests and every property test with all its examples (CI runs test, then this)
	@$(COMPILE)
	$(BIN)/python -m pytest -m "slow or hypothesis" --hypothesis-profile=full $(PYTEST_PARALLEL) $(PYTEST_ARGS)

lint: $(STAMP) ## check style with ruff (the package, tests, benchmarks, scripts and notebooks)
	$(BIN)/ruff check fairness tests benchmarks scripts notebooks

BENCH_ARGS ?=
bench: $(STAMP) ## run the performance benchmarks (~25 min; not part of test; BENCH_ARGS=--quick ENGINE_ARGS="--only 1M" for a shorter run)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/engine.py $(ENGINE_ARGS)

clean: ## remove generated data and reports (keeps .venv)
	rm -rf data/synthetic/*.csv data/synthetic/*.parquet data/synthetic/*.truth.json reports/*/ .pytest_cache
