#!/usr/bin/env bash
# A Debian bookworm base image with python3 (3.11) and venv, made from Debian packages only
# (debootstrap --variant=minbase) and `docker import`ed: for building the exporter image where
# no registry serves python:3.11-slim (the Dockerfile's default BASE_IMAGE).
#
#   scripts/build_base_image.sh [TAG]          default TAG: lucid-exporter-base:bookworm
#
# The engine is the docker CLI's (DOCKER_HOST). The root filesystem is built once and kept as a
# tarball in $LUCID_CACHE_DIR (default /var/cache/lucid-exporter), keyed by this script's content;
# an engine that already holds TAG made from the same tarball is left alone. Needs root (debootstrap).
set -euo pipefail

TAG=${1:-lucid-exporter-base:bookworm}
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=${LUCID_CACHE_DIR:-/var/cache/lucid-exporter}
# python3-venv brings ensurepip's wheels (pip and setuptools), which the Dockerfile's
# build stage uses to install the exporter's wheels into a virtual environment.
PACKAGES=python3,python3-venv
KEY=$(cat "$0" | sha256sum | cut -c1-16)
TARBALL=$CACHE/base-$SUITE-$KEY.tar

say() { echo "build_base_image: $*" >&2; }

if [ ! -s "$TARBALL" ]; then
  [ "$(id -u)" -eq 0 ] || { say "debootstrap needs root"; exit 1; }
  command -v debootstrap >/dev/null || { say "debootstrap is not installed (scripts/setup.sh installs it)"; exit 1; }
  mkdir -p "$CACHE/debs"
  root=$(mktemp -d /var/tmp/lucid-base-XXXXXX)
  cleanup() {
    # debootstrap mounts proc and sys inside the target: unmount before removing anything.
    { grep -o " $root/[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    rm -rf --one-file-system "$root"
  }
  trap cleanup EXIT
  started=$SECONDS
  say "debootstrap $SUITE ($PACKAGES) from $MIRROR into $root"
  debootstrap --variant=minbase --include="$PACKAGES" --cache-dir="$CACHE/debs" \
    "$SUITE" "$root" "$MIRROR" >"$root.log" 2>&1 || { tail -n 20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
  rm -f "$root.log"
  # A runtime base: no package lists, caches, documentation, manuals or translations.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
         "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
         "$root"/var/log/*.log "$root"/var/log/apt/*
  tar -C "$root" --numeric-owner -cf "$TARBALL.tmp" . && mv "$TARBALL.tmp" "$TARBALL"
  say "root filesystem built in $((SECONDS - started)) s: $TARBALL ($(du -m "$TARBALL" | cut -f1) MiB)"
fi

if [ "$(docker image inspect -f '{{ index .Config.Labels "lucid.base.key" }}' "$TAG" 2>/dev/null)" = "$KEY" ]; then
  say "$TAG is current"
  exit 0
fi
docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change "LABEL lucid.base.key=$KEY" \
  --change 'CMD ["python3"]' \
  "$TARBALL" "$TAG" >/dev/null
say "imported $TAG"
