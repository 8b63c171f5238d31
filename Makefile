# Set-up is automatic: every target that needs the virtual environment
# creates it, installs the pinned packages and generates the gRPC code.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROTOS := $(shell find protos -name '*.proto')
GENERATED := gen/.generated

.PHONY: run test install generate lint clean bench-feed bench-writes demo
.PHONY: compose-check compose-up compose-down contract-test proto-breaking
.PHONY: bank-test crash-test bad-input-test

COMPOSE_FILE := deploy/docker-compose.yml
# apt-get needs root; elsewhere it runs through sudo.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

install: $(STAMP) $(GENERATED)

$(VENV)/bin/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# grpcio-tools first: the code it generates must exist before the editable
# install, which maps the generated "bank" package from gen/.
$(GENERATED): $(VENV)/bin/python $(PROTOS)
	$(BIN)/pip install --quiet grpcio-tools==1.85.1
	rm -rf gen && mkdir -p gen
	$(BIN)/python -m grpc_tools.protoc -Iprotos --python_out=gen --grpc_python_out=gen \
		--pyi_out=gen $(PROTOS)
	touch $@

$(STAMP): $(GENERATED) pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

generate: $(GENERATED)

run: install
	$(BIN)/python -m bank_common.stack

# Starts the services on their default ports with a fresh database in
# data/demo/, imports data/berka and prints one account's statement.
demo: install
	$(BIN)/python -m bankctl.demo $(DEMO_ARGS)

test: install compose-check
	$(BIN)/buf lint
	$(BIN)/python -m pytest

# Change-feed latency with 1 and with 50 subscribers; see docs/benchmarks.md.
bench-feed: install
	$(BIN)/python -m benchmarks.feed_latency --subscribers 1
	$(BIN)/python -m benchmarks.feed_latency --subscribers 50

# Transfer throughput and latency at several concurrency levels.
bench-writes: install
	$(BIN)/python -m benchmarks.write_throughput

# The long reliability runs; docs/reliability.md describes what they check.
bank-test: install
	$(BIN)/python -m tests.reliability.bank_workload $(BANK_TEST_ARGS)

crash-test: install
	$(BIN)/python -m tests.reliability.crash_test $(CRASH_TEST_ARGS)

bad-input-test: install
	BAD_INPUT_EXAMPLES=$${BAD_INPUT_EXAMPLES:-300} $(BIN)/python -m pytest -p no:cacheprovider \
		tests/reliability -k bad_input

lint: install
	$(BIN)/ruff check .
	$(BIN)/buf lint

clean:
	rm -rf $(VENV) gen

# Validate the compose file with Debian's docker-compose (1.29), installing
# the package when it is missing. No Docker engine is needed for this.
compose-check:
	@command -v docker-compose >/dev/null 2>&1 || { \
		echo "installing Debian's docker-compose to validate $(COMPOSE_FILE)"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends docker-compose; }
	docker-compose -f $(COMPOSE_FILE) config -q

compose-up:
	deploy/compose.sh up

compose-down:
	deploy/compose.sh down

# Against a throw-away compose stack where a Docker engine answers, else
# against the three services started as local processes.
contract-test: install
	@if docker info >/dev/null 2>&1; then \
		deploy/compose.sh contract-test; \
	else \
		echo "no Docker engine: contract tests against local processes"; \
		$(BIN)/python -m pytest tests/contract; \
	fi

# Wire and JSON breaking changes of protos/ against a git ref: a branch,
# tag or commit, e.g. make proto-breaking REF=origin/main or REF=HEAD~1.
proto-breaking: install
	@test -n "$(REF)" || { \
		echo "usage: make proto-breaking REF=<git ref>, e.g. REF=main" >&2; exit 2; }
	@git rev-parse --verify --quiet '$(REF)^{commit}' >/dev/null || { \
		echo "REF=$(REF) is not a commit in this repository" >&2; exit 2; }
	$(BIN)/buf breaking --against '.git#ref=$(REF)'
