#!/usr/bin/env bash
# Builds the exporter image: wheels on the host, then `docker build` with no network inside.
#
#   scripts/build_image.sh [--base IMAGE] [--tag TAG]
#     --base  BASE_IMAGE of the Dockerfile (default python:3.11-slim; where no registry can be
#             reached: scripts/build_base_image.sh builds lucid-exporter-base:bookworm from Debian)
#     --tag   default lucid-exporter:latest, the image docker-compose.example.yml runs
#
# The wheels (the exporter's and its dependencies', from PyPI) go to build/image-wheels/, the
# only part of the tree in the build context (.dockerignore). pip resolves dependencies with the
# markers of the interpreter it runs on (redis needs async-timeout below Python 3.11.3 only), so
# the wheels are made by a host interpreter of the base image's exact Python version when there is
# one (Debian's /usr/bin/python3 for the Debian base); else by $PYTHON or .venv/bin/python, with a
# warning. The engine is the docker CLI's (DOCKER_HOST). Prints the image's size.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE=python:3.11-slim
TAG=lucid-exporter:latest
while (($#)); do
  case $1 in
    --base) BASE=$2; shift 2 ;;
    --tag) TAG=$2; shift 2 ;;
    *) echo "usage: $0 [--base IMAGE] [--tag TAG]" >&2; exit 2 ;;
  esac
done
WHEELS=build/image-wheels

started=$SECONDS
target=$(docker run --rm --entrypoint python3 "$BASE" -c 'import platform; print(platform.python_version())')
PY=
for candidate in ${PYTHON:-} .venv/bin/python /usr/bin/python3 python3; do
  version=$("$candidate" -c 'import platform; print(platform.python_version())' 2>/dev/null) || continue
  if [ "$version" = "$target" ]; then PY=$candidate; break; fi
done
if [ -z "$PY" ]; then
  PY=${PYTHON:-.venv/bin/python}
  echo "build_image: warning: no Python $target on this host: dependency markers evaluated by $PY" >&2
fi
# A virtual environment of that interpreter, for its pip (Debian's python3 has none of its own;
# its venv module comes with python3-venv, which scripts/setup.sh installs).
builder=build/wheel-builder-$target
[ -x "$builder/bin/pip" ] || "$PY" -m venv "$builder"
rm -rf "$WHEELS" build/lib build/bdist.*  # setuptools reuses build/lib: a stale one would add removed files
mkdir -p "$WHEELS"
"$builder/bin/pip" wheel --quiet --disable-pip-version-check --wheel-dir "$WHEELS" . >&2
wheels_done=$SECONDS
# The legacy builder: it is in every engine, and the build needs none of BuildKit's features.
DOCKER_BUILDKIT=0 docker build --quiet --build-arg "BASE_IMAGE=$BASE" --tag "$TAG" . >/dev/null
size=$(docker image inspect -f '{{.Size}}' "$TAG")
echo "build_image: $TAG from $BASE: $((size / 1000000)) MB ($size bytes);" \
     "wheels $((wheels_done - started)) s, docker build $((SECONDS - wheels_done)) s" >&2
