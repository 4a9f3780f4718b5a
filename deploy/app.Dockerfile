# The heldout application image (web, worker, migrate) for docker-compose.yml.
# Sandboxed jobs do not run in this image: the worker starts them on the host's engine.
#
# Built from the context `heldout deploy images` stages (var/deploy/app): a wheelhouse
# with every dependency of `heldout[server]` for CPython 3.11, heldout's own wheel, and
# the challenges. The install needs no network, so BASE may be the public Python image or,
# where no registry answers, a Debian base made by debootstrap with python3 and
# python3-venv (Debian's own Python is externally managed, hence the virtualenv).
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}
# The dependencies first, heldout itself second: a change of code rebuilds only the
# second, small layer.
COPY wheels/ /tmp/wheels/
RUN python3 -m venv /opt/heldout \
 && /opt/heldout/bin/python -m pip install --no-cache-dir --no-index --disable-pip-version-check \
      /tmp/wheels/*.whl \
 && rm -rf /tmp/wheels
COPY heldout/ /tmp/heldout/
RUN /opt/heldout/bin/python -m pip install --no-cache-dir --no-index --disable-pip-version-check \
      --find-links /tmp/heldout 'heldout[server]' \
 && /opt/heldout/bin/python -m pip check \
 && rm -rf /tmp/heldout
COPY challenges/ /opt/heldout-challenges/
ENV PATH=/opt/heldout/bin:/usr/local/bin:/usr/bin:/bin \
    PYTHONUNBUFFERED=1 \
    HELDOUT_DATA_DIR=/var/lib/heldout/data \
    HELDOUT_CHALLENGES_DIR=/opt/heldout-challenges \
    HELDOUT_RUN_DIR=/var/lib/heldout/runs
RUN mkdir -p /var/lib/heldout/data /var/lib/heldout/runs
EXPOSE 8000
CMD ["heldout", "serve", "--host", "0.0.0.0", "--port", "8000"]
