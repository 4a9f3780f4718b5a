"""Alembic migrations produce exactly the schema the models describe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from heldout.platform.app import create_app
from heldout.platform.extensions import db
from heldout.platform.models import Base, User


def _app(tmp_path: Path):  # type: ignore[no-untyped-def]
    return create_app({"HELDOUT_ENV": "testing", "HELDOUT_DATA_DIR": str(tmp_path),
                       "HELDOUT_QUEUE_URL": "memory://"})


def test_migrations_match_the_models(tmp_path: Path) -> None:
    app = _app(tmp_path)
    with app.app_context():
        flask_migrate.upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
        db.engine.dispose()
    assert diff == []


def test_downgrade_to_nothing_and_back(tmp_path: Path) -> None:
    app = _app(tmp_path)
    with app.app_context():
        flask_migrate.upgrade()
        flask_migrate.downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        flask_migrate.upgrade()
        assert "submission" in inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    app = _app(tmp_path)
    with app.app_context():
        with db.engine.connect() as connection:
            mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
            timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        db.engine.dispose()
    assert mode == "wal"
    assert timeout == 30000


def test_datetimes_come_back_aware_and_in_utc(tmp_path: Path) -> None:
    app = _app(tmp_path)
    paris = timezone(timedelta(hours=2))
    with app.app_context():
        db.create_all()
        db.session.add(User(email="a@example.com", name="A", role="admin", password_hash="x",
                            created_at=datetime(2025, 6, 1, 14, 0, tzinfo=paris)))
        db.session.commit()
        db.session.expunge_all()
        user = db.session.scalars(select(User)).one()
        db.engine.dispose()
    assert user.created_at == datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    assert user.created_at.tzinfo is UTC
