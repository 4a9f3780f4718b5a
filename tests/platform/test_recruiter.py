"""Recruiter pages: the assessments list, the builder and invites."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.platform.extensions import db
from heldout.platform.models import Assessment, Invite, utcnow
from heldout.platform.services.scoring import invite_state
from heldout.platform.tokens import token_hash


def test_empty_states(client: FlaskClient, auth) -> None:  # type: ignore[no-untyped-def]
    auth.login("recruiter")
    page = client.get("/assessments").text
    assert "No assessments yet" in page
    assert "Create an assessment" in page


def test_builder_shows_the_catalogue_and_creates(app: Flask, client: FlaskClient,  # type: ignore[no-untyped-def]
                                                 auth) -> None:
    auth.login("recruiter")
    page = client.get("/assessments/new").text
    assert "Predict customer churn" in page
    assert "60 min" in page and "model training" in page and "scikit-learn" in page

    response = client.post("/assessments/new", data={
        "name": "Senior ML", "challenges": ["churn-prediction"], "time_limit_minutes": "75",
        "instructions": "Docs allowed", "expires_at": "2099-01-31", "show_scores": "on"})
    assert response.status_code == 302
    with app.app_context():
        created = db.session.scalars(select(Assessment)).one()
        assert created.name == "Senior ML"
        assert [c.slug for c in created.challenges] == ["churn-prediction"]
        assert created.time_limit_minutes == 75 and created.show_scores
        assert created.expires_at is not None and created.expires_at.year == 2099
    page = client.get(response.headers["Location"]).text
    assert "No invites yet" in page


def test_builder_explains_what_is_wrong(client: FlaskClient, auth) -> None:  # type: ignore[no-untyped-def]
    auth.login("recruiter")
    response = client.post("/assessments/new", data={"name": "X", "time_limit_minutes": "60"})
    assert response.status_code == 400
    assert "Choose at least one challenge" in response.text
    response = client.post("/assessments/new", data={
        "name": "X", "challenges": ["churn-prediction"], "time_limit_minutes": "2"})
    assert response.status_code == 400
    assert "between 5 and 1440" in response.text
    # What was typed stays in the form.
    assert 'value="X"' in response.text


def test_list_counts_invited_started_finished(client: FlaskClient, auth, assessment_id: int,  # type: ignore[no-untyped-def]
                                              make_invite, start) -> None:
    first = make_invite("A", "a@example.org")
    make_invite("B", "b@example.org")
    candidate = client.application.test_client()
    attempt_id = start(candidate, first)
    candidate.post(f"/a/{attempt_id}/finish")
    auth.login("recruiter")
    page = client.get("/assessments").text
    row = page.split("ML take-home")[1].split("</tr>")[0]
    assert re.findall(r'<td class="num">(\d+)</td>', row) == ["2", "1", "1"]


def test_invite_shows_its_link_once_and_stores_only_a_hash(app: Flask, client: FlaskClient,  # type: ignore[no-untyped-def]
                                                          auth, assessment_id: int) -> None:
    auth.login("recruiter")
    response = client.post(f"/assessments/{assessment_id}/invites",
                           data={"candidate_name": "Cara", "candidate_email": "Cara@Example.org"},
                           follow_redirects=True)
    assert response.status_code == 200
    match = re.search(r'value="http://heldout\.test/i/([^"]+)"', response.text)
    assert match, response.text
    token = match.group(1)
    with app.app_context():
        invite = db.session.scalars(select(Invite)).one()
        assert invite.token_hash == token_hash(token)
        assert invite.candidate_email == "cara@example.org"
        stored = [str(v) for v in vars(invite).values()]
    assert not any(token in value for value in stored)
    page = client.get(f"/assessments/{assessment_id}").text
    assert "Cara" in page and token not in page


def test_invite_form_errors(client: FlaskClient, auth, assessment_id: int) -> None:  # type: ignore[no-untyped-def]
    auth.login("recruiter")
    response = client.post(f"/assessments/{assessment_id}/invites",
                           data={"candidate_name": "Cara", "candidate_email": "not-an-email"})
    assert response.status_code == 400
    assert "is not an e-mail address" in response.text


def test_revoke(app: Flask, client: FlaskClient, auth, invite) -> None:  # type: ignore[no-untyped-def]
    auth.login("recruiter")
    response = client.post(f"/invites/{invite.id}/revoke")
    assert response.status_code == 302
    with app.app_context():
        row = db.session.get(Invite, invite.id)
        assert row is not None and invite_state(row, utcnow()) == "revoked"
    assert "revoked" in client.get(response.headers["Location"]).text


def test_unknown_assessment_is_a_clear_404(client: FlaskClient, auth) -> None:  # type: ignore[no-untyped-def]
    auth.login("recruiter")
    response = client.get("/assessments/999")
    assert response.status_code == 404
    assert "No assessment 999" in response.text
