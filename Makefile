# The two commands: `make run` (set up, then run the bridge; local stack when no endpoints are configured)
# and `make test` (set up with the dev tools, then lint, type-check, unit, integration and end-to-end tests).
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# Two install steps: what running needs (`make run`), then the dev tools on top (`make test`).
STAMP   = $(VENV)/.installed
DEVSTAMP = $(VENV)/.installed-dev
INBOX  ?= inbox
# Tests run in parallel processes sharing one stack: most of their time is spent waiting on Kafka,
# OpenSearch and the producer's settle time, not on the two cores.
TEST_WORKERS ?= 3

.PHONY: run test setup setup-dev toolchain test-toolchain lint typecheck unit integration screenshots bench connect-check clean

run: setup toolchain
	$(BIN)/spoolbridge run --inbox $(INBOX)

test: setup-dev test-toolchain lint typecheck
	$(BIN)/pytest -W error -n $(TEST_WORKERS) --maxschedchunk 2 tests

setup: $(STAMP)

setup-dev: $(DEVSTAMP)

$(STAMP): pyproject.toml setup.py $(wildcard producer/read/framing/_jsonscan*.[ch])
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(DEVSTAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEVSTAMP)

# Java 17+ and Maven run the local stack; openssl makes its test certificates.
toolchain:
	@./scripts/ensure-toolchain.sh

# The same, plus chromium for the page's browser tests (Playwright drives /usr/bin/chromium).
test-toolchain:
	@./scripts/ensure-toolchain.sh --tests

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup-dev
	$(BIN)/mypy

unit: setup-dev
	$(BIN)/pytest -W error tests/unit

integration: setup-dev test-toolchain
	$(BIN)/pytest -W error -n $(TEST_WORKERS) --maxschedchunk 2 tests/integration tests/e2e

# The README's two pictures of the page, remade by the browser tests that show those moments.
screenshots: setup-dev test-toolchain
	SPOOLBRIDGE_SCREENSHOTS=docs/screenshots $(BIN)/pytest -W error \
		tests/e2e/web/test_upload_page.py::test_the_steam_sample_arrives_with_the_pipelines_numbers_and_can_be_searched \
		tests/e2e/web/test_resume.py \
		tests/e2e/web/test_nested_object.py


# The printed connector against the real Aiven OpenSearch sink on the local stack (not part of `test`: the
# connector is not on Maven Central; README "Kafka Connect instead of the consumer" says how to build it).
CONNECTOR_VERSION ?= 3.1.1
connect-check: setup-dev
	@test -n "$(CONNECTOR_PLUGIN_DIR)" || { echo "make connect-check CONNECTOR_PLUGIN_DIR=<the connector's folder of jars> [CONNECTOR_VERSION=3.1.1] [CONNECT_CHECK_ARGS=--measure 100000]"; exit 2; }
	$(BIN)/python -m bench.connect_check --plugin-dir "$(CONNECTOR_PLUGIN_DIR)" --connector-version "$(CONNECTOR_VERSION)" $(CONNECT_CHECK_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
