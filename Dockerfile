# lucid-exporter: runs as a sidecar in the Lucid compose stack.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY lucid_exporter ./lucid_exporter
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
# Non-root; membership of the docker socket's group is granted at run time (group_add in compose).
RUN useradd --system --uid 10097 --no-create-home --shell /usr/sbin/nologin lucid
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER lucid
EXPOSE 10097
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:10097/-/healthy', timeout=2).status == 200 else 1)"
ENTRYPOINT ["lucid-exporter"]
CMD ["serve", "--config", "/etc/lucid-exporter/config.yml"]
