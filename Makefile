# authbench: session lookup versus JWT, measured.  `make` (or `make help`) lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SCENARIO ?= default
SERVER ?= session
PORT ?= 8000
RUN ?= results/reference
PYTEST_ARGS ?=

.PHONY: help setup bench micro plots serve live test lint notebooks clean

help: ## List the targets (the default goal)
	@echo "authbench: server-side session lookup versus JWT, measured."
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "Variables: SCENARIO=quick|default|full|path.toml  SERVER=session|jwt_auth|control"
	@echo "           PORT=8000  RUN=results/<run>  DATABASE_URL=postgresql://... (use an existing server)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "authbench needs Python 3.11 or newer, found " + sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP) ## Create .venv and install authbench with its dev tools

bench: $(STAMP) ## Run a scenario (SCENARIO=default), write results/ and plots, print a summary
	$(PY) -m bench run --scenario $(SCENARIO)

micro: $(STAMP) ## Micro-benchmarks of the auth step alone (no HTTP)
	$(PY) -m bench micro

plots: $(STAMP) ## Redraw the plots of a run (RUN=results/<run>)
	$(PY) -m bench plot $(RUN)

serve: $(STAMP) ## Serve one server on 127.0.0.1:PORT with its own PostgreSQL (SERVER=session)
	$(PY) -m bench serve --server $(SERVER) --port $(PORT)

live: $(STAMP) ## Serve SERVER and open Locust's web UI at http://127.0.0.1:8089 for a room to watch
	$(PY) -m bench live --server $(SERVER) --port $(PORT)

test: $(STAMP) ## Run the test suite (servers, security cases, bench, notebooks)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP) ## Check style with ruff
	$(VENV)/bin/ruff check bench servers tests
	$(VENV)/bin/ruff format --check bench servers tests

notebooks: $(STAMP) ## Open JupyterLab on notebooks/ (they read the committed reference run)
	$(VENV)/bin/jupyter lab notebooks/

clean: ## Remove the venv and caches (results/ is yours: runs are never deleted here)
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
	find . -name __pycache__ -prune -exec rm -rf {} +
