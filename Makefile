# The two commands: `make run` (set up, then run the bridge; local stack when no endpoints are configured)
# and `make test` (set up, then lint, type-check, unit, integration and end-to-end tests).
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
INBOX  ?= inbox

.PHONY: run test setup toolchain lint typecheck unit integration bench clean

run: setup toolchain
	$(BIN)/spoolbridge run --inbox $(INBOX)

test: setup toolchain lint typecheck
	$(BIN)/pytest -W error tests

setup: $(STAMP)

$(STAMP): pyproject.toml setup.py $(wildcard producer/_jsonscan*.[ch])
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Java 17+ and Maven run the local stack; openssl makes its test certificates.
toolchain:
	@./scripts/ensure-toolchain.sh

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest -W error tests/unit

integration: setup toolchain
	$(BIN)/pytest -W error tests/integration tests/e2e

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
