"""Health of an installation: the sandbox, database, queue, challenges (and, where set up,
the other hosts' files endpoint and the AI model server); each OK or a fix."""

from __future__ import annotations

from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import func, select

from heldout.platform.config import sandbox_settings
from heldout.platform.extensions import db
from heldout.platform.models import Challenge
from heldout.sandbox import Finding, SandboxSettings, get_sandbox


def sandbox_findings(settings: SandboxSettings) -> list[Finding]:
    """The sandbox backend's own doctor (for Docker: engine, image, host hardening)."""
    try:
        sandbox = get_sandbox(settings)
        try:
            return list(sandbox.doctor())
        finally:
            sandbox.close()
    except Exception as exc:  # a doctor must report, never crash
        return [Finding("sandbox", False, f"{type(exc).__name__}: {exc}",
                        f"check the {settings.backend} sandbox backend "
                        "(HELDOUT_SANDBOX_BACKEND and its settings)")]


def database_finding(app: Flask) -> Finding:
    url = db.engine.url.render_as_string(hide_password=True)
    try:
        with db.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except Exception as exc:
        return Finding("database", False, f"{url}: cannot connect ({exc.__class__.__name__}: "
                       f"{exc})", "check HELDOUT_DATABASE_URL and that the server is running")
    directory = app.extensions["migrate"].directory
    head = ScriptDirectory(directory).get_current_head()
    if current != head:
        return Finding("database", False, f"{url}: schema at {current or 'nothing'}, code "
                       f"expects {head}", "run `heldout db upgrade`")
    return Finding("database", True, f"{url}: schema up to date ({head})")


def queue_finding(app: Flask) -> Finding:
    from heldout.platform.queue import get_queue

    url = app.config["HELDOUT_QUEUE_URL"]
    try:
        depth = get_queue().depth()
    except Exception as exc:
        return Finding("queue", False, f"{url}: unreachable ({exc.__class__.__name__}: {exc})",
                       "check HELDOUT_QUEUE_URL (and that Redis/PostgreSQL runs, if used)")
    return Finding("queue", True, f"{url}: {depth} job(s) waiting")


def challenges_finding(app: Flask) -> Finding:
    from heldout.graders.bundle import scan_bundles
    from heldout.graders.errors import BundleError

    directory = Path(app.config["HELDOUT_CHALLENGES_DIR"])
    try:
        scan = scan_bundles(directory)
    except BundleError as exc:
        return Finding("challenges", False, str(exc), "set HELDOUT_CHALLENGES_DIR")
    if scan.errors:
        return Finding("challenges", False, f"{len(scan.errors)} broken bundle(s): "
                       f"{scan.errors[0]}", "fix the bundle (`heldout challenges validate`)")
    try:
        loaded = db.session.scalar(select(func.count()).select_from(Challenge)
                                   .where(Challenge.available)) or 0
        versions = {c.slug: c.version for c in db.session.scalars(select(Challenge))}
    except Exception:
        loaded, versions = 0, {}
    stale = [b.slug for b in scan.bundles if versions.get(b.slug) != b.version]
    if stale:
        return Finding("challenges", False, f"{len(scan.bundles)} bundle(s) in {directory}; "
                       f"not loaded or changed: {', '.join(stale)}",
                       "run `heldout load-challenges`")
    return Finding("challenges", True, f"{loaded} challenge(s) loaded from {directory}")


def files_finding(app: Flask) -> Finding | None:
    """On a worker with ``HELDOUT_FILES_URL``: whether the web app's endpoint takes the token."""
    from heldout.platform.remote_files import EXTENSION_KEY, FilesClient, FilesUnavailable

    client = app.extensions.get(EXTENSION_KEY)
    if not isinstance(client, FilesClient):
        return None
    try:
        client.ping()
    except FilesUnavailable as exc:
        return Finding("files", False, str(exc),
                       "check HELDOUT_FILES_URL and that HELDOUT_INTERNAL_TOKEN is the web "
                       "app's")
    return Finding("files", True, f"{client.base_url}: internal endpoint answers")


def ai_finding(app: Flask) -> Finding | None:
    """With ``HELDOUT_AI_URL`` set: whether the model server answers a one-token question
    (optional: without it, assessments simply can't offer the assistant)."""
    from heldout.platform.errors import AssistantFailed
    from heldout.platform.services.assistant import AssistantSettings, post_chat

    settings = AssistantSettings.from_config(app.config)
    if settings is None:
        return None
    try:
        post_chat(settings, [{"role": "user", "content": "Say OK."}], 1)
    except AssistantFailed as exc:
        return Finding("ai assistant", False, f"{settings.endpoint}: {exc.message}",
                       "check HELDOUT_AI_URL, HELDOUT_AI_MODEL and HELDOUT_AI_KEY, and that "
                       "the model server runs", required=False)
    return Finding("ai assistant", True, f"{settings.endpoint}: answers "
                   f"({settings.model or 'its default model'})", required=False)


def findings(app: Flask) -> list[Finding]:
    with app.app_context():
        files = files_finding(app)
        ai = ai_finding(app)
        return [*sandbox_findings(sandbox_settings(app.config)), database_finding(app),
                queue_finding(app), challenges_finding(app),
                *([files] if files is not None else []), *([ai] if ai is not None else [])]
