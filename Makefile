# Two commands that work on a fresh machine: `make run` and `make test`.
# Both create/update the project-local virtualenv .venv from the pinned requirements.lock
# (installed once, reused until requirements.lock or pyproject.toml change).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench venv demo clean

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

## Run the whole nightly pipeline on the embedded default (DuckDB, Airflow+SQLite, demo data).
run: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/run_nightly.sh

## Run the test suite.
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src dags tests benchmarks

## Benchmark: per-step time and peak memory over a scale sweep, full load and next nightly,
## against the bare-DuckDB floor; ends with one `ratios:` line. BENCH_ARGS="--scales 1 5 --repeat 3"
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

clean:
	rm -rf data airflow_home dbt_project/target dbt_project/logs expectations/uncommitted
