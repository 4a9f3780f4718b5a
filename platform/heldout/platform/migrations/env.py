"""Alembic environment: runs migrations on the database of the current Flask app."""

from __future__ import annotations

import logging
from logging.config import fileConfig
from typing import Any

import sqlalchemy as sa
from alembic import context
from flask import current_app
from sqlalchemy.types import TypeDecorator

config = context.config
if config.config_file_name is not None and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
log = logging.getLogger("alembic.env")

db = current_app.extensions["migrate"].db
target_metadata = db.metadata


def _skip_empty(context_: Any, revision: Any, directives: list[Any]) -> None:
    # `heldout db migrate` with no model change should not write an empty script.
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        log.info("No changes in the models; no migration written.")


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Scripts must not import the models (they change; history must not): our column
    # types are written as the plain SQLAlchemy type they store.
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def _options() -> dict[str, Any]:
    options = dict(current_app.extensions["migrate"].configure_args)
    options.setdefault("process_revision_directives", _skip_empty)
    options.setdefault("compare_type", True)
    options.setdefault("render_as_batch", True)
    options.setdefault("render_item", _render_item)
    return options


# Five revisions were renamed so that file numbers follow the chain; a database upgraded
# before the rename still records an old name, which is carried over here before Alembic
# reads it. Old and new names never coincide, so the mapping is one way only.
RENAMED_REVISIONS = {
    "0009_reviews": "0006_reviews",
    "0006_artefacts": "0007_artefacts",
    "0010_teams_audit": "0008_teams_audit",
    "0007_drafts": "0009_drafts",
    "0008_recruiting": "0010_recruiting",
}


def _carry_renamed_revisions(connection: Any) -> None:
    if not sa.inspect(connection).has_table("alembic_version"):
        return
    for old, new in RENAMED_REVISIONS.items():
        connection.execute(sa.text("UPDATE alembic_version SET version_num = :new WHERE version_num = :old"),
                           {"new": new, "old": old})


def run_migrations_offline() -> None:
    context.configure(url=str(db.engine.url).replace("%", "%%"), target_metadata=target_metadata,
                      literal_binds=True, **_options())
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    with db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, **_options())
        with context.begin_transaction():
            _carry_renamed_revisions(connection)
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
