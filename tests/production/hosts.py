"""Simulated production hosts on one machine: PostgreSQL, Redis and the web app, and
grading workers that each live in a network and mount namespace of their own.

Each worker host N gets a network namespace joined to this machine by a veth pair
(``10.X.N.1`` here, ``10.X.N.2`` there; X is picked at random among the 10.X/16 nets
nobody uses), its own data directory, empty challenges directory and identity
(``host-N``). It reaches PostgreSQL, Redis and the web app (for submission files and
bundle versions, ``HELDOUT_FILES_URL``) through its veth only. Its mount namespace hides
the web's data directory, every other worker's, the database's and the queue's disks
under empty tmpfs mounts, so whatever it grades came through the network.

The one shared thing is the Docker engine (through its unix socket, which works across
network namespaces), as on a host whose worker drives its own engine. Because that engine
lives in this machine's mount namespace, a worker's sandbox run directories (where each
run's capped ``/output`` tmpfs is mounted) sit on a mount shared with this machine's
namespace: the tmpfs a worker mounts there is the one the engine bind-mounts. That is the
only mount that propagates; every hiding mount is made on a mount that sends nothing back.

Everything is torn down by ``Topology.close``, which then checks that nothing is left:
processes, namespaces, links, mounts, containers, directories.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pwd
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[2]
HOSTS = 3
# The two cheapest kinds to grade: a sql challenge keeps an artefact (the query shapes), so
# workers have something to send back; a function challenge's harness imports the
# candidate's module once, so a sleep at import time makes a run last as long as wanted.
SQL = "retention-cohorts"
FUNCTION = "metrics-from-scratch"
CHALLENGES = (SQL, FUNCTION)
# The topology's copies of the bundles get this wall-time limit: a lease is the limit plus
# HELDOUT_LEASE_MARGIN_SECONDS, so a dead worker's job is stale within seconds.
WALL_SECONDS = 20
LEASE_MARGIN_SECONDS = 2
PREFIX = "heldout-hosts-"
WORKER_READY = "Huey consumer started"

T = TypeVar("T")


class Missing(Exception):
    """What this machine lacks to build the topology."""


def requirements() -> list[str]:
    """What is missing here to run the topology (empty when everything is there)."""
    missing: list[str] = []
    if os.geteuid() != 0:
        missing.append("root (network namespaces, veth pairs and mounts need it)")
    for tool in ("ip", "nsenter", "unshare", "mount", "umount", "findmnt", "runuser"):
        if shutil.which(tool) is None:
            missing.append(f"the {tool} command")
    if shutil.which("redis-server") is None:
        missing.append("redis-server (`source scripts/lib.sh && ensure_redis`)")
    if postgres_bin() is None:
        missing.append("PostgreSQL's server binaries (`source scripts/lib.sh && "
                       "ensure_postgres_server`)")
    elif os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            missing.append("a postgres user to own the cluster (initdb refuses root)")
    return missing


def postgres_bin() -> Path | None:
    """The newest /usr/lib/postgresql/*/bin holding pg_ctl (as scripts/lib.sh finds it)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                   key=lambda path: [int(part) for part in re.findall(r"\d+", path.parts[-3])])
    return found[-1].parent if found else None


def run(*args: str, **options: Any) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure the error says what it printed."""
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=120, check=False,
                            **options)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {result.returncode}: "
                           f"{(result.stderr or result.stdout).strip()[-2000:]}")
    return result


def wait_for(predicate: Callable[[], T | None], timeout: float, what: str,
             every: float = 0.1) -> T:
    """Poll until ``predicate`` returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def free_port(address: str) -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])


def _unused_net() -> int:
    """An X with no address or route of this machine in 10.X.0.0/16."""
    seen = run("ip", "-4", "-o", "addr").stdout + run("ip", "-4", "route").stdout
    taken = {int(x) for x in re.findall(r"\b10\.(\d+)\.", seen)}
    taken |= {int(m.group(1)) for name in _links() if (m := re.fullmatch(r"hd(\d+)h\d+", name))}
    free = [x for x in range(64, 250) if x not in taken]
    if not free:
        raise Missing("no free 10.X.0.0/16 network for the simulated hosts")
    return random.choice(free)


def _links() -> list[str]:
    return [line.split(":")[1].strip().split("@")[0]
            for line in run("ip", "-o", "link").stdout.splitlines() if ":" in line]


def _netns() -> list[str]:
    return [line.split()[0] for line in run("ip", "netns", "list").stdout.splitlines() if line]


def mounts_under(root: Path) -> list[str]:
    """Mount points of this namespace at or below ``root``, deepest first."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == str(root) or point.startswith(f"{root}/"):
            points.append(point)
    return sorted(points, key=lambda point: point.count("/"), reverse=True)


def processes_under(root: Path) -> list[int]:
    """Processes whose command line, environment or working directory names ``root``
    (this process aside): everything the topology started mentions it one of these ways."""
    found = []
    needle = str(root).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            blob = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if needle in blob or cwd == str(root) or cwd.startswith(f"{root}/"):
            found.append(int(entry.name))
    return found


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without its HELDOUT_* settings, plus ``extra``."""
    keep = {"HELDOUT_SANDBOX_IMAGE", "HELDOUT_CACHE_DIR"}
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("HELDOUT_") or key in keep}
    env.update(extra)
    return env


@dataclass
class Postgres:
    """A cluster of our own: initdb into the topology, listening on the hosts' gateways."""

    root: Path
    bin: Path
    addresses: list[str]
    subnets: list[str]
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def _as_owner(self, *args: str) -> subprocess.CompletedProcess[str]:
        user = "postgres" if os.geteuid() == 0 else None
        return run(*args, user=user, cwd=self.root)

    def create(self) -> None:
        self.root.mkdir(mode=0o700)
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._as_owner(str(self.bin / "initdb"), f"--pgdata={self.data}", "--username=postgres",
                       "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8")
        # Only the hosts' subnets may connect (no local socket, no loopback). A throwaway
        # cluster: durability off (a fast stop, as the restart test does, flushes anyway).
        (self.data / "pg_hba.conf").write_text(
            "".join(f"host all all {subnet} trust\n" for subnet in self.subnets))
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"listen_addresses = '{','.join(self.addresses)}'\nport = {self.port}\n"
                       f"unix_socket_directories = '{self.root}'\nfsync = off\n"
                       "synchronous_commit = off\nfull_page_writes = off\n"
                       "max_connections = 100\n")
        self.start()
        self.psql("CREATE DATABASE heldout TEMPLATE template0")

    def url(self, address: str, database: str = "heldout") -> str:
        return f"postgresql+psycopg://postgres@{address}:{self.port}/{database}"

    def psql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@{self.addresses[0]}:{self.port}/postgres",
                             autocommit=True, connect_timeout=10) as connection:
            connection.execute(statement.encode())

    def start(self) -> None:
        self._as_owner(str(self.bin / "pg_ctl"), "start", f"--pgdata={self.data}", "--wait",
                       "--timeout=60", f"--log={self.log}")

    def stop(self, mode: str = "fast") -> None:
        self._as_owner(str(self.bin / "pg_ctl"), "stop", f"--pgdata={self.data}",
                       f"--mode={mode}", "--wait")

    def shut_down(self) -> None:
        """Stop the server at teardown, whatever a test left it in."""
        if self.data.is_dir() and self.running():
            self.stop("immediate")

    def running(self) -> bool:
        user = "postgres" if os.geteuid() == 0 else None
        status = subprocess.run([str(self.bin / "pg_ctl"), "status", f"--pgdata={self.data}"],
                                capture_output=True, user=user, cwd=self.root, check=False,
                                timeout=30)
        return status.returncode == 0


@dataclass
class Redis:
    """A production-minded Redis: every write in the append-only file, fsynced, a password."""

    root: Path
    addresses: list[str]
    port: int
    password: str = field(default_factory=lambda: secrets.token_hex(16))
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def conf(self) -> Path:
        return self.root / "redis.conf"

    def create(self) -> None:
        (self.root / "data").mkdir(parents=True)
        self.conf.write_text(
            f"bind {' '.join(self.addresses)}\nport {self.port}\nprotected-mode yes\n"
            f"requirepass {self.password}\ndir {self.root / 'data'}\nappendonly yes\n"
            'appendfsync always\nsave ""\ndaemonize no\nlogfile ""\n')
        self.start()

    def url(self, address: str) -> str:
        return f"redis://:{self.password}@{address}:{self.port}/0"

    def client(self) -> Any:
        import redis

        return redis.Redis(host=self.addresses[0], port=self.port, password=self.password,
                           socket_timeout=5, socket_connect_timeout=5)

    def answers(self) -> bool:
        import redis

        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(["redis-server", str(self.conf)], stdout=log,
                                            stderr=subprocess.STDOUT, cwd=self.root)
        wait_for(lambda: self.answers() or self._exited(), 30, "Redis to answer")
        if self.process.poll() is not None:
            raise RuntimeError(f"redis-server exited {self.process.returncode}:\n"
                               f"{tail(self.log)}")

    def read_list_from_disk(self, key: str) -> list[bytes]:
        """The list ``key`` as a Redis started on a copy of this one's files sees it.

        Read while this server is down: what a restart on the same append-only file loads.
        The copy listens on the loopback only, for this process.
        """
        import redis

        copy = self.root / "inspect"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(self.root / "data", copy)
        port = free_port("127.0.0.1")
        with (self.root / "inspect.log").open("ab") as log:
            process = subprocess.Popen(
                ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", str(copy),
                 "--appendonly", "yes", "--save", "", "--protected-mode", "yes"],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
        try:
            client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)

            def loaded() -> bool:
                if process.poll() is not None:
                    raise RuntimeError(f"the inspecting redis-server exited:\n"
                                       f"{tail(self.root / 'inspect.log')}")
                try:
                    return bool(client.ping())
                except redis.RedisError:  # connection refused, or still loading
                    return False

            wait_for(loaded, 30, "the copy of Redis to load its append-only file")
            items = client.lrange(key, 0, -1)
            return [item if isinstance(item, bytes) else item.encode() for item in items]
        finally:
            process.kill()
            process.wait(30)
            shutil.rmtree(copy, ignore_errors=True)

    def _exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def kill(self) -> None:
        """SIGKILL: no shutdown save, no goodbye to clients (the append-only file is all)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Host:
    """One simulated worker host: its namespace, veth, directories and worker process."""

    number: int
    net: int
    root: Path

    @property
    def name(self) -> str:
        return f"host-{self.number}"

    @property
    def netns(self) -> str:
        return f"heldout-{self.net}-{self.name}"

    @property
    def link(self) -> str:
        return f"hd{self.net}h{self.number}"

    @property
    def peer(self) -> str:
        return f"{self.link}n"

    @property
    def gateway(self) -> str:
        """This machine's side of the veth: where the host finds every service."""
        return f"10.{self.net}.{self.number}.1"

    @property
    def address(self) -> str:
        return f"10.{self.net}.{self.number}.2"

    @property
    def subnet(self) -> str:
        return f"10.{self.net}.{self.number}.0/30"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def challenges(self) -> Path:
        return self.root / "challenges"

    @property
    def sandbox_runs(self) -> Path:
        return self.root / "sandbox-runs"

    def make_network(self) -> None:
        run("ip", "netns", "add", self.netns)
        run("ip", "link", "add", self.link, "type", "veth", "peer", "name", self.peer)
        run("ip", "link", "set", self.peer, "netns", self.netns)
        run("ip", "addr", "add", f"{self.gateway}/30", "dev", self.link)
        run("ip", "link", "set", self.link, "up")
        run("ip", "-n", self.netns, "addr", "add", f"{self.address}/30", "dev", self.peer)
        run("ip", "-n", self.netns, "link", "set", self.peer, "up")
        run("ip", "-n", self.netns, "link", "set", "lo", "up")
        # The web app listens on host 1's gateway: the others get there through their
        # own veth too (a local address of this machine, so nothing is forwarded).
        run("ip", "-n", self.netns, "route", "add", f"10.{self.net}.0.0/16", "via", self.gateway)

    def make_dirs(self) -> None:
        for directory in (self.data, self.challenges, self.sandbox_runs):
            directory.mkdir(parents=True)
        # Its own peer group, shared with this machine's namespace (see the module's doc).
        run("mount", "--bind", str(self.sandbox_runs), str(self.sandbox_runs))
        run("mount", "--make-private", str(self.sandbox_runs))
        run("mount", "--make-shared", str(self.sandbox_runs))

    def remove_network(self) -> None:
        if self.link in _links():
            run("ip", "link", "del", self.link)
        if self.netns in _netns():
            run("ip", "netns", "del", self.netns)


# Runs as the worker's first program inside its network namespace and fresh mount
# namespace: each directory to hide gets an empty tmpfs, made on a mount that was first
# turned into a slave (it still sees this machine's mounts, but sends none back), so
# hiding never reaches this machine's namespace whatever its propagation.
HIDE_AND_RUN = """set -eu
python=$1; shift
for d do
  mount --make-slave "$(findmnt -nro TARGET -T "$d")"
  mount -t tmpfs -o size=1m,mode=0755,nosuid,nodev,noexec heldout-hidden "$d"
done
exec "$python" -m heldout.platform worker
"""


@dataclass
class Worker:
    """The ``heldout worker`` process of a host (one life; a restart makes a new one)."""

    host: Host
    process: subprocess.Popen[bytes]
    log: Path
    started: float

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def view(self, path: Path) -> Path:
        """``path`` as this worker's mount namespace shows it."""
        return Path(f"/proc/{self.pid}/root{path}")


class Topology:
    """PostgreSQL, Redis, the web app and three worker hosts, started for real."""

    def __init__(self, sandbox_image: str) -> None:
        missing = requirements()
        if missing:
            raise Missing("; ".join(missing))
        self.sandbox_image = sandbox_image
        self.root = Path(tempfile.mkdtemp(prefix=PREFIX, dir="/tmp"))
        os.chmod(self.root, 0o755)  # the postgres user must reach its directory
        self.net = _unused_net()
        self.hosts = [Host(n, self.net, self.root / f"host-{n}") for n in range(1, HOSTS + 1)]
        self.logs = self.root / "logs"
        self.web_root = self.root / "web"
        self.web_data = self.web_root / "data"
        self.web_challenges = self.web_root / "challenges"
        self.internal_token = secrets.token_urlsafe(32)
        self.secret_key = secrets.token_hex(32)
        self.postgres: Postgres | None = None
        self.redis: Redis | None = None
        self.web: subprocess.Popen[bytes] | None = None
        self.web_port = 0
        self.workers: dict[str, Worker] = {}
        self.lives: list[Worker] = []  # every worker process ever started, for teardown

    # -- start-up -------------------------------------------------------------------------

    def start(self) -> None:
        self.timings: dict[str, float] = {}
        mark = time.monotonic()

        def took(what: str) -> None:
            nonlocal mark
            now = time.monotonic()
            self.timings[what] = round(now - mark, 2)
            mark = now

        self.logs.mkdir()
        for host in self.hosts:
            host.make_network()
            host.make_dirs()
        took("network")
        gateways = [host.gateway for host in self.hosts]
        bin_dir = postgres_bin()
        assert bin_dir is not None
        self.postgres = Postgres(self.root / "pg", bin_dir, gateways,
                                 [host.subnet for host in self.hosts], free_port(gateways[0]))
        self.postgres.create()
        took("postgres")
        self.redis = Redis(self.root / "redis", gateways, free_port(gateways[0]))
        self.redis.create()
        took("redis")
        self._copy_challenges()
        self._start_web()
        took("web")
        for host in self.hosts:
            self.start_worker(host)
        for host in self.hosts:
            self.wait_ready(self.workers[host.name])
        took("workers")

    def _copy_challenges(self) -> None:
        self.web_data.mkdir(parents=True)
        for slug in CHALLENGES:
            target = self.web_challenges / slug
            shutil.copytree(REPO / "challenges" / slug, target)
            toml = target / "challenge.toml"
            text, count = re.subn(r"(?m)^wall_seconds = \d+$", f"wall_seconds = {WALL_SECONDS}",
                                  toml.read_text())
            assert count == 1, f"{toml}: no wall_seconds line to shorten"
            toml.write_text(text)

    @property
    def web_address(self) -> str:
        return self.hosts[0].gateway

    @property
    def web_url(self) -> str:
        return f"http://{self.web_address}:{self.web_port}"

    def common_settings(self, address: str) -> dict[str, str]:
        assert self.postgres is not None and self.redis is not None
        return {
            "HELDOUT_ENV": "production",
            "HELDOUT_SECRET_KEY": self.secret_key,
            "HELDOUT_SECURE_COOKIES": "false",
            "HELDOUT_DATABASE_URL": self.postgres.url(address),
            "HELDOUT_QUEUE_URL": self.redis.url(address),
            "HELDOUT_INTERNAL_TOKEN": self.internal_token,
            "HELDOUT_GRADING_TRIES": "3",
            "HELDOUT_LEASE_MARGIN_SECONDS": str(LEASE_MARGIN_SECONDS),
            # The watchdog's turn on each worker: a stale job is queued again within seconds.
            "HELDOUT_DUTIES_SECONDS": "2",
        }

    def web_settings(self) -> dict[str, str]:
        return {**self.common_settings(self.web_address),
                "HELDOUT_DATA_DIR": str(self.web_data),
                "HELDOUT_CHALLENGES_DIR": str(self.web_challenges),
                "HELDOUT_BASE_URL": self.web_url}

    def worker_settings(self, host: Host) -> dict[str, str]:
        return {**self.common_settings(host.gateway),
                "HELDOUT_DATA_DIR": str(host.data),
                "HELDOUT_CHALLENGES_DIR": str(host.challenges),
                "HELDOUT_FILES_URL": self.web_url,
                "HELDOUT_WORKER_ID": host.name,
                "HELDOUT_WORKERS": "1",
                "HELDOUT_SANDBOX_WARM": "0",
                "HELDOUT_RUN_DIR": str(host.sandbox_runs),
                "HELDOUT_SANDBOX_IMAGE": self.sandbox_image}

    def _heldout(self, *args: str) -> None:
        run(sys.executable, "-m", "heldout.platform", *args,
            env=child_env(self.web_settings()), cwd=REPO)

    def _start_web(self) -> None:
        self._heldout("db", "upgrade")
        self.web_port = free_port(self.web_address)
        log = self.logs / "web.log"
        with log.open("ab") as out:
            self.web = subprocess.Popen(
                [sys.executable, "-m", "heldout.platform", "serve", "--host", self.web_address,
                 "--port", str(self.web_port), "--threads", "4"],
                env=child_env(self.web_settings()), cwd=REPO, stdout=out,
                stderr=subprocess.STDOUT)
        # Meanwhile (the server needs the schema, not the catalogue, to answer).
        self._heldout("load-challenges")

        def healthy() -> bool:
            assert self.web is not None
            if self.web.poll() is not None:
                raise RuntimeError(f"heldout serve exited {self.web.returncode}:\n{tail(log)}")
            try:
                with urllib.request.urlopen(f"{self.web_url}/healthz", timeout=5) as answer:
                    return int(answer.status) == 200
            except (urllib.error.URLError, OSError):
                return False

        wait_for(healthy, 60, "the web app's /healthz")

    def hidden_from(self, host: Host) -> list[Path]:
        """What a worker host must not see: every disk but its own, and the repository's
        challenges (its bundles come from the web app)."""
        others = [self.web_root, self.root / "pg", self.root / "redis", self.logs]
        others += [other.root for other in self.hosts if other is not host]
        return [*others, REPO / "challenges"]

    def start_worker(self, host: Host) -> Worker:
        """Start ``heldout worker`` in the host's namespaces (not waiting for it)."""
        log = self.logs / f"{host.name}.{len([w for w in self.lives if w.host is host])}.log"
        command = ["nsenter", f"--net=/run/netns/{host.netns}", "--",
                   "unshare", "--mount", "--propagation", "unchanged", "--",
                   "sh", "-c", HIDE_AND_RUN, "sh", sys.executable,
                   *[str(path) for path in self.hidden_from(host)]]
        with log.open("ab") as out:
            process = subprocess.Popen(command, env=child_env(self.worker_settings(host)),
                                       cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        worker = Worker(host, process, log, time.monotonic())
        self.workers[host.name] = worker
        self.lives.append(worker)
        return worker

    def wait_ready(self, worker: Worker, timeout: float = 90) -> None:
        def ready() -> bool:
            if not worker.alive():
                raise RuntimeError(f"{worker.host.name}'s worker exited "
                                   f"{worker.process.returncode}:\n{tail(worker.log)}")
            return WORKER_READY in worker.log.read_text(errors="replace")

        wait_for(ready, timeout, f"{worker.host.name}'s worker to start consuming")

    def restart_worker(self, host: Host) -> Worker:
        worker = self.start_worker(host)
        self.wait_ready(worker)
        return worker

    def kill_worker(self, host: Host) -> None:
        worker = self.workers[host.name]
        worker.process.send_signal(signal.SIGKILL)
        worker.process.wait(30)

    # -- the test process's view ------------------------------------------------------------

    @contextlib.contextmanager
    def app(self) -> Iterator[Any]:
        """A Flask app of the web's configuration in this process (services, queries)."""
        from heldout.platform.app import create_app
        from heldout.platform.extensions import db
        from heldout.platform.settings import SETTINGS_BY_NAME

        # Parsed as the environment would be: overrides are taken as given.
        settings = {key: SETTINGS_BY_NAME[key].parse(value)
                    for key, value in self.web_settings().items()}
        app = create_app(settings)
        try:
            yield app
        finally:
            with app.app_context():
                db.engine.dispose()

    # -- teardown ---------------------------------------------------------------------------

    def close(self) -> list[str]:
        """Stop and remove everything; what was left over (empty when all is clean)."""
        problems: list[str] = []
        self.closing: dict[str, float] = {}

        def attempt(what: str, action: Callable[[], object]) -> None:
            began = time.monotonic()
            try:
                action()
            except Exception as exc:
                problems.append(f"{what}: {type(exc).__name__}: {exc}")
            self.closing[what] = round(time.monotonic() - began, 2)

        # All asked at once, to stop now (Huey's consumer on SIGTERM, gunicorn on SIGINT):
        # nothing runs any more that a graceful stop would wait for.
        processes = [(worker.process, signal.SIGTERM) for worker in self.lives]
        if self.web is not None:
            processes.append((self.web, signal.SIGINT))
        attempt("stopping the web app and workers", functools.partial(_stop_all, processes))
        if self.redis is not None:
            attempt("stopping Redis", self.redis.stop)
        if self.postgres is not None:
            attempt("stopping PostgreSQL", self.postgres.shut_down)
        attempt("removing sandbox containers", self._remove_containers)
        for host in self.hosts:
            attempt(f"removing {host.name}'s network", host.remove_network)
        for point in mounts_under(self.root):
            attempt(f"unmounting {point}", functools.partial(run, "umount", "-l", point))
        attempt("removing the directories", lambda: shutil.rmtree(self.root))
        problems += self.leftovers()
        return problems

    def _containers(self) -> list[Any]:
        from heldout.sandbox import engine

        client = engine.get_client()
        found: list[Any] = []
        for host in self.hosts:
            found += client.containers.list(
                all=True, filters={"label": [f"{engine.LABEL}=1", f"{engine.LABEL_HOST}={host.name}"]})
        return found

    def _remove_containers(self) -> None:
        for container in self._containers():
            container.remove(force=True)

    def leftovers(self) -> list[str]:
        """Anything of this topology still on the machine."""
        left: list[str] = []
        left += [f"process {pid} still runs" for pid in processes_under(self.root)]
        left += [f"network namespace {name}" for name in _netns()
                 if name in {host.netns for host in self.hosts}]
        left += [f"link {name}" for name in _links() if name in {h.link for h in self.hosts}]
        left += [f"mount {point}" for point in mounts_under(self.root)]
        left += [f"container {c.short_id} ({c.labels})" for c in self._containers()]
        if self.root.exists():
            left.append(f"directory {self.root}")
        return left


def _stop_all(processes: list[tuple[subprocess.Popen[bytes], signal.Signals]],
              grace: float = 20) -> None:
    """Send each its stop signal, wait ``grace`` seconds for all, then SIGKILL the rest."""
    for process, first in processes:
        if process.poll() is None:
            process.send_signal(first)
    deadline = time.monotonic() + grace
    for process, _ in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

