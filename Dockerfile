# envoy-mqtt-bridge: docker run -v $PWD/data:/data envoy-mqtt-bridge
# /data holds config.yaml and the token cache; the container runs as an unprivileged user.
# BASE and PIP_OPTIONS are for builds without Docker Hub or PyPI (the project's image test:
# a debootstrapped stand-in and a local wheelhouse); a user builds with neither.
ARG BASE=python:3.11-slim
FROM ${BASE}
ARG PIP_OPTIONS=

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    ENVOY_BRIDGE_CACHE_DIR=/data ENVOY_BRIDGE_CONFIG=/data/config.yaml

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bridge ./bridge
RUN pip install --no-cache-dir ${PIP_OPTIONS} . \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin bridge \
    && mkdir -p /data && chown bridge /data && chmod 0700 /data

USER bridge
VOLUME ["/data"]

# Judges the health document the bridge rewrites every 5 s in its cache directory (/data:
# ENVOY_BRIDGE_CACHE_DIR wins over the file; of $ENVOY_BRIDGE_CONFIG only that is read, so the
# check never fails on the rest of the configuration, and works without the file): unhealthy when the document is older than --max-age, paho's network
# thread or a gateway's worker thread has died, the broker was not reached for --max-age, or an
# online gateway published nothing for health.max_silence (default 3 x the slowest poll group).
HEALTHCHECK --interval=60s --timeout=10s --start-period=120s --retries=3 \
    CMD ["envoy-mqtt-bridge", "health", "--max-age", "300"]

ENTRYPOINT ["envoy-mqtt-bridge"]
CMD ["run", "-c", "/data/config.yaml"]
