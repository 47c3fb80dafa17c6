# authbench: session lookup versus JWT, measured.  `make` (or `make help`) lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SCENARIO ?= default
SERVER ?= session
RUNTIME ?= python
PORT ?= 8000
HOST ?= 127.0.0.1
RUN ?= results/reference
LOCUST_WORKERS ?=
SERVER_WORKERS ?=
ifeq ($(origin WORKERS),command line)
$(error WORKERS is two settings now: LOCUST_WORKERS=N (make bench: Locust processes) or SERVER_WORKERS=N (make serve: the server's worker processes))
endif
PYTEST_ARGS ?=

.PHONY: help setup bench micro plots flamegraph report serve watch test lint constraints notebooks docs docs-check clean

help: ## List the targets (the default goal)
	@echo "authbench: server-side session lookup versus JWT, measured."
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "Variables: SCENARIO=quick|default|full|runtimes|curve|path.toml  SERVER=session|jwt_auth|control"
	@echo "           LOCUST_WORKERS=N (make bench: Locust processes)  SERVER_WORKERS=N (make serve: server processes)"
	@echo "           RUNTIME=python|fastapi|node (make serve)"
	@echo "           HOST=127.0.0.1 PORT=8000 (make serve)  RUN=results/<run>  DATABASE_URL=postgresql://... (use an existing server)"
	@echo "           WHO=locust (make flamegraph: sample the load generator instead of the server)"

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "authbench needs Python 3.11 or newer, found " + sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP) ## Create .venv and install authbench with its dev tools

bench: $(STAMP) ## Run a scenario (SCENARIO=default, LOCUST_WORKERS=N Locust processes), results/, plots, verdicts
	$(PY) -m bench run --scenario $(SCENARIO) $(if $(LOCUST_WORKERS),--locust-workers $(LOCUST_WORKERS))

micro: $(STAMP) ## Micro-benchmarks of the auth step alone (no HTTP)
	$(PY) -m bench micro

plots: $(STAMP) ## Redraw the plots of a run (RUN=results/<run>)
	$(PY) -m bench plot $(RUN)

flamegraph: $(STAMP) ## Flame graph of SERVER under load (py-spy); WHO=locust samples the load generator instead
	$(PY) -m bench flamegraph --server $(SERVER) $(if $(filter locust,$(WHO)),--load-generator --rate 1000)

report: $(STAMP) ## One self-contained HTML page of a run, every notebook rendered (RUN=results/<run>)
	$(PY) -m bench report $(RUN)

serve: $(STAMP) ## Serve one server on HOST:PORT (127.0.0.1:8000) with its own PostgreSQL (SERVER=session RUNTIME=python|fastapi|node SERVER_WORKERS=N)
	@$(PY) -m bench serve --server $(SERVER) --host $(HOST) --port $(PORT) --runtime $(RUNTIME) $(if $(SERVER_WORKERS),--server-workers $(SERVER_WORKERS)) || test $$? -eq 130  # Ctrl-C is a clean stop

watch: $(STAMP) ## Serve SERVER and open Locust's web UI at http://127.0.0.1:8089 for a room to watch
	@$(PY) -m bench watch --server $(SERVER) --port $(PORT) || test $$? -eq 130  # Ctrl-C is a clean stop

test: $(STAMP) ## Run the test suite (servers, security cases, bench, notebooks)
	$(PY) -m pytest $(PYTEST_ARGS)

constraints: $(STAMP) ## Rewrite constraints.txt from the installed versions (after changing pyproject.toml)
	@{ echo "# Exact versions for every seat of a workshop: make setup installs with -c constraints.txt."; \
	   echo "# Regenerate after changing pyproject.toml: make constraints."; \
	   $(PY) -m pip freeze --exclude-editable | grep -v '^authbench'; } > constraints.txt
	@echo "constraints.txt: $$(grep -vc '^#' constraints.txt) pinned packages"

lint: $(STAMP) ## Check style (ruff) and the architecture (import-linter contracts in pyproject.toml)
	$(VENV)/bin/ruff check bench servers tests
	$(VENV)/bin/ruff format --check bench servers tests
	$(VENV)/bin/lint-imports

notebooks: $(STAMP) ## Open JupyterLab on notebooks/ (they read the committed reference run)
	$(VENV)/bin/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

docs: $(STAMP) ## Regenerate the notebooks' outputs and the generated blocks of README and docs/ from the reference runs
	$(PY) -m bench.analysis.docs

docs-check: $(STAMP) ## Fail, naming the place, when a generated block or a notebook output differs from make docs
	$(PY) -m bench.analysis.docs --check

clean: ## Remove the venv and caches (results/ is yours: runs are never deleted here)
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
	find . -name __pycache__ -prune -exec rm -rf {} +
