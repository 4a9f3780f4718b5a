"""``heldout db …``: the database schema's migrations (Alembic)."""

from __future__ import annotations

import click
import flask_migrate

from heldout.platform.cli.common import load_app


@click.group("db")
def db_group() -> None:
    """Database schema migrations (Alembic)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Bring the database schema up to REVISION (default: the newest)."""
    app = load_app()
    with app.app_context():
        flask_migrate.upgrade(revision=revision)
    click.echo(f"database at {revision}")


@db_group.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Take the schema back to REVISION (e.g. -1)."""
    app = load_app()
    with app.app_context():
        flask_migrate.downgrade(revision=revision)


@db_group.command("migrate")
@click.option("-m", "--message", required=True, help="What the migration does.")
def db_migrate(message: str) -> None:
    """Draft a migration from the models (review it before committing)."""
    app = load_app()
    with app.app_context():
        flask_migrate.migrate(message=message)


@db_group.command("current")
def db_current() -> None:
    """Show the schema revision of the database."""
    app = load_app()
    with app.app_context():
        flask_migrate.current()
