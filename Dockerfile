# syntax=docker/dockerfile:1
#
# One image for every Notify process: the API (gunicorn, the default CMD), the Celery worker,
# beat, Flower, migrations and the provider sandbox. docker-compose.yml picks the command.
# See docs/deployment.md.
#
#   docker build -t notify .

# Pinned by tag (add @sha256:... via --build-arg for a fully reproducible base). Both stages
# must use the same image: the virtualenv copied from the builder points at its
# /usr/local/bin/python3.11.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: a virtualenv with requirements.txt, built with compilers at hand ---------------
FROM ${PYTHON_IMAGE} AS builder

# Compilers and libpq headers, only for a dependency that has no wheel for the target platform
# (every pin has manylinux wheels for amd64 and arm64 today); none of this reaches the final
# image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential libpq-dev \
    && rm -rf /var/lib/apt/lists/*

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv

# requirements.txt alone first, so code changes do not re-install the dependencies.
COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt


# --- runtime: python slim, the virtualenv and the code -------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=notify.settings

# A fixed, non-root uid/gid (10001) so volume ownership and Kubernetes runAsNonRoot checks are
# predictable. Its home directory is writable (gunicorn puts its control socket there); the
# code is not.
RUN groupadd --gid 10001 notify \
    && useradd --uid 10001 --gid notify --create-home --home-dir /home/notify \
        --shell /usr/sbin/nologin notify

# No runtime system libraries are needed: psycopg2-binary, grpcio and cryptography bundle
# theirs, and the slim image already has CA certificates for the provider APIs.
COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
# Owned by root and read-only to the app user; .dockerignore keeps .env, .venv, .data, .git
# and the tests out.
COPY . /app

# Static files (admin, Swagger UI) are collected into STATIC_ROOT (/app/.data/static) at build
# time and served by whitenoise from gunicorn. The settings refuse to load without SECRET_KEY
# when DEBUG is off, so a throwaway one is given to this step only; nothing here connects to
# Postgres or Redis. The app code is byte-compiled once here, because at run time
# PYTHONDONTWRITEBYTECODE=1 and a read-only /app mean no process could cache it.
RUN SECRET_KEY=collectstatic-only-not-a-real-secret DEBUG=0 \
        python manage.py collectstatic --noinput --verbosity 0 \
    && python -m compileall -q /app \
    && chmod 0755 /app/docker/*.sh

USER 10001:10001

EXPOSE 8000

# Liveness of the API process only (/healthz touches neither Postgres nor Redis; /readyz does).
# No curl in the slim image, so a few lines of Python make the request; the script sends a
# Host header that ALLOWED_HOSTS accepts. docker-compose.yml replaces this check for the
# services that do not run gunicorn.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py", "http://127.0.0.1:8000/healthz"]

# `exec` replaces the shell with gunicorn, so SIGTERM from `docker stop` reaches gunicorn itself
# (graceful stop: in-flight requests finish).
# WEB_CONCURRENCY sets the number of worker processes (2 by default), 4 threads each.
# --worker-tmp-dir: the heartbeat file lives in memory, not on the overlay filesystem.
# -c: hooks and the masked access log (notify/observability/gunicorn.py).
CMD ["sh", "-c", "exec gunicorn notify.wsgi:application -c python:notify.observability.gunicorn -b 0.0.0.0:8000 --workers \"${WEB_CONCURRENCY:-2}\" --threads 4 --worker-tmp-dir /dev/shm --access-logfile -"]
