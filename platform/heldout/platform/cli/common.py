"""What the command modules share: the app from the environment's settings, and logging."""

from __future__ import annotations

import logging

import click
from flask import Flask

from heldout.platform.app import create_app
from heldout.platform.errors import ConfigError


def load_app() -> Flask:
    """The app as HELDOUT_* configure it; a bad setting is a one-line error, not a trace."""
    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(exc.message) from exc


def configure_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
