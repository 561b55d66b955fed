# spoolbridge — one image for both services: `docker run IMAGE produce --inbox /data/inbox`,
# `docker run IMAGE consume`. Configure it with SPOOLBRIDGE_* environment variables (see docker-compose.yml).
#
# Two stages: the first builds a virtualenv with `pip install .`, the second copies only that virtualenv
# onto a fresh slim base, so no pip cache, build backend, compiler or source tree ends up in the image.
# Every dependency ships manylinux wheels for amd64 and arm64; the one compiler job is spoolbridge's own
# small C extension (producer/_jsonscan.c, the fast reader for big JSON files), in the build stage only.

FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
WORKDIR /src
# README* is optional here (the glob lets the build work before it exists); pyproject.toml names it.
COPY pyproject.toml setup.py README* ./
COPY producer ./producer
COPY consumer ./consumer
COPY schemas ./schemas
COPY spoolbridge ./spoolbridge
RUN /opt/venv/bin/pip install . \
    && /opt/venv/bin/spoolbridge --help > /dev/null \
    && /opt/venv/bin/python -c "import producer._jsonscan"


FROM python:3.11-slim

LABEL org.opencontainers.image.title="spoolbridge" \
      org.opencontainers.image.description="JSON files in a folder -> Kafka -> OpenSearch" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

# uid/gid 1000 by default so that a bind-mounted inbox owned by a typical desktop user is writable
# (the producer moves files into done/ and failed/); override with --build-arg or compose's `user:`.
ARG APP_UID=1000
ARG APP_GID=1000
RUN groupadd --gid "${APP_GID}" spoolbridge \
    && useradd --uid "${APP_UID}" --gid spoolbridge --create-home --home-dir /home/spoolbridge \
       --shell /usr/sbin/nologin spoolbridge \
    && mkdir -p /data/inbox \
    && chown -R spoolbridge:spoolbridge /data

COPY --from=build /opt/venv /opt/venv

USER spoolbridge
WORKDIR /home/spoolbridge

ENTRYPOINT ["spoolbridge"]
CMD ["--help"]
