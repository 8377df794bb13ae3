# calltrail: `make run` serves on SQLite, `make test` runs lint and every test.
# The interpreter the venv is made with: PYTHON=... if given, else the first of python3,
# python3.13, python3.12, python3.11 that is Python 3.11 or newer (looked for only when the
# venv is made).
CANDIDATES := python3 python3.13 python3.12 python3.11
NEW_ENOUGH := import sys; sys.exit(sys.version_info < (3, 11))
ifndef PYTHON
PYTHON = $(shell for p in $(CANDIDATES); do \
	$$p -c '$(NEW_ENOUGH)' >/dev/null 2>&1 && { echo $$p; break; }; done)
endif
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
	@test -n "$(PYTHON)" && $(PYTHON) -c '$(NEW_ENOUGH)' >/dev/null 2>&1 || { echo "calltrail needs\
	 Python 3.11 or newer ($(if $(PYTHON),$(PYTHON) is missing or older,none of $(CANDIDATES) is)):\
	 set PYTHON=/path/to/python3.11-or-newer"; exit 1; }
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
