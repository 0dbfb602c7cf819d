# lucid-exporter: runs as a sidecar in the Lucid compose stack.
#
# Build it with scripts/build_image.sh: it builds the exporter's wheel and its dependencies' wheels
# on the host (pip wheel, from PyPI) into build/image-wheels/, the only thing the build context
# holds (.dockerignore), so the build itself needs no network. BASE_IMAGE is any image with
# python3 (3.11) and its venv module: python:3.11-slim, or a Debian bookworm base built from Debian
# packages where no registry can be reached (scripts/build_base_image.sh).
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS install
COPY build/image-wheels /wheels
# Only the exporter and its dependencies (compiled to bytecode, so that neither serve nor each
# healthcheck compiles at start): pip and setuptools are not needed at run time.
RUN python3 -m venv /opt/lucid-exporter \
 && /opt/lucid-exporter/bin/pip install --no-index --no-cache-dir --find-links /wheels lucid-exporter \
 && /opt/lucid-exporter/bin/pip uninstall --yes --quiet pip setuptools

FROM ${BASE_IMAGE}
# Non-root; membership of the docker socket's group is granted at run time (group_add in compose).
RUN useradd --system --uid 10097 --user-group --no-create-home --shell /usr/sbin/nologin lucid
COPY --from=install /opt/lucid-exporter /opt/lucid-exporter
ENV PATH=/opt/lucid-exporter/bin:$PATH PYTHONDONTWRITEBYTECODE=1
USER lucid
EXPOSE 10097
# Reads the same config as serve (listen address, TLS, basic auth) and probes /-/healthy on the
# loopback: `lucid-exporter healthcheck --help` says how it treats basic auth.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["lucid-exporter", "healthcheck", "--config", "/etc/lucid-exporter/config.yml"]
ENTRYPOINT ["lucid-exporter"]
CMD ["serve", "--config", "/etc/lucid-exporter/config.yml"]
