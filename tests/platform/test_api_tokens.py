"""Personal API tokens: made in the account page or by `heldout tokens`, shown once, stored
hashed, listed with their last use, revoked."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.platform.cli import main
from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.extensions import db
from heldout.platform.models import ApiToken, AuditEvent, User, utcnow
from heldout.platform.services import api_tokens
from heldout.platform.tokens import token_hash
from tests.platform.conftest import Users

SECRET = re.compile(r"hld_[A-Za-z0-9_-]{43}")


def _user(app: Flask, user_id: int) -> User:
    user = db.session.get(User, user_id)
    assert user is not None
    return user


def test_only_the_hash_is_stored(app: Flask, users: Users) -> None:
    with app.app_context():
        user = _user(app, users.recruiter)
        made = api_tokens.create_token(user=user, name="  sync   job ", scope="invite", days=7,
                                       now=utcnow(), actor=user)
        assert SECRET.fullmatch(made.secret)
        row = db.session.scalars(select(ApiToken)).one()
        assert row.token_hash == token_hash(made.secret) and made.secret not in row.token_hash
        assert row.prefix == made.secret[:12] and row.name == "sync job"
        assert row.expires_at - row.created_at == timedelta(days=7)
        assert api_tokens.authenticate(made.secret, now=utcnow()).id == row.id
        event = db.session.scalars(select(AuditEvent)).one()
        assert event.action == "api_token.create" and made.secret not in str(event.detail)


@pytest.mark.parametrize(("name", "scope", "days", "field"), [
    ("", "read", 30, "name"), ("x" * 101, "read", 30, "name"), ("ok", "write", 30, "scope"),
    ("ok", "read", 0, "days"), ("ok", "read", 366, "days")])
def test_a_token_is_named_scoped_and_expires(app: Flask, users: Users, name: str, scope: str,
                                             days: int, field: str) -> None:
    with app.app_context():
        user = _user(app, users.recruiter)
        with pytest.raises(InvalidInput) as refused:
            api_tokens.create_token(user=user, name=name, scope=scope, days=days, now=utcnow(),
                                    actor=user)
        assert refused.value.field == field


def test_scopes_include_the_narrower_ones() -> None:
    assert api_tokens.allows("admin", "invite") and api_tokens.allows("invite", "read")
    assert not api_tokens.allows("read", "invite") and not api_tokens.allows("invite", "admin")
    assert not api_tokens.allows("nonsense", "read")


def test_nobody_revokes_another_accounts_token(app: Flask, users: Users) -> None:
    with app.app_context():
        owner = _user(app, users.recruiter)
        made = api_tokens.create_token(user=owner, name="mine", scope="read", days=7,
                                       now=utcnow(), actor=owner)
        with pytest.raises(NotFound):
            api_tokens.revoke_token(made.token.id, owner_id=users.interviewer, now=utcnow(),
                                    actor=_user(app, users.interviewer))
        assert api_tokens.state_of(made.token, utcnow()) == "active"


# --- the page ----------------------------------------------------------------------------------

def test_the_page_shows_a_new_token_once_then_lists_it(
        app: Flask, client: FlaskClient, auth: Any, users: Users) -> None:
    auth.login("interviewer")
    empty = client.get("/account/tokens")
    assert empty.status_code == 200 and "No tokens yet" in empty.text
    made = client.post("/account/tokens", data={"name": "Reports sync", "scope": "read",
                                                "days": "30"})
    assert made.status_code == 200
    (secret,) = SECRET.findall(made.text)
    assert "shown only now" in made.text
    listed = client.get("/account/tokens")
    assert secret not in listed.text and secret[:12] in listed.text and "never" in listed.text
    # Used once: the list says when and from where.
    client.get("/api/v1/assessments", headers={"Authorization": f"Bearer {secret}"})
    used = client.get("/account/tokens").text
    assert "never" not in used and "from 127.0.0.1" in used
    with app.app_context():
        token_id = db.session.scalars(select(ApiToken.id)).one()
    revoked = client.post(f"/account/tokens/{token_id}/revoke")
    assert revoked.status_code == 303
    page = client.get("/account/tokens").text
    assert "no longer works" in page and "badge-revoked" in page
    assert client.get("/api/v1/assessments",
                      headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_the_form_says_what_is_wrong(client: FlaskClient, auth: Any) -> None:
    auth.login("recruiter")
    response = client.post("/account/tokens", data={"name": "", "scope": "read", "days": "30"})
    assert response.status_code == 400 and "Give the token a name" in response.text
    assert not SECRET.findall(response.text)


def test_another_accounts_token_cannot_be_revoked_from_the_page(
        app: Flask, client: FlaskClient, auth: Any, users: Users) -> None:
    with app.app_context():
        owner = _user(app, users.recruiter)
        made = api_tokens.create_token(user=owner, name="theirs", scope="read", days=7,
                                       now=utcnow(), actor=owner)
        token_id = made.token.id
    auth.login("admin")
    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 404
    assert "theirs" not in client.get("/account/tokens").text


# --- the command line --------------------------------------------------------------------------

def test_tokens_create_list_revoke_by_command(app: Flask, users: Users, tmp_path: Path,
                                              challenges_dir: Path) -> None:
    env = {"HELDOUT_DATA_DIR": app.config["HELDOUT_DATA_DIR"],
           "HELDOUT_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "HELDOUT_CHALLENGES_DIR": str(challenges_dir), "HELDOUT_ENV": "development",
           "HELDOUT_SECRET_KEY": "tokens-cli-test"}
    runner = CliRunner()
    made = runner.invoke(main, ["tokens", "create", "--email", "recruiter@example.com",
                                "--scope", "invite", "--days", "10", "--name", "ATS"], env=env)
    assert made.exit_code == 0, made.output
    assert SECRET.fullmatch(made.stdout.strip())  # the secret alone on standard output
    assert "shown only now" in made.stderr
    listed = runner.invoke(main, ["tokens", "list", "--email", "recruiter@example.com"], env=env)
    assert listed.exit_code == 0 and "invite" in listed.output and "active" in listed.output
    assert made.stdout.strip() not in listed.output
    with app.app_context():
        token = db.session.scalars(select(ApiToken)).one()
        assert token.name == "ATS" and token.user_id == users.recruiter
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "api_token.create")).one()
        assert event.actor_id is None and event.actor_label == "heldout command"
        token_id = token.id
    revoked = runner.invoke(main, ["tokens", "revoke", str(token_id)], env=env)
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    unknown = runner.invoke(main, ["tokens", "create", "--email", "nobody@example.com",
                                   "--scope", "read"], env=env)
    assert unknown.exit_code != 0 and "No account" in unknown.output
