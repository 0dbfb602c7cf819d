#!/usr/bin/env bash
# Installs what the tests and the demo need, when it is missing: Debian packages (as root)
# and a virtual environment with the project. Safe to run again; does nothing when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(redis-server prometheus prometheus-alertmanager docker.io busybox-static
              prometheus-redis-exporter prometheus-elasticsearch-exporter prometheus-blackbox-exporter
              openssl curl iproute2 debootstrap docker-compose victoria-metrics python3-venv)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]} (run as root, or install them)" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  # Package scripts must not start services: the tests start and stop their own servers.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.installed
# The exporter and, beside it, the simulated stack (its own distribution, sim/): one pip run, so that
# the sim's dependency on lucid-exporter is met by this checkout. Again when either's metadata changes.
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ sim/pyproject.toml -nt "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev]' -e './sim[test]'
  touch "$stamp"
fi
