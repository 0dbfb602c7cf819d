# make demo: the exporter against the simulated Lucid stack. make test: everything CI runs.
# make drill: the fire drills with their timing tables and the 10-minute healthy window (docs/alerts.md).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 10097

.PHONY: setup test lint unit drill demo bench clean

setup:
	@scripts/setup.sh

lint: setup
	$(BIN)/ruff check lucid_exporter sim tests benchmarks scripts alerts grafana
	$(BIN)/mypy lucid_exporter sim/lucid_sim

test: setup lint
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not drill" tests

# Every fault of the drill table and the healthy stack with the shipped for: (about 30 minutes).
drill: setup
	$(BIN)/python -m pytest -q -s -p no:cacheprovider tests/e2e/test_fire_drill.py tests/e2e/test_container_drill.py \
		tests/e2e/test_healthy_window.py

unit: setup
	$(BIN)/python -m pytest -q tests/unit

demo: setup
	@scripts/demo.sh

bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .demo .mypy_cache .ruff_cache .pytest_cache *.egg-info sim/*.egg-info
