# make demo: the exporter against the simulated Lucid stack. make test: everything CI runs.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 10097

.PHONY: setup test lint unit demo bench bench-logs clean

setup:
	@scripts/setup.sh

lint: setup
	$(BIN)/ruff check lucid_exporter sim tests benchmarks scripts alerts grafana
	$(BIN)/mypy lucid_exporter sim/lucid_sim

test: setup lint
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 4 --dist loadgroup tests

unit: setup
	$(BIN)/python -m pytest -q tests/unit

demo: setup
	@scripts/demo.sh

# Every benchmark row, one table (docs/performance.md). More rounds: make bench BENCH_ARGS=--long
bench: setup
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

# The log probe against a docker engine: fixed container names, so under the shared docker lock.
bench-logs: setup
	flock /tmp/lucid-docker.lock $(BIN)/python benchmarks/bench_logs.py

clean:
	rm -rf $(VENV) .demo .mypy_cache .ruff_cache .pytest_cache *.egg-info sim/*.egg-info
