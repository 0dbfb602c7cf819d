# make demo: the exporter against the simulated Lucid stack. make test: everything CI runs.
# make drill: the fire drills alone, printing their timing tables and the 10-minute healthy window (docs/alerts.md).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 10097

.PHONY: setup test lint unit drill healthy-window demo bench bench-logs clean

setup:
	@scripts/setup.sh

lint: setup
	$(BIN)/ruff check lucid_exporter sim tests benchmarks scripts alerts grafana
	$(BIN)/mypy lucid_exporter sim/lucid_sim

# Six workers on two cores: most tests wait on servers, sims and Prometheus rather than compute
# (-n 6: 5 min 50 s, -n 4: 7 min 10 s, 1,201 tests). The docker tests share one engine and run on
# one worker (xdist_group "docker", about 5.5 minutes alone): the floor of the suite's wall time.
test: setup lint
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 6 --dist loadgroup -m "not drill" tests

# The drills alone, in one process so that they print their tables (docs/alerts.md): every fault of the
# drill table with its seconds to fire and to resolve, and the healthy stack with the shipped for: for
# 10 minutes. make test runs the fault drills too (without the tables), not the 10-minute window.
drill: setup
	$(BIN)/python -m pytest -q -s -p no:cacheprovider tests/e2e/test_fire_drill.py tests/e2e/test_lucid_drill.py \
		tests/e2e/test_container_drill.py \
		tests/e2e/test_healthy_window.py

# The healthy stack with the shipped rules for 10 minutes, alone (CI runs it after make test).
healthy-window: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/e2e/test_healthy_window.py

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
