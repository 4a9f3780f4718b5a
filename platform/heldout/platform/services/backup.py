"""``heldout backup`` and ``heldout restore``: the database and the files, consistent while
the instance runs, into an empty instance on SQLite or PostgreSQL (either way round).

A backup is one ``.tar.gz``:
- ``manifest.json``: format, when, heldout's version, the schema revision, the row count of
  each table, the number of files;
- ``db/<table>.jsonl``: every row, one JSON object per line (times as ISO 8601, bytes as
  base64), read in one snapshot: SQLite's online-backup copy, or a PostgreSQL transaction
  at ``REPEATABLE READ``, so rows that point at each other are always both there;
- ``blobs/…`` and ``bundles/…``: the content-addressed files, copied after the snapshot
  (files are written before the rows naming them commit, so every file a row names is in).

Restore migrates the empty database to the backup's revision, inserts the rows in the
order their foreign keys need, sets PostgreSQL's id sequences past them, copies the files
back (each blob checked against its hash), then migrates to the newest revision.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import flask_migrate
from sqlalchemy import Connection, Engine, MetaData, create_engine, func, select, text
from sqlalchemy.types import JSON, DateTime, LargeBinary

from heldout.platform.blobs import SHA256
from heldout.platform.config import SECRET_KEY_FILE
from heldout.platform.errors import InvalidInput
from heldout.platform.extensions import db
from heldout.platform.models import utcnow

FORMAT = 1
# Directories of the data directory a backup carries (content-addressed, immutable files).
FILE_AREAS = ("blobs", "bundles")


@dataclass(frozen=True)
class Manifest:
    created_at: str
    revision: str
    dialect: str
    tables: dict[str, int]
    files: int
    heldout: str
    format: int = FORMAT

    def as_dict(self) -> dict[str, Any]:
        return {"format": self.format, "created_at": self.created_at,
                "revision": self.revision, "dialect": self.dialect, "tables": self.tables,
                "files": self.files, "heldout": self.heldout}


def _heldout_version() -> str:
    try:
        return version("heldout")
    except PackageNotFoundError:
        return "unknown"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    return value


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection that reads one consistent state of the database."""
    if engine.dialect.name == "sqlite":
        source = engine.url.database
        if not source:
            raise InvalidInput("This SQLite database has no file to back up.")
        with tempfile.TemporaryDirectory(prefix="heldout-backup-") as scratch:
            copy = Path(scratch) / "snapshot.db"
            with sqlite3.connect(source) as live, sqlite3.connect(copy) as target:
                live.backup(target)  # SQLite's online backup: one consistent state
            snapshot = create_engine(f"sqlite:///{copy}")
            try:
                with snapshot.connect() as connection:
                    yield connection
            finally:
                snapshot.dispose()
        return
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection, \
            connection.begin():
        connection.execute(text("SET TRANSACTION READ ONLY"))
        yield connection


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(utcnow().timestamp())
    info.mode = 0o600
    archive.addfile(info, io.BytesIO(data))


def backup(out: Path, *, data_dir: Path) -> Manifest:
    """Write a backup of the current app's database and files to ``out`` (a .tar.gz)."""
    engine = db.engine
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    try:
        manifest = _write(partial, engine, data_dir)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(out)
    return manifest


def _write(partial: Path, engine: Engine, data_dir: Path) -> Manifest:
    tables: dict[str, int] = {}
    # The archive holds every secret of the instance: readable by its owner only.
    partial.touch(mode=0o600)
    os.chmod(partial, 0o600)
    with tarfile.open(partial, "w:gz") as archive, _snapshot(engine) as connection:
        schema = MetaData()
        schema.reflect(connection)
        revision = str(connection.execute(text("SELECT version_num FROM alembic_version"))
                       .scalar() or "")
        if not revision:
            raise InvalidInput("The database has no schema revision: nothing to back up.",
                               hint="Run `heldout db upgrade` first.")
        for table in schema.sorted_tables:
            if table.name == "alembic_version":
                continue
            lines = [json.dumps({key: _plain(value) for key, value in row._mapping.items()},
                                sort_keys=True)
                     for row in connection.execute(select(table))]
            tables[table.name] = len(lines)
            _add_bytes(archive, f"db/{table.name}.jsonl",
                       ("\n".join(lines) + ("\n" if lines else "")).encode())
        files = 0
        for area in FILE_AREAS:
            root = data_dir / area
            if not root.is_dir():
                continue
            for path in sorted(root.rglob("*")):
                relative = path.relative_to(root)
                if path.is_file() and not any(part.startswith(".") for part in relative.parts):
                    archive.add(path, arcname=f"{area}/{relative}", recursive=False)
                    files += 1
        key = data_dir / SECRET_KEY_FILE
        if key.is_file():  # the installation's own key: its invite links and sessions
            _add_bytes(archive, SECRET_KEY_FILE, key.read_bytes())
        manifest = Manifest(utcnow().isoformat(), revision, engine.dialect.name, tables, files,
                            _heldout_version())
        _add_bytes(archive, "manifest.json", json.dumps(manifest.as_dict(), indent=2).encode())
    return manifest


# --- restore ------------------------------------------------------------------------

def _read_manifest(archive: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = archive.extractfile("manifest.json")
    except KeyError:
        member = None
    if member is None:
        raise InvalidInput("Not a heldout backup: it has no manifest.json.")
    manifest = json.loads(member.read())
    if manifest.get("format") != FORMAT:
        raise InvalidInput(f"Backup format {manifest.get('format')!r} is not one this "
                           f"version reads ({FORMAT}).")
    return dict(manifest)


def _decoded(column_type: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column_type, DateTime):
        return datetime.fromisoformat(value)
    if isinstance(column_type, LargeBinary):
        return base64.b64decode(value)
    if isinstance(column_type, JSON) and isinstance(value, str):
        # SQLite reflects a JSON column as JSON too, but guard against a text copy.
        return value
    return value


# An instance holds data once it has accounts, assessments or invites; the rows migrations
# write themselves (the default team) do not count, and are replaced by the backup's.
HOLDING_TABLES = ("user_account", "assessment", "invite")


def _check_empty(connection: Connection) -> None:
    schema = MetaData()
    schema.reflect(connection, only=lambda name, _meta: name in HOLDING_TABLES)
    filled = [table.name for table in schema.sorted_tables
              if connection.execute(select(func.count()).select_from(table)).scalar()]
    if filled:
        raise InvalidInput("Restore goes into an empty instance; this one already holds "
                           f"data ({', '.join(filled)}).",
                           hint="Point HELDOUT_DATABASE_URL and HELDOUT_DATA_DIR at a new, "
                                "empty database and directory.")


def _safe_member(name: str) -> bool:
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts


def restore(source: Path, *, data_dir: Path) -> dict[str, Any]:
    """Restore the backup at ``source`` into the current app's empty database and
    ``data_dir``. Returns the backup's manifest."""
    try:
        archive = tarfile.open(source, "r:gz")  # noqa: SIM115 (closed by the with below)
    except (OSError, tarfile.TarError) as exc:
        raise InvalidInput(f"{source}: not a heldout backup ({exc}).") from None
    with archive:
        manifest = _read_manifest(archive)
        engine = db.engine
        with engine.connect() as connection:
            _check_empty(connection)
            current = _revision(connection)
        try:
            if current and current != manifest["revision"]:
                flask_migrate.downgrade(revision="base")  # empty: the backup's schema next
            flask_migrate.upgrade(revision=str(manifest["revision"]))
        except Exception as exc:
            raise InvalidInput(f"This version of heldout cannot migrate to the backup's schema "
                               f"revision {manifest['revision']!r} ({exc}).",
                               hint="Restore with the heldout version that made the backup "
                                    f"({manifest.get('heldout')}), or a newer one.") from None
        with engine.begin() as connection:
            _insert_rows(connection, archive, manifest)
        _copy_files(archive, data_dir)
        key = data_dir / SECRET_KEY_FILE
        if SECRET_KEY_FILE in archive.getnames() and not key.exists():
            handle = archive.extractfile(SECRET_KEY_FILE)
            if handle is not None:
                data_dir.mkdir(parents=True, exist_ok=True)
                key.touch(mode=0o600)
                key.write_bytes(handle.read())
        flask_migrate.upgrade()
    return manifest


def _revision(connection: Connection) -> str | None:
    schema = MetaData()
    schema.reflect(connection, only=lambda name, _meta: name == "alembic_version")
    if "alembic_version" not in schema.tables:
        return None
    value = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if value is None else str(value)


def _insert_rows(connection: Connection, archive: tarfile.TarFile,
                 manifest: dict[str, Any]) -> None:
    schema = MetaData()
    schema.reflect(connection)
    for table in reversed(schema.sorted_tables):  # what the migrations wrote themselves
        if table.name != "alembic_version":
            connection.execute(table.delete())
    for table in schema.sorted_tables:
        if table.name == "alembic_version":
            continue
        member = archive.extractfile(f"db/{table.name}.jsonl") \
            if f"db/{table.name}.jsonl" in archive.getnames() else None
        if member is None:
            if manifest["tables"].get(table.name):
                raise InvalidInput(f"The backup lists {table.name} but does not hold it.")
            continue
        columns = {column.name: column.type for column in table.columns}
        batch: list[dict[str, Any]] = []
        for line in member:
            row = json.loads(line)
            batch.append({key: _decoded(columns[key], value) for key, value in row.items()
                          if key in columns})
            if len(batch) == 500:
                connection.execute(table.insert(), batch)
                batch = []
        if batch:
            connection.execute(table.insert(), batch)
        if connection.dialect.name == "postgresql" and "id" in columns:
            # Past the restored ids, or the next row made would take one of theirs.
            sequence = connection.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"),
                                          {"t": table.name}).scalar()
            if sequence is not None:
                highest = connection.execute(select(func.max(table.c.id))).scalar() or 0
                connection.execute(text("SELECT setval(:s, :v, false)"),
                                   {"s": sequence, "v": int(highest) + 1})


def _copy_files(archive: tarfile.TarFile, data_dir: Path) -> None:
    for member in archive.getmembers():
        area = member.name.split("/", 1)[0]
        if area not in FILE_AREAS or not member.isfile():
            continue
        if not _safe_member(member.name):
            raise InvalidInput(f"The backup holds an unsafe path: {member.name!r}.")
        handle = archive.extractfile(member)
        if handle is None:
            continue
        data = handle.read()
        target = data_dir / member.name
        if area == "blobs" and SHA256.fullmatch(target.name) and \
                hashlib.sha256(data).hexdigest() != target.name:
            raise InvalidInput(f"The backup's file {member.name} does not match its hash.")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        partial.write_bytes(data)
        partial.replace(target)

