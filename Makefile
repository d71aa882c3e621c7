# Two commands that work on a fresh machine: `make run` and `make test`.
# Both create/update the project-local virtualenv .venv from the pinned requirements.lock
# (installed once, reused until requirements.lock or pyproject.toml change).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-extended lint bench venv demo clean ui topology

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

## Run the whole nightly pipeline on the embedded default (DuckDB, Airflow+SQLite, demo data).
run: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/run_nightly.sh

## The deployment topology as local processes (PostgreSQL, Redis, Airflow API server, scheduler,
## DAG processor, triggerer, Celery worker; Debian's postgresql + redis-server) with the demo
## company served. `make ui`: the DAG paused, unpause or trigger it in the UI; `make topology`:
## unpaused, the scheduler runs the last 7 nights (catch-up). Prints the URL and the login.
ui: $(STAMP)
	$(BIN)/smarketing topology $(TOPOLOGY_ARGS)

topology: $(STAMP)
	$(BIN)/smarketing topology --unpause $(TOPOLOGY_ARGS)

## Run the test suite (all but the `extended` suites; `make test-extended` runs those, CI both).
# Two workers (the machine's two cores); a file's tests stay on one worker (--dist loadfile), so
# module fixtures (the fault catalogue's company, the topology) are built once; the longest files
# start first (tests/conftest.py) so both workers finish together. PYTEST_WORKERS=0 runs serially.
# PYTEST_MARKS selects by marker ("" runs everything); PYTEST_ARGS are passed on.
PYTEST_WORKERS ?= 2
PYTEST_MARKS ?= not extended
test: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile -m "$(PYTEST_MARKS)" $(PYTEST_ARGS)

## The long end-to-end suites: fault catalogue, nightly equivalence, topology, bench sweep.
test-extended: $(STAMP)
	$(MAKE) test PYTEST_MARKS=extended

## Lint: ruff (Python) and sqlfluff (dbt templater, duckdb dialect: .sqlfluff) with zero findings.
# The dbt templater compiles the project; it opens a scratch warehouse, never the real one, and
# renders every registered vendor's branch of the vendor unions (SMARKETING_DBT_VARS).
lint: $(STAMP)
	$(BIN)/ruff check src dags tests benchmarks
	$(BIN)/ruff format --check src dags tests benchmarks
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  SMARKETING_DBT_VARS="$$(SMARKETING_DISABLED_VENDORS= $(BIN)/smarketing vendors --dbt-vars)" \
	  SMARKETING_WAREHOUSE_PATH="$$tmp/lint.duckdb" $(BIN)/sqlfluff lint --disable-progress-bar \
	    dbt_project/models dbt_project/tests dbt_project/macros

## Benchmark: per-step time and peak memory over a scale sweep, full load and next nightly,
## against the bare-DuckDB floor; ends with one `ratios:` line. BENCH_ARGS="--scales 1 5 --repeat 3"
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

clean:
	rm -rf data airflow_home topology artifacts dbt_project/target dbt_project/logs expectations/uncommitted
