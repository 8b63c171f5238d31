# Set-up is automatic: every target that needs the virtual environment
# creates it, installs the pinned packages and generates the gRPC code.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROTOS := $(shell find protos -name '*.proto')
GENERATED := gen/.generated

.PHONY: run test install generate lint clean bench-feed demo

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

test: install
	$(BIN)/python -m pytest

# Change-feed latency with 1 and with 50 subscribers; see docs/benchmarks.md.
bench-feed: install
	$(BIN)/python -m benchmarks.feed_latency --subscribers 1
	$(BIN)/python -m benchmarks.feed_latency --subscribers 50

lint: install
	$(BIN)/ruff check .
	$(BIN)/buf lint

clean:
	rm -rf $(VENV) gen
