# A small production image of kafka-bridge: the wheel and its runtime dependencies on
# python:3.11-slim, run as an unprivileged user. No embedded broker: set
# KAFKA_BRIDGE_BOOTSTRAP_SERVERS. Build: docker build -t kafka-bridge .

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bridge ./bridge
COPY codecs ./codecs
COPY schemas ./schemas
# Wheels for the project and every dependency, so the final stage needs no compiler or cache.
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    KAFKA_BRIDGE_HTTP_HOST=0.0.0.0 \
    KAFKA_BRIDGE_HTTP_PORT=8080 \
    KAFKA_BRIDGE_LOG_FORMAT=json
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels kafka-bridge \
    && useradd --system --uid 10001 --no-create-home bridge
USER 10001
EXPOSE 8080
# Kubernetes uses its own probes (docs/deployment.md); this serves plain `docker run`.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('KAFKA_BRIDGE_HTTP_MANAGEMENT_PORT', os.environ['KAFKA_BRIDGE_HTTP_PORT']) + '/healthy', timeout=2)"]
# SIGTERM starts the graceful shutdown (http.shutdown.timeout.ms).
STOPSIGNAL SIGTERM
ENTRYPOINT ["kafka-bridge"]
