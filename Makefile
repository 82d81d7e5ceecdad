PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
DEMO_DB ?= $(CURDIR)/.demo/connex.db
DEMO_URL := sqlite+aiosqlite:///$(DEMO_DB)
TRAFFIC ?= yes
TRAFFIC_FLAG := $(if $(filter no false 0 off,$(TRAFFIC)),--no-traffic,--traffic)

.PHONY: run test lint bench demo clean

$(BIN)/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "python3.11 not found; set PY=..."; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(DEVSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@ $(STAMP)

# `demo seed` is all-or-nothing: the file appears only once the demo is complete.
$(DEMO_DB): | $(STAMP)
	$(BIN)/connex-tui demo seed --database-url $(DEMO_URL)

demo: $(DEMO_DB)

run: $(STAMP) $(DEMO_DB)
	$(BIN)/connex-tui --database-url $(DEMO_URL) $(TRAFFIC_FLAG)

lint: $(DEVSTAMP)
	$(BIN)/ruff check connex_tui tests bench
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

bench: $(STAMP) $(DEMO_DB)
	$(BIN)/python bench/customer_list.py
	$(BIN)/python bench/rating.py
	$(BIN)/python bench/simulate_batch.py --database $(DEMO_DB)
	$(BIN)/python bench/regex_budget.py --database $(DEMO_DB)
	$(BIN)/python bench/form_paint.py
	$(BIN)/python bench/stats.py
	$(BIN)/python bench/dialogs_refresh.py
	$(BIN)/python bench/traffic.py --database $(DEMO_DB)
	$(BIN)/python bench/cdr_writer.py
	$(BIN)/python bench/cdr_import.py
	$(BIN)/python bench/cdr_tab.py
	$(BIN)/python bench/demo_seed.py
	$(BIN)/python bench/payment_header.py
	$(BIN)/python bench/jobs_run.py

clean:
	rm -rf $(VENV) .demo .pytest_cache
