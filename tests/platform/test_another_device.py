"""Continuing on another device: the recruiter's resend hands a started candidate a link
that moves the same attempt (deadline, drafts, submissions) to the browser that opens it;
the browser bound before stops at once and says so on its next request and autosave."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from heldout.platform.extensions import db
from heldout.platform.models import Attempt, Invite, utcnow
from heldout.platform.services import invites
from tests.platform.conftest import NewInvite

LINK = re.compile(r'id="invite-link" class="mono" readonly value="http://heldout\.test/i/([^"]+)"')
SLUG = "churn-prediction"
TYPED = "print('typed on the first device')\n"


def _save(client: FlaskClient, public_id: str, text: str) -> Any:
    return client.post(f"/a/{public_id}/c/{SLUG}/draft", headers={"Accept": "application/json"},
                       json={"files": [{"name": "solution.py", "content": text}]})


def _resend(client: FlaskClient, invite_id: int) -> str:
    answer = client.post(f"/invites/{invite_id}/resend")
    assert answer.status_code == 302, answer.text
    match = LINK.search(client.get(answer.headers["Location"]).text)
    assert match, "no new link on the page"
    return match.group(1)


def _deadline(app: Flask, public_id: str) -> Any:
    with app.app_context():
        attempt = db.session.query(Attempt).filter_by(public_id=public_id).one()
        return attempt.deadline


def test_a_resent_link_moves_the_attempt_and_the_old_browser_is_told(
        app: Flask, client: FlaskClient, auth: Any, invite: NewInvite,
        start: Callable[[FlaskClient, NewInvite], str]) -> None:
    first = app.test_client()
    public_id = start(first, invite)
    assert _save(first, public_id, TYPED).status_code == 200
    deadline = _deadline(app, public_id)

    auth.login("recruiter")
    token = _resend(client, invite.id)
    # The first browser stops at once (what it saved before is kept).
    refused = _save(first, public_id, TYPED + "# lost?\n")
    assert refused.status_code == 403
    assert refused.mimetype == "application/problem+json"
    body = refused.get_json()
    assert body["type"] == "/api/problems/session-moved" and body["status"] == 403
    assert "moved to another device" in body["detail"]

    second = app.test_client()
    opened = second.get(f"/i/{token}")
    assert opened.status_code == 302
    assert opened.headers["Location"].endswith(f"/a/{public_id}/")
    assert second.get(f"/a/{public_id}/").status_code == 200
    draft = second.get(f"/a/{public_id}/c/{SLUG}/draft").get_json()
    assert draft["source"] == "draft"
    assert draft["files"][0]["content"] == TYPED
    assert _deadline(app, public_id) == deadline   # the same clock
    assert _save(second, public_id, TYPED + "# on the second device\n").status_code == 200

    assert _save(first, public_id, TYPED + "# lost?\n").status_code == 403
    page = first.get(f"/a/{public_id}/c/{SLUG}")
    assert page.status_code == 403 and "This session moved to another device" in page.text
    assert "Recruiter" in page.text   # whom to write to
    # The refused save changed nothing.
    again = second.get(f"/a/{public_id}/c/{SLUG}/draft").get_json()
    assert again["files"][0]["content"] == TYPED + "# on the second device\n"
    with app.app_context():
        row = db.session.get(Invite, invite.id)
        assert row is not None and invites.state_of(row, utcnow()) == "started"


def test_the_resent_link_works_once_and_the_first_one_never_again(
        app: Flask, client: FlaskClient, auth: Any, invite: NewInvite,
        start: Callable[[FlaskClient, NewInvite], str]) -> None:
    public_id = start(app.test_client(), invite)
    stranger = app.test_client().get(invite.url, follow_redirects=True)
    assert stranger.status_code == 410 and "already used" in stranger.text
    auth.login("recruiter")
    token = _resend(client, invite.id)
    second = app.test_client()
    assert second.get(f"/i/{token}").status_code == 302
    # The same browser may open its link again; nobody else can.
    assert second.get(f"/i/{token}", follow_redirects=True).status_code == 200
    third = app.test_client().get(f"/i/{token}", follow_redirects=True)
    assert third.status_code == 410 and "already used" in third.text
    assert second.get(f"/a/{public_id}/").status_code == 200
    old = app.test_client().get(invite.url, follow_redirects=True)
    assert old.status_code == 404 and "not known here" in old.text


def test_the_same_browser_may_take_the_new_link_itself(
        app: Flask, client: FlaskClient, auth: Any, invite: NewInvite,
        start: Callable[[FlaskClient, NewInvite], str]) -> None:
    first = app.test_client()
    public_id = start(first, invite)
    auth.login("recruiter")
    token = _resend(client, invite.id)
    assert first.get(f"/i/{token}").status_code == 302
    assert _save(first, public_id, TYPED).status_code == 200


def test_a_finished_attempt_gets_no_new_link(
        app: Flask, client: FlaskClient, auth: Any, invite: NewInvite,
        start: Callable[[FlaskClient, NewInvite], str]) -> None:
    first = app.test_client()
    public_id = start(first, invite)
    assert first.post(f"/a/{public_id}/finish").status_code == 302
    auth.login("recruiter")
    answer = client.post(f"/invites/{invite.id}/resend")
    assert "has finished" in client.get(answer.headers["Location"]).text


def test_a_session_bound_before_link_fingerprints_keeps_working(
        app: Flask, invite: NewInvite, start: Callable[[FlaskClient, NewInvite], str]) -> None:
    first = app.test_client()
    public_id = start(first, invite)
    with first.session_transaction() as session:
        assert session.pop("link")
    assert _save(first, public_id, TYPED).status_code == 200


def test_the_resent_link_ends_at_the_attempt_s_deadline(
        app: Flask, client: FlaskClient, auth: Any, invite: NewInvite,
        start: Callable[[FlaskClient, NewInvite], str]) -> None:
    public_id = start(app.test_client(), invite)
    auth.login("recruiter")
    _resend(client, invite.id)
    with app.app_context():
        row = db.session.get(Invite, invite.id)
        assert row is not None and row.expires_at == _deadline(app, public_id)
