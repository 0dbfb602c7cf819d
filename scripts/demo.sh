#!/usr/bin/env bash
# make demo: the simulated Lucid stack and the exporter, until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
DEMO=.demo
PORT=${PORT:-10097}
mkdir -p "$DEMO"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

$BIN/lucid-exporter sim --write-config "$DEMO/exporter.yml" >"$DEMO/sim.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -s "$DEMO/exporter.yml" ] && break; sleep 0.2; done
[ -s "$DEMO/exporter.yml" ] || { echo "demo: the sim did not start; see $DEMO/sim.log" >&2; exit 1; }

$BIN/lucid-exporter serve --config "$DEMO/exporter.yml" --web.listen-address "127.0.0.1:$PORT" \
  >"$DEMO/exporter.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/-/ready" >/dev/null && break; sleep 0.2; done

cat <<MSG

lucid-exporter demo is running (logs in $DEMO/):
  status page      http://127.0.0.1:$PORT/
  metrics          http://127.0.0.1:$PORT/metrics
  one service      http://127.0.0.1:$PORT/probe?target=auth-service
  sim control      http://127.0.0.1:18079/
  inject a fault   curl -X PUT http://127.0.0.1:18079/faults/auth-service/down
  clear faults     curl -X DELETE http://127.0.0.1:18079/faults
  dashboards       grafana/dashboards/ (Grafana compose snippet in docs/dashboards.md)

Press Ctrl-C to stop.
MSG
wait
