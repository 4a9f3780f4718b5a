"""A staff member's own account: their personal API tokens (made, shown once, revoked)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from heldout.platform.errors import InvalidInput
from heldout.platform.models import API_SCOPES
from heldout.platform.services import api_tokens
from heldout.platform.views.auth import role_required, staff_user
from heldout.platform.views.common import now, parse_int, request_origin

bp = Blueprint("account", __name__, url_prefix="/account")

# Every staff role has an account (admins hold every role anyway).
EVERYONE = ("recruiter", "interviewer")
DAY_CHOICES = (7, 30, 90, 365)


def _page(*, new: api_tokens.NewApiToken | None = None, error: InvalidInput | None = None,
          form: dict[str, str] | None = None) -> ResponseReturnValue:
    user = staff_user()
    at = now()
    tokens = [(token, api_tokens.state_of(token, at)) for token in api_tokens.list_tokens(user.id)]
    page = render_template("account/tokens.html", tokens=tokens, new=new, error=error,
                           form=form or {}, scopes=API_SCOPES, scope_words=api_tokens.SCOPE_WORDS,
                           day_choices=DAY_CHOICES, default_days=api_tokens.DEFAULT_DAYS)
    return (page, 400) if error is not None else page


@bp.get("/tokens")
@role_required(*EVERYONE)
def tokens() -> ResponseReturnValue:
    """Your API tokens: scope, expiry, last use; the form to make one."""
    return _page()


@bp.post("/tokens")
@role_required(*EVERYONE)
def token_create() -> ResponseReturnValue:
    """Make a token and show its secret, on this answer only (it is stored hashed)."""
    form = {key: request.form.get(key, "") for key in ("name", "scope", "days")}
    user = staff_user()
    try:
        made = api_tokens.create_token(
            user=user, name=form["name"], scope=form["scope"],
            days=parse_int(form["days"], api_tokens.DEFAULT_DAYS) or 0, now=now(),
            actor=user, origin=request_origin())
    except InvalidInput as exc:
        return _page(error=exc, form=form)
    return _page(new=made)


@bp.post("/tokens/<int:token_id>/revoke")
@role_required(*EVERYONE)
def token_revoke(token_id: int) -> ResponseReturnValue:
    """Stop one of your tokens from working, at once."""
    user = staff_user()
    token = api_tokens.revoke_token(token_id, owner_id=user.id, now=now(), actor=user,
                                    origin=request_origin())
    flash(f"The token “{token.name}” ({token.prefix}…) no longer works.", "success")
    return redirect(url_for("account.tokens"), code=303)
