"""Invite links: tampered, expired, revoked, reused; the landing page and consent."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from heldout.platform.extensions import db
from heldout.platform.models import Invite, utcnow
from heldout.platform.services.scoring import invite_state
from heldout.platform.tokens import check_token, new_invite_token


def test_landing_says_what_to_expect(app: Flask, client: FlaskClient, invite) -> None:  # type: ignore[no-untyped-def]
    # The link is exchanged for the session, then the token-less landing page shows.
    response = client.get(invite.url, follow_redirects=True)
    assert response.status_code == 200
    page = response.text
    for text in ("ML take-home", "Hello Cara Candidate", "60 minutes", "Predict customer churn",
                 "Your data", "recruiter@example.com", 'name="consent"', "Start the assessment"):
        assert text in page
    with app.app_context():
        row = db.session.get(Invite, invite.id)
        assert row is not None and row.opened_at is not None
        assert invite_state(row, utcnow()) == "opened"


def test_start_needs_consent(client: FlaskClient, invite) -> None:  # type: ignore[no-untyped-def]
    response = client.post(invite.url, data={})
    assert response.status_code == 400
    assert "tick the box" in response.text


def test_tampered_token(client: FlaskClient, invite) -> None:  # type: ignore[no-untyped-def]
    tampered = invite.token[:-3] + ("aaa" if not invite.token.endswith("aaa") else "bbb")
    response = client.get(f"/i/{tampered}")
    assert response.status_code == 404
    assert "This link is not valid" in response.text
    assert "Copy the whole link" in response.text
    assert client.post(f"/i/{tampered}", data={"consent": "on"}).status_code == 404


def test_token_signed_with_another_key_is_tampered() -> None:
    assert check_token(new_invite_token("other"), "ours", 3600).verdict == "tampered"


def test_unknown_but_well_signed_token(client: FlaskClient, app: Flask, invite) -> None:  # type: ignore[no-untyped-def]
    response = client.get(f"/i/{new_invite_token(app.config['SECRET_KEY'])}")
    assert response.status_code == 404


def test_expired_signature() -> None:
    token = new_invite_token("s")
    assert check_token(token, "s", 3600).verdict == "valid"
    assert check_token(token, "s", -1).verdict == "expired"


def test_expired_invite(app: Flask, client: FlaskClient, invite) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        row = db.session.get(Invite, invite.id)
        assert row is not None
        row.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    response = client.get(invite.url)
    assert response.status_code == 410
    assert "This link has expired" in response.text
    assert "Recruiter &lt;recruiter@example.com&gt;" in response.text
    assert client.post(invite.url, data={"consent": "on"}).status_code == 410


def test_revoked_invite(client: FlaskClient, auth, invite) -> None:  # type: ignore[no-untyped-def]
    auth.login("recruiter")
    client.post(f"/invites/{invite.id}/revoke")
    candidate = client.application.test_client()
    response = candidate.get(invite.url)
    assert response.status_code == 410
    assert "withdrawn" in response.text
    assert "recruiter@example.com" in response.text


def test_link_is_single_use(client: FlaskClient, invite, start) -> None:  # type: ignore[no-untyped-def]
    attempt_id = start(client, invite)
    # The same browser comes back to its attempt.
    response = client.get(invite.url)
    assert response.status_code == 302 and f"/a/{attempt_id}/" in response.headers["Location"]
    # Anyone else finds the link used.
    other = client.application.test_client()
    response = other.get(invite.url)
    assert response.status_code == 410
    assert "already used" in response.text
    assert other.post(invite.url, data={"consent": "on"}).status_code == 410


def test_invites_to_an_expired_assessment_expire(app: Flask, client: FlaskClient,  # type: ignore[no-untyped-def]
                                                 invite, assessment_id: int) -> None:
    from heldout.platform.models import Assessment

    with app.app_context():
        assessment = db.session.get(Assessment, assessment_id)
        assert assessment is not None
        assessment.expires_at = utcnow() - timedelta(days=1)
        db.session.commit()
    assert client.get(invite.url).status_code == 410
