"""The application factory: it wires settings, extensions and blueprints, nothing more."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import event

from heldout.platform import http, i18n, remote_files, templating
from heldout.platform.config import install_secret_key, load_settings
from heldout.platform.extensions import csrf, db, limiter, login_manager, migrate
from heldout.platform.queue import EXTENSION_KEY, JobQueue
from heldout.platform.services import catalogue, feedback
from heldout.platform.services import webhooks as webhooks_service
from heldout.platform.services.ats import callbacks as ats_callbacks
from heldout.platform.views import (
    account,
    admin,
    analytics,
    api,
    ats,
    auth,
    candidate,
    internal,
    review,
    staff,
    stewardship,
    webhooks,
)
from heldout.platform.views.common import IdConverter

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build an app. Settings: defaults, then ``HELDOUT_*`` environment, then ``config``."""
    app = Flask(__name__)
    app.config.update(load_settings(os.environ, config))
    app.session_interface = InstallKeySessions()

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    app.extensions[EXTENSION_KEY] = JobQueue(app.config["HELDOUT_QUEUE_URL"], app.app_context)
    # Webhook deliveries are queued once the transaction that wrote them commits.
    app.extensions[webhooks_service.ENQUEUE_KEY] = app.extensions[EXTENSION_KEY].enqueue
    # An ATS order whose candidate is complete calls the ATS back (services/ats/callbacks.py).
    webhooks_service.on_progress(ats_callbacks.completion_due)
    # So does a candidate's feedback e-mail, where the assessment gives feedback.
    webhooks_service.on_progress(feedback.feedback_due)
    # A worker on another host (HELDOUT_FILES_URL) fetches files from the web app; no
    # connection is opened here.
    files = remote_files.make_client(app.config)
    app.extensions[remote_files.EXTENSION_KEY] = files
    app.extensions[catalogue.EXTENSION_KEY] = catalogue.make_catalogue(
        Path(app.config["HELDOUT_CHALLENGES_DIR"]), Path(app.config["HELDOUT_DATA_DIR"]), files)

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "do_connect", _make_sqlite_dir)
            event.listen(db.engine, "connect", _sqlite_pragmas)

    auth.init_login(login_manager)
    app.url_map.converters["int"] = IdConverter
    for blueprint in (auth.bp, staff.bp, review.bp, analytics.bp, candidate.bp, admin.bp,
                      webhooks.bp, stewardship.bp, ats.bp, account.bp, internal.bp):
        app.register_blueprint(blueprint)
    api.init_app(app)
    http.init_app(app)
    auth.init_app(app)
    templating.init_app(app)
    i18n.init_app(app)
    return app


class InstallKeySessions(SecureCookieSessionInterface):
    """Cookie sessions; with no key configured (outside production), the installation's
    own, read or made when the first request opens a session rather than by the factory.
    Everything else that signs (form tokens, invite links) runs after that."""

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.config["SECRET_KEY"]:
            app.config["SECRET_KEY"] = install_secret_key(Path(app.config["HELDOUT_DATA_DIR"]))
        return super().get_signing_serializer(app)


def _make_sqlite_dir(dialect: Any, _record: Any, cargs: Any, _cparams: Any) -> None:
    # Only when a connection is first needed: creating the app touches no disk.
    database = cargs[0] if cargs else None
    if isinstance(database, str) and database not in ("", ":memory:") and \
            not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # WAL lets the web app read while the worker writes; busy_timeout waits for the lock.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()

