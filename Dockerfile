# syntax=docker/dockerfile:1
# The stream-app worker image: `docker build -t stream-app .`
# The same image runs `stream-app topics apply` (compose `topics`, k8s Job) and
# `stream-app worker` (the default command).

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: install the package and its rocksdb extra into a venv -----------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# README* is optional (pyproject names it as the long description).
COPY pyproject.toml README* ./
COPY stream_app ./stream_app
RUN pip install ".[rocksdb]"

# --- runtime: no compilers, no pip cache, non-root ----------------------------------
FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    STREAM_APP_WEB_HOST=0.0.0.0 \
    STREAM_APP_WEB_PORT=6066 \
    STREAM_APP_DATA_DIR=/data
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin app \
    && mkdir -p /app /data \
    && chown app:app /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# Fail the build, not the first start, if the package lost its topic catalog.
RUN python -c "from stream_app.wire.catalog import load_catalog; load_catalog()"
USER 10001:10001
# RocksDB tables and snapshots; mount a volume here so restarts recover locally
# instead of replaying the changelogs from the start.
VOLUME ["/data"]
EXPOSE 6066
# No curl in slim: ask /healthz with the interpreter we already have.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('STREAM_APP_WEB_PORT', '6066'), timeout=4)"]
ENTRYPOINT ["stream-app"]
CMD ["worker"]
