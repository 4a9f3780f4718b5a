"""``heldout create-user`` and ``heldout users …``: staff accounts."""

from __future__ import annotations

import sys

import click

from heldout.platform.cli.common import load_app
from heldout.platform.errors import PlatformError


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["admin", "recruiter", "interviewer"]), required=True)
@click.password_option()
def create_user_command(email: str, name: str, role: str, password: str) -> None:
    """Create a staff account."""
    from heldout.platform.services import accounts

    app = load_app()
    with app.app_context():
        try:
            user = accounts.create_user(email, name, role, password)
        except PlatformError as exc:
            raise click.ClickException(exc.message) from exc
        click.echo(f"created {user.role} {user.email}")


@click.group("users")
def users_group() -> None:
    """Staff accounts: list them, set a password, disable one (its sessions end)."""


@users_group.command("list")
def users_list() -> None:
    """Every staff account with its role and whether it may sign in."""
    from heldout.platform.services import accounts

    with load_app().app_context():
        for user in accounts.list_users():
            state = "active" if user.active else "disabled"
            click.echo(f"{user.email:<32} {user.role:<12} {state:<9} {user.name}")


def _password(password_stdin: bool) -> str:
    if password_stdin:
        # One line, as `docker login --password-stdin` reads it; keeps it out of `ps`.
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("New password", hide_input=True, confirmation_prompt=True))


@users_group.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_set_password(email: str, password_stdin: bool) -> None:
    """Set the password of EMAIL; every session of that account ends."""
    from heldout.platform.services import accounts

    with load_app().app_context():
        try:
            user = accounts.set_password_by_email(email, _password(password_stdin))
        except PlatformError as exc:
            raise click.ClickException(exc.message) from exc
        click.echo(f"password changed for {user.email}; its sessions have ended")


@users_group.command("disable")
@click.argument("email")
def users_disable(email: str) -> None:
    """Stop EMAIL from signing in, and end its sessions now."""
    from heldout.platform.services import accounts

    with load_app().app_context():
        try:
            user = accounts.set_active(email, False)
        except PlatformError as exc:
            raise click.ClickException(exc.message) from exc
        click.echo(f"disabled {user.email}; its sessions have ended")


@users_group.command("enable")
@click.argument("email")
def users_enable(email: str) -> None:
    """Let a disabled EMAIL sign in again."""
    from heldout.platform.services import accounts

    with load_app().app_context():
        try:
            user = accounts.set_active(email, True)
        except PlatformError as exc:
            raise click.ClickException(exc.message) from exc
        click.echo(f"enabled {user.email}")
