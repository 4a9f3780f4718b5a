# Shared set-up for scripts/run and scripts/test: a virtualenv with heldout installed,
# a Docker engine that answers, and the sandbox image. Sourced, not executed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${HELDOUT_VENV:-$ROOT/.venv}"
export PATH="$VENV/bin:$PATH"
mkdir -p "$ROOT/var"

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

need_python() {
  local py
  for py in python3.11 python3.12 python3.13 python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      PYTHON="$(command -v "$py")"; return 0
    fi
  done
  die "heldout needs Python 3.11 or newer. On Debian: apt-get install -y python3 python3-venv"
}

# setup_venv EXTRAS: create the virtualenv and install heldout with EXTRAS, once per change
# of pyproject.toml.
setup_venv() {
  local extras="$1" stamp
  need_python
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the virtualenv in $VENV"
    "$PYTHON" -m venv "$VENV" || die "could not create a virtualenv. On Debian: apt-get install -y python3-venv"
  fi
  stamp="$VENV/.heldout-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)-${extras//,/_}"
  if [ ! -e "$stamp" ]; then
    say "installing heldout[$extras] into the virtualenv"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[$extras]" \
      || die "pip could not install heldout's packages (is PyPI reachable?)"
    rm -f "$VENV"/.heldout-*
    touch "$stamp"
  fi
}

docker_answers() { "$VENV/bin/python" - <<'PY' >/dev/null 2>&1
import docker
docker.from_env(timeout=5).ping()
PY
}

apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then return 1; fi
  say "installing $* (apt-get)"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# ensure_docker: make a Docker engine answer, installing and starting one when we can.
ensure_docker() {
  if docker_answers; then return 0; fi
  if [ -n "${DOCKER_HOST:-}" ]; then
    die "DOCKER_HOST=$DOCKER_HOST does not answer. Start that engine or unset DOCKER_HOST."
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    apt_install docker.io || die "no Docker engine answers and I can't install one here (needs root on Debian/Ubuntu). Install Docker (https://docs.docker.com/engine/install/), start it, and run this again."
  fi
  if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
    say "starting docker with systemd"
    systemctl start docker || true
  fi
  if ! docker_answers; then
    [ "$(id -u)" = 0 ] || die "the Docker engine is installed but not running. Start it (sudo systemctl start docker, or sudo dockerd &) or add yourself to the docker group, then run this again."
    say "starting dockerd in the background (log: $ROOT/var/dockerd.log)"
    setsid nohup dockerd >"$ROOT/var/dockerd.log" 2>&1 < /dev/null &
    for _ in $(seq 1 60); do docker_answers && break; sleep 0.5; done
  fi
  docker_answers || die "dockerd did not come up; see $ROOT/var/dockerd.log"
}

# ensure_image: the sandbox runtime image (seconds when it is already built).
ensure_image() {
  if ! command -v debootstrap >/dev/null 2>&1; then
    apt_install debootstrap || true   # only needed when no registry answers; build says so
  fi
  heldout sandbox build >/dev/null
}

# ensure_browser: Debian's Chromium for the end-to-end browser tests (never a downloaded one).
ensure_browser() {
  if [ -x /usr/bin/chromium ]; then return 0; fi
  apt_install chromium || die "the browser tests need Chromium at /usr/bin/chromium. On Debian: apt-get install -y chromium"
}

# ensure_postgres: a throwaway PostgreSQL cluster for the platform tests' second pass,
# installed from Debian's package when missing and started with pg_ctl (no systemd, no
# service assumed running). Exports HELDOUT_TEST_PG_URL (a superuser URL to the cluster),
# HELDOUT_TEST_PG_DATA and HELDOUT_TEST_PG_BIN (the outage test stops and starts it).
# The cluster lives in $HELDOUT_TEST_PG_DIR (default /tmp/heldout-test-pg-<uid>); it is
# reused when already running, and it holds nothing worth keeping.
pg_bin_dir() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$dir" ] && [ -x "$dir/pg_ctl" ] && printf '%s\n' "$dir"
}

# ensure_postgres_server: PostgreSQL's server binaries (initdb, pg_ctl, postgres), installed
# from Debian's package when missing; prints their directory. The production tests
# (tests/production) initdb a cluster of their own with them.
ensure_postgres_server() {
  local bin
  bin="$(pg_bin_dir || true)"
  if [ -z "$bin" ]; then
    apt_install postgresql || die "the PostgreSQL tests need PostgreSQL's server (pg_ctl, initdb). On Debian: apt-get install -y postgresql (as root), then run this again."
    bin="$(pg_bin_dir || true)"
    [ -n "$bin" ] || die "postgresql is installed but no /usr/lib/postgresql/*/bin/pg_ctl was found"
  fi
  printf '%s\n' "$bin"
}

ensure_postgres() {
  local bin base data port owner
  bin="$(ensure_postgres_server)"
  base="${HELDOUT_TEST_PG_DIR:-/tmp/heldout-test-pg-$(id -u)}"
  data="$base/data"
  # initdb refuses to run as root: as root the cluster belongs to the postgres user.
  if [ "$(id -u)" = 0 ]; then
    owner=postgres
    getent passwd postgres >/dev/null || die "running as root, but there is no postgres user to own the test cluster (Debian's postgresql package creates it)"
    as_owner() { runuser -u postgres -- "$@"; }
  else
    owner="$(id -un)"
    as_owner() { "$@"; }
  fi
  mkdir -p "$base"
  chown "$owner" "$base"
  chmod 700 "$base"
  if [ ! -s "$data/PG_VERSION" ]; then
    say "creating a throwaway PostgreSQL cluster in $data"
    as_owner "$bin/initdb" --pgdata="$data" --username=postgres --auth=trust \
      --encoding=UTF8 --locale=C.UTF-8 >"$base/initdb.log" 2>&1 \
      || die "initdb failed; see $base/initdb.log"
  fi
  if as_owner "$bin/pg_ctl" status --pgdata="$data" >/dev/null 2>&1 && [ -s "$base/port" ]; then
    port="$(cat "$base/port")"
  else
    port="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    printf '%s\n' "$port" >"$base/port"
    # In the cluster's own configuration, so a plain `pg_ctl start` (the outage test's)
    # comes back the same. Durability is pointless in a throwaway cluster: fsync off.
    grep -q "heldout-test.conf" "$data/postgresql.conf" \
      || echo "include_if_exists = 'heldout-test.conf'" >>"$data/postgresql.conf"
    printf '%s\n' "listen_addresses = '127.0.0.1'" "port = $port" \
      "unix_socket_directories = '$base'" "fsync = off" "synchronous_commit = off" \
      "full_page_writes = off" "max_connections = 300" >"$data/heldout-test.conf"
    chown "$owner" "$data/heldout-test.conf"
    say "starting PostgreSQL on 127.0.0.1:$port (log: $base/server.log)"
    as_owner "$bin/pg_ctl" start --pgdata="$data" --wait --timeout=60 --log="$base/server.log" \
      >/dev/null || die "PostgreSQL did not start; see $base/server.log"
  fi
  export HELDOUT_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
  export HELDOUT_TEST_PG_DATA="$data"
  export HELDOUT_TEST_PG_BIN="$bin"
}

# ensure_redis: Debian's redis-server binary for the production tests, which start a
# Redis of their own (its own port, directory and append-only file; nothing system-wide is
# used). Installed from Debian's package when missing (as root). On a host with systemd the
# package also starts its own service on 127.0.0.1:6379; the tests never talk to it.
ensure_redis() {
  if command -v redis-server >/dev/null 2>&1; then return 0; fi
  apt_install redis-server || die "the production tests need redis-server. On Debian: apt-get install -y redis-server (as root), then run this again."
  command -v redis-server >/dev/null 2>&1 || die "redis-server is installed but not on PATH"
}

# print_test_summary REPORT: how many tests ran, passed, failed, skipped, and each skip's
# reason, from the JSON the test session writes (tests/skips.py).
print_test_summary() {
  local report="$1"
  if [ ! -s "$report" ]; then
    say "no test report was written ($report): pytest stopped before the end of the session"
    return 0
  fi
  "$VENV/bin/python" - "$report" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
skipped = r["skipped"]
print(f"==> tests: {r['ran']} ran, {r['passed']} passed, {r['failed']} failed, "
      f"{r['errors']} errors, {len(skipped)} skipped", file=sys.stderr)
for s in skipped:
    why = f"allowed: {s['allowed_because']}" if s["allowed_because"] else "NOT on the allow-list"
    print(f"    skipped {s['test']}: {s['reason']} ({why})", file=sys.stderr)
PY
}
