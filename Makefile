# calltrail: `make run` serves on SQLite, `make test` runs lint and every test.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help run test lint fmt bench clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-6s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: set PYTHON=python3.11 or newer"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP) ## create the venv, install, serve on 127.0.0.1:8000 with SQLite
	$(BIN)/python -m entrypoints.devrun --host $(HOST) --port $(PORT)

test: lint ## ruff, mypy --strict, then every test
	$(BIN)/python -m pytest -q

lint: $(STAMP) ## ruff and mypy --strict over every package and the tests
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(STAMP) ## format and fix what ruff can
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP) ## run the benchmarks in benchmarks/ (prints ratios against in-run baselines)
	$(BIN)/python -m benchmarks

clean: ## remove the venv, caches and local databases
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
