"""The platform tests' database: SQLite by default, PostgreSQL with HELDOUT_TEST_DB=postgresql.

On PostgreSQL each test gets fresh databases (``CREATE DATABASE``, one per data directory
the test builds an app on, as SQLite gets one file per data directory), dropped when the
test ends. The cluster is the throwaway one ``scripts/lib.sh``'s ``ensure_postgres``
starts; it exports ``HELDOUT_TEST_PG_URL`` (a superuser URL), ``HELDOUT_TEST_PG_DATA`` and
``HELDOUT_TEST_PG_BIN``, which the outage test uses to stop and start the server.

Tests that only make sense on one database carry ``@pytest.mark.sqlite_only(reason)`` or
``@pytest.mark.postgresql_only(reason)``: the other pass deselects them (reported by
pytest as deselected, never as skipped), so the skip gate still counts every skip.
"""

from __future__ import annotations

import atexit
import functools
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

DB_ENV = "HELDOUT_TEST_DB"
URL_ENV = "HELDOUT_TEST_PG_URL"
DATA_ENV = "HELDOUT_TEST_PG_DATA"
BIN_ENV = "HELDOUT_TEST_PG_BIN"
CHOICES = ("sqlite", "postgresql")
MARKERS = {
    "sqlite_only": "sqlite_only(reason): tested on SQLite alone (the PostgreSQL pass "
                   "deselects it)",
    "postgresql_only": "postgresql_only(reason): needs the real PostgreSQL server (the "
                       "SQLite pass deselects it)",
}
START_HINT = ("start the test cluster first: `source scripts/lib.sh && ensure_postgres` "
              "(installs Debian's postgresql when missing, as root), or run scripts/test")


def selected() -> str:
    """The database this session tests on."""
    choice = os.environ.get(DB_ENV, "sqlite") or "sqlite"
    if choice not in CHOICES:
        raise pytest.UsageError(f"{DB_ENV}={choice!r}; known: {', '.join(CHOICES)}")
    return choice


def on_postgresql() -> bool:
    return selected() == "postgresql"


@dataclass(frozen=True)
class Cluster:
    """The running test cluster: a superuser URL, its data directory and binaries."""

    admin_url: str
    data: Path
    bin: Path

    @classmethod
    def from_env(cls) -> Cluster:
        missing = [name for name in (URL_ENV, DATA_ENV, BIN_ENV) if not os.environ.get(name)]
        if missing:
            raise pytest.UsageError(f"{DB_ENV}=postgresql but {', '.join(missing)} unset: "
                                    f"{START_HINT}")
        return cls(os.environ[URL_ENV], Path(os.environ[DATA_ENV]), Path(os.environ[BIN_ENV]))

    def url(self, database: str) -> str:
        return make_url(self.admin_url).set(database=database).render_as_string(
            hide_password=False)

    def _pg_ctl(self, *args: str) -> None:
        owner = pwd.getpwuid(self.data.stat().st_uid).pw_name
        # initdb made the cluster as its owner; a root test process acts as that owner.
        user = owner if os.geteuid() == 0 and owner != "root" else None
        subprocess.run([str(self.bin / "pg_ctl"), *args, f"--pgdata={self.data}"],
                       check=True, user=user, cwd=self.data.parent, capture_output=True,
                       timeout=90)

    def stop(self) -> None:
        """Stop the server now (fast: open connections are cut)."""
        self._pg_ctl("stop", "--mode=fast", "--wait")

    def start(self) -> None:
        self._pg_ctl("start", "--wait", "--timeout=60",
                     f"--log={self.data.parent / 'server.log'}")

    def running(self) -> bool:
        try:
            self._pg_ctl("status")
        except subprocess.CalledProcessError:
            return False
        return True


class Databases:
    """The fresh databases of the running test, made on demand and dropped at its end."""

    def __init__(self) -> None:
        self._cluster: Cluster | None = None
        self._admin: Engine | None = None
        self._names = (f"heldout_test_{os.getpid()}_{n}" for n in itertools.count())
        self._made: dict[str, str] = {}
        self._template: str | None = None

    @property
    def cluster(self) -> Cluster:
        if self._cluster is None:
            self._cluster = Cluster.from_env()
        return self._cluster

    def _engine(self) -> Engine:
        if self._admin is None:
            # No pool: a cluster stopped by a test leaves no dead connection behind.
            self._admin = create_engine(self.cluster.admin_url, poolclass=NullPool,
                                        isolation_level="AUTOCOMMIT")
        return self._admin

    def url_for(self, key: Path | str, *, schema: bool = False) -> str:
        """The URL of this test's database for ``key`` (a data directory), made once.

        ``schema``: made as a copy of the session's template, which holds the models' tables
        (``CREATE DATABASE … TEMPLATE`` copies files: a tenth of the time ``create_all``
        takes table by table); otherwise empty, for the tests that migrate or restore.
        """
        key = str(key)
        if key not in self._made:
            name = next(self._names)
            template = self._schema_template() if schema else "template0"
            with self._engine().connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
            self._made[key] = name
            if schema:
                _SCHEMA_READY.add(key)
        return self.cluster.url(self._made[key])

    def _schema_template(self) -> str:
        """A database holding every model's table, made once per session."""
        if self._template is None:
            name = f"heldout_template_{os.getpid()}"
            with self._engine().connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0'))
            create_tables(self.cluster.url(name))
            self._template = name
        return self._template

    def drop_template(self) -> None:
        if self._template is None or not self.cluster.running():
            return
        with self._engine().connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self._template}" WITH (FORCE)'))
        self._template = None

    def drop_all(self) -> None:
        if not self._made:
            return
        if not self.cluster.running():  # a failed outage test must not sink the next ones
            self.cluster.start()
        with self._engine().connect() as connection:
            for name in self._made.values():
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._made.clear()


def create_tables(url: str) -> None:
    """Every model's table in the database at ``url`` (what ``db.create_all()`` makes)."""
    from heldout.platform import models  # noqa: F401  (registers every table)
    from heldout.platform.extensions import db

    engine = create_engine(url, poolclass=NullPool)
    try:
        db.metadata.create_all(engine)
    finally:
        engine.dispose()


DATABASES = Databases()


def database_url(data_dir: Path, *, schema: bool = False) -> str | None:
    """The database URL a test app on ``data_dir`` uses: None means SQLite's default.

    ``schema``: the database starts with every model's table (see ``schema_ready``).
    """
    if on_postgresql():
        return DATABASES.url_for(data_dir, schema=schema)
    if schema:
        _copy_sqlite_template(data_dir)
    return None


def schema_ready(data_dir: Path) -> bool:
    """True once for a database ``database_url(data_dir, schema=True)`` made with its tables.

    False when the data directory already had a database (a second app on it): the caller
    empties and rebuilds it as before.
    """
    ready = str(data_dir) in _SCHEMA_READY
    _SCHEMA_READY.discard(str(data_dir))
    return ready


# Data directories whose database was just made with its tables, until ``schema_ready``.
_SCHEMA_READY: set[str] = set()
SQLITE_FILE = "heldout.db"  # the default database file in a data directory (config.py)


@functools.cache
def _sqlite_template() -> Path:
    """A SQLite file holding every model's table, made once per session, removed at exit."""
    folder = Path(tempfile.mkdtemp(prefix="heldout-schema-"))
    atexit.register(shutil.rmtree, folder, True)
    create_tables(f"sqlite:///{folder / SQLITE_FILE}")
    return folder / SQLITE_FILE


def _copy_sqlite_template(data_dir: Path) -> None:
    """Copy the template to ``data_dir``, unless a database is there already."""
    target = data_dir / SQLITE_FILE
    if target.exists():
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_sqlite_template(), target)
    _SCHEMA_READY.add(str(data_dir))


def configure(config: pytest.Config) -> None:
    for line in MARKERS.values():
        config.addinivalue_line("markers", line)
    if on_postgresql():  # also stops a session with a misspelt choice before anything runs
        config.add_cleanup(DATABASES.drop_template)
        # A test that disposes its engine while a session still holds a connection leaves
        # that connection to the garbage collector: SQLite's driver drops it silently,
        # psycopg warns. The database is dropped with FORCE at the test's end either way.
        config.addinivalue_line(
            "filterwarnings",
            r"ignore:<psycopg\.Connection object at .* was deleted while still open"
            ":ResourceWarning")


def deselect(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop the tests meant for the other database (reported as deselected)."""
    other = "sqlite_only" if on_postgresql() else "postgresql_only"
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        for name in MARKERS:
            marker = item.get_closest_marker(name)
            if marker is not None and not (marker.args or marker.kwargs.get("reason")):
                raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.{name} needs a reason")
        (drop if item.get_closest_marker(other) is not None else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
