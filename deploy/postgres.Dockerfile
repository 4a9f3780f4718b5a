# PostgreSQL 15 for docker-compose.yml, from Debian's packages.
# BASE is debian:bookworm-slim where a registry answers (then the package is installed
# here, which needs the network) or the local debootstrap base `heldout deploy images`
# builds with postgresql already in it (then this build needs no network).
ARG BASE=debian:bookworm-slim
FROM ${BASE}
RUN if [ ! -x /usr/lib/postgresql/15/bin/postgres ]; then \
      apt-get update && apt-get install -y --no-install-recommends postgresql-15 \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && mkdir -p /var/lib/postgresql/data \
 && chown postgres:postgres /var/lib/postgresql/data \
 && chmod 0700 /var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/heldout-postgres
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/bin:/bin \
    PGDATA=/var/lib/postgresql/data
USER postgres
EXPOSE 5432
CMD ["heldout-postgres"]
