# make demo: the exporter against the simulated Lucid stack. make test: everything CI runs.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 10097

.PHONY: setup test lint unit demo bench clean

setup:
	@scripts/setup.sh

lint: setup
	$(BIN)/ruff check lucid_exporter sim tests benchmarks scripts alerts grafana
	$(BIN)/mypy lucid_exporter sim/lucid_sim

test: setup lint
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

unit: setup
	$(BIN)/python -m pytest -q tests/unit

demo: setup
	@scripts/demo.sh

bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .demo .mypy_cache .ruff_cache .pytest_cache *.egg-info sim/*.egg-info
