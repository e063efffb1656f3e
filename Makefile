# Redcard — the two commands a newcomer needs are `make demo` and `make test`.
VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

setup: $(BIN)/.installed ## create .venv and install Redcard with its dev tools

browser: ## install Debian's chromium for the browser tests (Playwright drives it)
	@scripts/install-chromium.sh

demo: setup ## run the demo on SQLite at http://127.0.0.1:8000 (seeds a demo city on first run)
	$(BIN)/redcard demo

lint: setup ## ruff and mypy
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: setup browser lint ## lint, then the whole suite on SQLite and PostgreSQL, browser included
	@scripts/ensure-postgres.sh
	$(BIN)/pytest

screenshots: setup browser ## photograph a freshly seeded demo at phone size into docs/images/
	$(BIN)/python scripts/screenshots.py

bench: setup ## run the benchmarks (PostgreSQL)
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

.PHONY: help setup browser demo lint test screenshots bench
