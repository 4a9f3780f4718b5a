"""``heldout tokens …``: personal API tokens for scripts, without a browser."""

from __future__ import annotations

import click
from flask.ctx import AppContext

from heldout.platform.cli.common import load_app
from heldout.platform.errors import PlatformError
from heldout.platform.models import API_SCOPES


def _app_context() -> AppContext:
    return load_app().app_context()


@click.group("tokens")
def tokens_group() -> None:
    """Personal API tokens: create one (its secret printed once), list them, revoke one."""


@tokens_group.command("create")
@click.option("--email", required=True, help="The staff account the token acts as.")
@click.option("--scope", type=click.Choice(API_SCOPES), required=True,
              help="read; invite (reads and invites); admin (all the account's role may do).")
@click.option("--days", type=int, default=None, help="Days until it expires (default 90, at most 365).")
@click.option("--name", default="command line", show_default=True, help="What will use it.")
def tokens_create(email: str, scope: str, days: int | None, name: str) -> None:
    """Create a token for EMAIL and print its secret (only now: it is stored hashed).

    The secret alone goes to standard output, so `TOKEN=$(heldout tokens create …)` works.
    """
    from heldout.platform.models import utcnow
    from heldout.platform.services import accounts, api_tokens

    with _app_context():
        try:
            user = accounts.user_by_email(email)
            made = api_tokens.create_token(
                user=user, name=name, scope=scope, days=days or api_tokens.DEFAULT_DAYS,
                now=utcnow(), actor=None, actor_label=accounts.COMMAND_LINE)
        except PlatformError as exc:
            raise click.ClickException(exc.message) from exc
        click.echo(f"token {made.token.id} for {user.email} ({scope}), expires "
                   f"{made.token.expires_at:%Y-%m-%d}; shown only now:", err=True)
        click.echo(made.secret)


@tokens_group.command("list")
@click.option("--email", default=None, help="Only this account's tokens.")
def tokens_list(email: str | None) -> None:
    """Every token (or EMAIL's) with its scope, state, expiry and last use."""
    from heldout.platform.models import utcnow
    from heldout.platform.services import accounts, api_tokens

    with _app_context():
        try:
            owner = accounts.user_by_email(email).id if email else None
        except PlatformError as exc:
            raise click.ClickException(exc.message) from exc
        now = utcnow()
        for token in api_tokens.list_tokens(owner):
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            click.echo(f"{token.id:>5} {token.user.email:<32} {token.prefix}… {token.scope:<7} "
                       f"{api_tokens.state_of(token, now):<8} expires "
                       f"{token.expires_at:%Y-%m-%d}  last used {used}  {token.name}")


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Stop token TOKEN_ID (its number in `heldout tokens list`) from working at once."""
    from heldout.platform.models import utcnow
    from heldout.platform.services import accounts, api_tokens

    with _app_context():
        try:
            token = api_tokens.revoke_token(token_id, owner_id=None, now=utcnow(), actor=None,
                                            actor_label=accounts.COMMAND_LINE)
        except PlatformError as exc:
            raise click.ClickException(exc.message) from exc
        click.echo(f"revoked token {token.id} ({token.prefix}…) of {token.user.email}")
