# Redis for docker-compose.yml (the grading queue), from Debian's package.
# BASE is debian:bookworm-slim where a registry answers (then the package is installed
# here, which needs the network) or the local debootstrap base `heldout deploy images`
# builds with redis-server already in it (then this build needs no network).
ARG BASE=debian:bookworm-slim
FROM ${BASE}
RUN if ! command -v redis-server >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends redis-server \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && mkdir -p /data && chown redis:redis /data
USER redis
WORKDIR /data
EXPOSE 6379
# Append-only file: an acknowledged job survives a restart of Redis. The password comes
# from the environment (REDISCLI_AUTH, which redis-cli reads too, so the health check
# needs no argument with a secret in it).
CMD ["sh", "-c", ": \"${REDISCLI_AUTH:?set REDISCLI_AUTH}\"; exec redis-server --appendonly yes --dir /data --bind 0.0.0.0 --requirepass \"$REDISCLI_AUTH\""]
