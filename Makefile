# Two commands set everything up on a fresh machine:
#   make up    - create .venv, install, run the hub on the embedded broker + SQLite with demo data
#   make test  - create .venv, install dev dependencies and the tools extra (Debian's chromium and axe-core for page tests), run every test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: up test lint typecheck chromium clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev,tools]'
	touch $@ $(VENV)/.installed

# Page tests drive Debian's Chromium through Playwright (playwright's own browser download cannot work here).
chromium:
	@test -x /usr/bin/chromium || { \
	  echo "installing Debian chromium for the page tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# axe-core (the automated accessibility check of the page tests), pinned in package.json / package-lock.json.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { \
	  echo "installing Debian npm for the page tests' accessibility check"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

up: $(VENV)/.installed
	$(BIN)/onestory up

# The consent engine's tests run once, with its 100% branch-coverage gate; then everything else.
# The layers first (seconds): an import pointing up fails the run before any test (.importlinter).
test: $(VENV)/.installed-dev chromium node_modules/.installed
	$(BIN)/lint-imports
	$(BIN)/pytest tests/unit/consent_engine --cov=consent_engine --cov-branch \
	  --cov-report=term-missing:skip-covered --cov-fail-under=100
	$(BIN)/pytest --ignore=tests/unit/consent_engine

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy hub connectors projections consent_engine

clean:
	rm -rf $(VENV) var node_modules .pytest_cache .mypy_cache .ruff_cache
