"""``heldout load-challenges`` and ``heldout demo``: what a fresh installation holds."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

from heldout.graders.errors import BundleError
from heldout.platform.cli.common import load_app


def load_challenges(app: Flask) -> None:
    """Read the challenges directory into the catalogue and say what changed."""
    from heldout.platform.services import catalogue

    with app.app_context():
        report = catalogue.load_challenges(Path(app.config["HELDOUT_CHALLENGES_DIR"]))
    for label, slugs in (("added", report.added), ("updated", report.updated),
                         ("unchanged", report.unchanged), ("no longer available", report.retired)):
        if slugs:
            click.echo(f"{label}: {', '.join(slugs)}")
    for error in report.errors:
        click.echo(f"skipped broken bundle: {error}", err=True)


@click.command("load-challenges")
def load_challenges_command() -> None:
    """Read the bundles of HELDOUT_CHALLENGES_DIR into the catalogue (idempotent)."""
    try:
        load_challenges(load_app())
    except BundleError as exc:  # no challenges directory at all
        raise click.ClickException(str(exc)) from exc


def demo_logins_file(app: Flask) -> Path:
    return Path(app.config["HELDOUT_DATA_DIR"]) / "demo-logins.json"


def ensure_demo(app: Flask) -> list[tuple[str, str, str]]:
    """The demo accounts and assessment, made when missing: (role, e-mail, password) each."""
    from heldout.platform.services import demo

    with app.app_context():
        report = demo.ensure_demo(demo_logins_file(app))
        name = report.assessment.name if report.assessment else None
    if name:
        click.echo(f"demo assessment: {name}" + (" (created)" if report.created_assessment else ""))
    else:
        click.echo("no demo assessment: no challenges loaded (run `heldout load-challenges`)")
    return [(login.role, login.email, login.password) for login in report.logins]


def print_logins(logins: list[tuple[str, str, str]], kept_in: Path) -> None:
    click.echo(f"demo logins (kept in {kept_in}):")
    for role, email, password in logins:
        click.echo(f"  {role:<12} {email:<26} {password}")


@click.command("demo")
@click.option("--force", is_flag=True, help="Allow it with HELDOUT_ENV=production.")
def demo_command(force: bool) -> None:
    """Create demo accounts (printed with their passwords) and a demo assessment."""
    app = load_app()
    if app.config["HELDOUT_ENV"] == "production" and not force:
        raise click.ClickException("refusing to create demo accounts in production "
                                   "(use --force if you mean it)")
    print_logins(ensure_demo(app), demo_logins_file(app))
