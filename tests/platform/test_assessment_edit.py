"""Assessments: edit, duplicate, archive (hidden by default, filter to show), paginated list."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.platform.extensions import db
from heldout.platform.models import Assessment, Invite
from heldout.platform.services import assessments
from tests.platform import test_catalogue_filter as shared
from tests.platform.conftest import NewInvite

# The catalogue fixtures of test_catalogue_filter, shared by name.
catalogue_dir = shared.catalogue_dir
catalogue_app = shared.catalogue_app
recruiter = shared.recruiter

EDIT = {"name": "ML take-home v2", "challenges": ["churn-prediction"],
        "time_limit_minutes": "45", "instructions": "  Any docs; no chat assistants. ",
        "expires_at": "2099-02-28", "show_scores": ""}


def _get(app: Flask, assessment_id: int) -> Assessment:
    assessment = db.session.get(Assessment, assessment_id)
    assert assessment is not None
    return assessment


def _rows(page: str) -> list[str]:
    return re.findall(r'<a href="/assessments/\d+">([^<]+)</a>\s*(?:<span|\n\s*</td>)', page)


def test_edit_form_is_prefilled_and_saves(app: Flask, client: FlaskClient, auth: Any,
                                          assessment_id: int) -> None:
    auth.login("recruiter")
    page = client.get(f"/assessments/{assessment_id}/edit").text
    assert "<h1>Edit “ML take-home”</h1>" in page
    assert 'value="ML take-home"' in page and ">Use any docs.</textarea>" in page
    assert 'name="show_scores" checked' in page and "Save changes" in page
    response = client.post(f"/assessments/{assessment_id}/edit", data=EDIT)
    assert response.status_code == 303
    assert "Changes saved." in client.get(response.headers["Location"]).text
    with app.app_context():
        saved = _get(app, assessment_id)
        assert saved.name == "ML take-home v2" and saved.time_limit_minutes == 45
        assert saved.instructions == "Any docs; no chat assistants."
        assert saved.expires_at == datetime(2099, 2, 28, 23, 59, 59, tzinfo=UTC)
        assert saved.show_scores is False
        assert saved.counting == "last"


def test_which_submission_counts_is_set_kept_and_copied(app: Flask, client: FlaskClient,
                                                        auth: Any, assessment_id: int) -> None:
    auth.login("recruiter")
    form = client.get(f"/assessments/{assessment_id}/edit").text
    assert '<input type="radio" name="counting" value="last" checked>' in form
    client.post(f"/assessments/{assessment_id}/edit", data={**EDIT, "counting": "best"})
    assert '<input type="radio" name="counting" value="best" checked>' in \
        client.get(f"/assessments/{assessment_id}/edit").text
    assert "<dd>the best-scoring</dd>" in client.get(f"/assessments/{assessment_id}").text
    refused = client.post(f"/assessments/{assessment_id}/edit",
                          data={**EDIT, "counting": "first"})
    assert refused.status_code == 400 and "must be one of last, best" in refused.text
    copy = client.post(f"/assessments/{assessment_id}/duplicate").headers["Location"]
    created = client.post("/assessments/new", data={
        "name": "Best of", "challenges": ["churn-prediction"], "time_limit_minutes": "30",
        "counting": "best"})
    assert created.status_code == 302
    with app.app_context():
        assert _get(app, assessment_id).counting == "best"
        copy_id = int(copy.split("/")[2])
        assert _get(app, copy_id).counting == "best"
        made = db.session.scalars(select(Assessment).where(Assessment.name == "Best of")).one()
        assert made.counting == "best"


def test_edit_errors_keep_what_was_typed(app: Flask, client: FlaskClient, auth: Any,
                                         assessment_id: int) -> None:
    auth.login("recruiter")
    for change, message in (({"name": " "}, "Give the assessment a name"),
                            ({"time_limit_minutes": "2"}, "between 5 and 1440"),
                            ({"challenges": []}, "Choose at least one challenge"),
                            ({"challenges": ["nope"]}, "Unknown or unavailable challenge"),
                            ({"expires_at": "31/12/2099"}, "must look like")):
        response = client.post(f"/assessments/{assessment_id}/edit", data={**EDIT, **change})
        assert response.status_code == 400, change
        assert message in response.text
        assert "Any docs; no chat assistants." in response.text
    with app.app_context():
        assert _get(app, assessment_id).name == "ML take-home"


def test_challenges_change_until_a_candidate_starts(catalogue_app: Flask,
                                                    recruiter: FlaskClient) -> None:
    with catalogue_app.app_context():
        from heldout.platform.models import User, utcnow
        from heldout.platform.services import invites
        from tests.platform.conftest import SECRET

        owner = db.session.scalars(select(User.id)).first()
        assert owner is not None
        made = assessments.create_assessment(
            name="Mixed", challenge_slugs=["retention-cohorts", "churn-prediction"],
            time_limit_minutes=60, instructions="", expires_at=None, show_scores=False,
            created_by_id=owner)
        assessment_id = made.id
        invite = invites.create_invite(assessment_id=assessment_id, candidate_name="C",
                                       candidate_email="c@example.org", created_by_id=owner,
                                       secret=SECRET, ttl_days=3, now=utcnow())
    data = {"name": "Mixed", "time_limit_minutes": "60",
            "challenges": ["churn-prediction", "metrics-from-scratch"]}
    assert recruiter.post(f"/assessments/{assessment_id}/edit", data=data).status_code == 303
    with catalogue_app.app_context():
        assert [c.slug for c in _get(catalogue_app, assessment_id).challenges] == \
            ["churn-prediction", "metrics-from-scratch"]

    candidate = catalogue_app.test_client()
    assert candidate.post(f"/i/{invite.token}", data={"consent": "on"}).status_code == 302
    refused = recruiter.post(f"/assessments/{assessment_id}/edit",
                             data={**data, "challenges": ["retention-cohorts"]})
    assert refused.status_code == 400
    assert "challenges can&#39;t change" in refused.text or "challenges can't change" in \
        refused.text
    # The page says so up front, and the fixed challenges are still sent with the form.
    page = recruiter.get(f"/assessments/{assessment_id}/edit").text
    assert "so its challenges are fixed" in page
    assert page.count('type="hidden" name="challenges"') == 2
    renamed = recruiter.post(f"/assessments/{assessment_id}/edit",
                             data={**data, "name": "Mixed (renamed)"})
    assert renamed.status_code == 303
    with catalogue_app.app_context():
        kept = _get(catalogue_app, assessment_id)
        assert kept.name == "Mixed (renamed)"
        assert [c.slug for c in kept.challenges] == ["churn-prediction", "metrics-from-scratch"]


def test_duplicate_copies_settings_not_invites(app: Flask, client: FlaskClient, auth: Any,
                                               assessment_id: int, invite: NewInvite) -> None:
    auth.login("recruiter")
    response = client.post(f"/assessments/{assessment_id}/duplicate")
    assert response.status_code == 303
    location = response.headers["Location"]
    match = re.fullmatch(r"/assessments/(\d+)/edit", location)
    assert match
    copy_id = int(match.group(1))
    assert copy_id != assessment_id
    page = client.get(location).text
    assert "Duplicated as “Copy of ML take-home”" in page
    with app.app_context():
        source, copy = _get(app, assessment_id), _get(app, copy_id)
        assert copy.name == "Copy of ML take-home"
        assert [c.slug for c in copy.challenges] == [c.slug for c in source.challenges]
        assert (copy.time_limit_minutes, copy.instructions, copy.show_scores,
                copy.expires_at, copy.team_id) == \
            (source.time_limit_minutes, source.instructions, source.show_scores,
             source.expires_at, source.team_id)
        assert not copy.archived
        assert db.session.scalars(select(Invite).where(Invite.assessment_id == copy_id)).all() \
            == []


def test_archive_hides_restore_shows(app: Flask, client: FlaskClient, auth: Any,
                                     assessment_id: int, invite: NewInvite) -> None:
    auth.login("recruiter")
    assert "ML take-home" in client.get("/assessments").text
    response = client.post(f"/assessments/{assessment_id}/archive", data={"archived": "1"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/assessments?archived=1"
    hidden = client.get("/assessments").text
    assert 'href="/assessments/1"' not in hidden
    assert "1 archived assessment hidden." in hidden and "No assessments yet." in hidden
    shown = client.get("/assessments?archived=1").text
    assert 'href="/assessments/1">ML take-home</a>' in shown
    assert '<span class="badge badge-archived">archived</span>' in shown and "Restore" in shown
    # Archived: the link no longer opens, and nobody new can be invited.
    landing = app.test_client().get(invite.url, follow_redirects=True).text
    assert "This assessment is closed." in landing
    refused = client.post(f"/assessments/{assessment_id}/invites",
                          data={"candidate_name": "D", "candidate_email": "d@example.org"})
    assert refused.status_code == 400 and "archived" in refused.text

    client.post(f"/assessments/{assessment_id}/archive", data={"archived": "0"})
    assert 'href="/assessments/1"' in client.get("/assessments").text
    assert "Start" in app.test_client().get(invite.url, follow_redirects=True).text


def test_only_recruiters_edit(client: FlaskClient, auth: Any, assessment_id: int) -> None:
    auth.login("interviewer")
    assert client.get(f"/assessments/{assessment_id}/edit").status_code == 403
    for action in ("edit", "duplicate", "archive"):
        assert client.post(f"/assessments/{assessment_id}/{action}", data=EDIT).status_code \
            == 403
    # Interviewers still see the list, with the way to the candidates.
    page = client.get("/assessments").text
    assert f'href="/assessments/{assessment_id}/candidates"' in page
    assert "Duplicate" not in page and "New assessment" not in page


def test_the_list_is_paginated(app: Flask, client: FlaskClient, auth: Any,
                               users: Any) -> None:
    with app.app_context():
        for i in range(assessments.PER_PAGE + 3):
            assessments.create_assessment(
                name=f"A{i:02d}", challenge_slugs=["churn-prediction"], time_limit_minutes=30,
                instructions="", expires_at=None, show_scores=False,
                created_by_id=users.recruiter)
    auth.login("recruiter")
    first = client.get("/assessments").text
    assert first.count('<td class="num">') == assessments.PER_PAGE * 3
    assert "Page 1 of 2" in first and 'href="/assessments?page=2"' in first
    second = client.get("/assessments?page=2").text
    assert second.count('<td class="num">') == 3 * 3
    assert "A00" in second and "A27" not in second


def test_unknown_assessment(client: FlaskClient, auth: Any,
                            make_invite: Callable[..., NewInvite]) -> None:
    auth.login("recruiter")
    assert client.get("/assessments/999/edit").status_code == 404
    assert client.post("/assessments/999/duplicate").status_code == 404
    assert client.post("/assessments/999/archive").status_code == 404
