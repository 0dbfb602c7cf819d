#!/usr/bin/env bash
# make demo: the simulated Lucid stack and the exporter, until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
DEMO=.demo
PORT=${PORT:-10097}
mkdir -p "$DEMO"
# The simulator's command, in one place: its own distribution (sim/), installed by make setup.
SIM=("$BIN/lucid-sim")

pids=()
sim=
dockerd_pid=
dockerd_root=
DEMO_SOCKET=/run/lucid-demo-docker.sock
DEMO_BRIDGE=lucid-demo0
cleaned=
cleanup() {
  [ -n "$cleaned" ] && return
  cleaned=1
  # The sim first: on its way out it removes its containers, from an engine that must still run.
  if [ -n "$sim" ]; then kill "$sim" 2>/dev/null || true; wait "$sim" 2>/dev/null || true; fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$dockerd_pid" ]; then
    kill "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
    ip link del "$DEMO_BRIDGE" 2>/dev/null || true
    rm -rf --one-file-system "$dockerd_root"
    echo "demo: stopped its docker engine"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

answers() { docker -H "$1" info >/dev/null 2>&1; }

# A docker engine of its own, as the tests start one (tests/servers_docker.py): its own bridge and
# address pool (never the host's docker0 nor another engine's subnets), no iptables changes, its
# data under /var/tmp; stopped and removed at exit.
start_dockerd() {
  dockerd_root=$(mktemp -d /var/tmp/lucid-demo-dockerd-XXXXXX)
  ip link add name "$DEMO_BRIDGE" type bridge 2>/dev/null || true
  ip addr add 10.215.215.1/24 dev "$DEMO_BRIDGE" 2>/dev/null || true
  ip link set "$DEMO_BRIDGE" up
  # Its own session: a Ctrl-C in the terminal reaches the sim, which still needs the engine to
  # remove its containers; the engine is stopped after it.
  setsid dockerd --host "unix://$DEMO_SOCKET" --data-root "$dockerd_root/data" --exec-root "$dockerd_root/exec" \
    --pidfile "$dockerd_root/docker.pid" --iptables=false --ip-masq=false --bridge "$DEMO_BRIDGE" \
    --default-address-pool base=10.216.0.0/16,size=24 >"$DEMO/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 120); do
    answers "unix://$DEMO_SOCKET" && return 0
    kill -0 "$dockerd_pid" 2>/dev/null || break
    sleep 0.5
  done
  echo "demo: dockerd did not start: $(tail -n 1 "$DEMO/dockerd.log")" >&2
  return 1
}

# With a docker engine, the sim also runs the Lucid containers (busybox, logging like Lucid) on it:
# the one that answers, or else one started here (as root, with Debian's docker.io).
DOCKER_URL=
if command -v docker >/dev/null; then
  for url in "${DOCKER_HOST:-}" unix:///var/run/docker.sock "unix://$DEMO_SOCKET"; do
    if [ -n "$url" ] && answers "$url"; then DOCKER_URL=$url; break; fi
  done
  if [ -z "$DOCKER_URL" ] && [ "$(id -u)" -eq 0 ] && command -v dockerd >/dev/null && start_dockerd; then
    DOCKER_URL=unix://$DEMO_SOCKET
    echo "demo: started a docker engine of its own at $DOCKER_URL (stopped at exit; log $DEMO/dockerd.log)"
  fi
fi
SIM_ARGS=()
CONTAINER_FAULT="(needs a docker engine)"
if [ -n "$DOCKER_URL" ]; then
  SIM_ARGS+=(--docker --docker-url "$DOCKER_URL")
  echo "demo: containers simulated on the docker engine (lucid-* on lucid-network, removed at exit)"
  CONTAINER_FAULT="curl -X PUT http://127.0.0.1:18079/faults/api-gateway/error_burst (also container_stopped, restart_loop, tron_isolation_breach)"
else
  echo "demo: containers not simulated (no docker engine answers, and none can be started here:" \
       "it needs root and Debian's docker.io); docker and log probes off"
fi
rm -f "$DEMO/exporter.yml"
"${SIM[@]}" --write-config "$DEMO/exporter.yml" "${SIM_ARGS[@]}" >"$DEMO/sim.log" 2>&1 &
sim=$!
for _ in $(seq 300); do
  [ -s "$DEMO/exporter.yml" ] && break
  kill -0 "$sim" 2>/dev/null || break
  sleep 0.2
done
[ -s "$DEMO/exporter.yml" ] || { echo "demo: the sim did not start: $(tail -n 1 "$DEMO/sim.log")" >&2; exit 1; }

# The foundation stores are real servers (the sim only stands in for HTTP services):
# Debian redis-server, SecantusDB (MongoDB wire protocol) and osmem-server (OpenSearch API).
REDIS_PORT=${DEMO_REDIS_PORT:-16379}
MONGO_PORT=${DEMO_MONGO_PORT:-27117}
ES_PORT=${DEMO_ES_PORT:-19200}
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$DEMO" \
  --maxmemory 1gb --maxmemory-policy allkeys-lru >"$DEMO/redis.log" 2>&1 &
pids+=($!)
$BIN/python -m secantus --host 127.0.0.1 --port "$MONGO_PORT" --storage-path :memory: --log-level WARNING \
  >"$DEMO/secantus.log" 2>&1 &
pids+=($!)
"$($BIN/python -c 'from osmem_server import resolve_binary; print(resolve_binary())')" \
  --addr "127.0.0.1:$ES_PORT" --no-stdin-watch --no-ja >"$DEMO/osmem.log" 2>&1 &
pids+=($!)
for port in "$REDIS_PORT" "$MONGO_PORT" "$ES_PORT"; do
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "demo: nothing on port $port; see $DEMO/*.log" >&2; exit 1; }
done
$BIN/python scripts/demo_foundation.py "$DEMO/exporter.yml" "$REDIS_PORT" "$MONGO_PORT" "$ES_PORT"

$BIN/lucid-exporter serve --config "$DEMO/exporter.yml" --web.listen-address "127.0.0.1:$PORT" \
  >"$DEMO/exporter.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/-/ready" >/dev/null && break; sleep 0.2; done

# Prometheus with the shipped rules (for: cut to 15 s so that an injected fault pages within
# a minute; expressions and thresholds as shipped) and Alertmanager, both on loopback.
PROM_PORT=${DEMO_PROMETHEUS_PORT:-19090}
AM_PORT=${DEMO_ALERTMANAGER_PORT:-19093}
$BIN/python scripts/drill_rules.py "$DEMO/rules" --for 15 >/dev/null
cat >"$DEMO/alertmanager.yml" <<YML
route: {receiver: demo, group_by: [alertname, cluster, service], group_wait: 5s, group_interval: 10s}
receivers: [{name: demo}]
YML
cat >"$DEMO/prometheus.yml" <<YML
global: {scrape_interval: 5s, evaluation_interval: 5s, scrape_timeout: 4s}
rule_files: ["$PWD/$DEMO/rules/*.rules.yml"]
alerting: {alertmanagers: [{static_configs: [{targets: ["127.0.0.1:$AM_PORT"]}]}]}
scrape_configs: [{job_name: lucid-exporter, static_configs: [{targets: ["127.0.0.1:$PORT"]}]}]
YML
prometheus-alertmanager --config.file="$DEMO/alertmanager.yml" --storage.path="$DEMO/alertmanager-data" \
  --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= >"$DEMO/alertmanager.log" 2>&1 &
pids+=($!)
prometheus --config.file="$DEMO/prometheus.yml" --storage.tsdb.path="$DEMO/prometheus-data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$DEMO/prometheus.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null && break; sleep 0.2; done
# The shipped data source, pointed at the demo's Prometheus, for a Grafana started as printed below.
mkdir -p "$DEMO/grafana-datasources"
sed "s|url: http://prometheus:9090|url: http://127.0.0.1:$PROM_PORT|" grafana/provisioning/datasources/prometheus.yml \
  >"$DEMO/grafana-datasources/prometheus.yml"

cat <<MSG

lucid-exporter demo is running (logs in $DEMO/):
  status page      http://127.0.0.1:$PORT/
  metrics          http://127.0.0.1:$PORT/metrics
  one service      http://127.0.0.1:$PORT/probe?target=auth-service
  foundation       http://127.0.0.1:$PORT/probe?target=redis  (also mongodb, elasticsearch)
                   redis-server :$REDIS_PORT, SecantusDB :$MONGO_PORT, osmem-server :$ES_PORT
  sim control      http://127.0.0.1:18079/
  inject a fault   curl -X PUT http://127.0.0.1:18079/faults/auth-service/down
  container fault  $CONTAINER_FAULT
  clear faults     curl -X DELETE http://127.0.0.1:18079/faults
  sim clock        curl -X POST 'http://127.0.0.1:18079/clock/advance?seconds=60'  (60 s of the sim pass now)
  prometheus       http://127.0.0.1:$PROM_PORT/alerts   (shipped rules, for: 15 s; on this healthy stack
                   only LucidMongoDBConnectionsNearLimit fires: SecantusDB reports 0 connections available)
  alertmanager     http://127.0.0.1:$AM_PORT/
  dashboards       grafana/dashboards/*.json. To view them, start Grafana where a grafana/grafana
                   image is available (docs/dashboards.md has the compose snippet):
                     docker run -d --network host \\
                       -v $PWD/grafana/provisioning/dashboards:/etc/grafana/provisioning/dashboards:ro \\
                       -v $PWD/$DEMO/grafana-datasources:/etc/grafana/provisioning/datasources:ro \\
                       -v $PWD/grafana/dashboards:/var/lib/grafana/dashboards/lucid:ro grafana/grafana
                   then open http://127.0.0.1:3000/d/lucid-overview (admin/admin)

Press Ctrl-C to stop.
MSG
wait "$sim"
