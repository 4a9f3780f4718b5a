"""Continuing on another device: the recruiter's resend hands a started candidate a link
that moves the same attempt (deadline, drafts, submissions) to the browser that opens it;
the browser bound before stops at once and says so on its next request and autosave."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from heldout.platform.errors import InviteUsed
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, Invite, utcnow
from heldout.platform.services import invites
from heldout.platform.services.scoring import invite_state
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
    assert "Continue here" in _continue_page(second, token).text
    taken = second.post("/invite")
    assert taken.status_code == 302
    assert taken.headers["Location"].endswith(f"/a/{public_id}/")
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
        assert row is not None and invite_state(row, utcnow()) == "started"


def test_the_resent_link_works_once_and_the_first_one_never_again(
        app: Flask, client: FlaskClient, auth: Any, invite: NewInvite,
        start: Callable[[FlaskClient, NewInvite], str]) -> None:
    public_id = start(app.test_client(), invite)
    stranger = app.test_client().get(invite.url, follow_redirects=True)
    assert stranger.status_code == 410 and "already used" in stranger.text
    auth.login("recruiter")
    token = _resend(client, invite.id)
    second = app.test_client()
    _continue_page(second, token)
    assert second.post("/invite").status_code == 302
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
    assert "Continue here" in _continue_page(first, token).text
    assert first.post("/invite").status_code == 302
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


def _continue_page(client: FlaskClient, token: str) -> Any:
    """Open a link to continue, as a browser (or a mail scanner) following it would."""
    opened = client.get(f"/i/{token}")
    assert opened.status_code == 303 and opened.headers["Location"] == "/invite"
    return client.get("/invite")


def test_following_the_link_takes_nothing_over_until_the_candidate_confirms(
        app: Flask, client: FlaskClient, auth: Any, invite: NewInvite,
        start: Callable[[FlaskClient, NewInvite], str]) -> None:
    """Any GET or HEAD of the link (an e-mail link scanner) once took the attempt over: the
    candidate's own device then found the link used, locked out mid-attempt."""
    public_id = start(app.test_client(), invite)
    auth.login("recruiter")
    token = _resend(client, invite.id)
    scanner = app.test_client()
    assert scanner.head(f"/i/{token}").status_code == 303
    page = _continue_page(scanner, token)
    assert page.status_code == 200 and "Continue here" in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert scanner.head("/invite").status_code == 200
    assert scanner.get(f"/a/{public_id}/").status_code == 404
    with app.app_context():
        row = db.session.get(Invite, invite.id)
        assert row is not None and row.opened_at is None   # not taken

    device = app.test_client()
    page = _continue_page(device, token)
    assert "Continue here" in page.text and 'action="/invite"' in page.text
    taken = device.post("/invite")
    assert taken.status_code == 302 and taken.headers["Location"].endswith(f"/a/{public_id}/")
    assert device.get(f"/a/{public_id}/").status_code == 200
    # Now it is taken: the scanner's page (or anyone else) can't take it back.
    refused = scanner.post("/invite")
    assert refused.status_code == 410 and "already used" in refused.text
    assert device.get(f"/a/{public_id}/").status_code == 200


def test_two_browsers_confirming_at_once_bind_one(
        app: Flask, client: FlaskClient, auth: Any, invite: NewInvite,
        start: Callable[[FlaskClient, NewInvite], str]) -> None:
    """Both read the link as not taken before either wrote: both were bound (a race)."""
    start(app.test_client(), invite)
    auth.login("recruiter")
    _resend(client, invite.id)
    with app.app_context():
        late = db.session.get(Invite, invite.id)   # read: not taken yet
        assert late is not None and invites.continues_elsewhere(late)
        with app.app_context():                    # another request, in between
            early = db.session.get(Invite, invite.id)
            assert early is not None
            invites.take_over(early, now=utcnow())
        with pytest.raises(InviteUsed):
            invites.take_over(late, now=utcnow())
