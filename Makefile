# Stadtkern: the one entry point. `make run` serves the demo city; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?=
HOST ?=
PYTEST_ARGS ?=

.PHONY: run setup test test-deps lint format bench lock messages clean

# The lock is complete (every package pinned, see requirements-overrides.txt), so it installs with --no-deps.
$(VENV)/.installed: requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Stadtkern needs Python 3.11 or newer")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip 2>&1 | grep -v "is ignored" || true
	$(PY) -m pip install --quiet --no-deps -r requirements.lock 2>&1 | grep -v "is ignored" || true
	$(PY) -m pip install --quiet --no-deps -e . 2>&1 | grep -v "is ignored" || true
	@$(PY) -c 'import stadtkern, litestar, granian' && touch $@

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "Stadtkern needs Node.js 20+ with npm for its browser assets (apt-get install nodejs npm)."; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(VENV)/.installed node_modules/.installed

run: setup
	$(VENV)/bin/stadtkern run $(if $(PORT),--port $(PORT)) $(if $(HOST),--host $(HOST))

test-deps:
	@bash scripts/install-test-deps.sh

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/ruff format --check src tests benchmarks scripts
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff check --fix src tests benchmarks scripts
	$(VENV)/bin/ruff format src tests benchmarks scripts

test: setup test-deps lint
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup test-deps
	@for script in benchmarks/bench_*.py; do name=$$(basename $$script .py); echo "== $$name"; \
	  $(PY) -m benchmarks.$$name || exit 1; done

lock:
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --override requirements-overrides.txt -o requirements.lock --python-version 3.11 --no-header

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache

# Extract translatable strings (German message ids) and merge them into the English catalog.
messages: setup
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o src/stadtkern/locale/messages.pot src
	@if [ -f src/stadtkern/locale/en/LC_MESSAGES/messages.po ]; then \
	  $(VENV)/bin/pybabel update --no-fuzzy-matching -i src/stadtkern/locale/messages.pot -d src/stadtkern/locale -l en; \
	else \
	  $(VENV)/bin/pybabel init -i src/stadtkern/locale/messages.pot -d src/stadtkern/locale -l en; fi
