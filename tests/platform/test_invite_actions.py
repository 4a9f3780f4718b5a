"""Invite actions: resend (the old link dies), extend, revoke; statuses, filter, pagination."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.platform.errors import InvalidInput, InviteExpired
from heldout.platform.extensions import db
from heldout.platform.models import (
    Attempt,
    Challenge,
    EvaluationRecord,
    Invite,
    Submission,
    utcnow,
)
from heldout.platform.services import invites
from heldout.platform.services.scoring import invite_state
from tests.platform.conftest import SECRET, NewInvite

LINK = re.compile(r'id="invite-link" class="mono" readonly value="http://heldout\.test/i/([^"]+)"')


def _landing(app: Flask, token: str) -> str:
    return app.test_client().get(f"/i/{token}", follow_redirects=True).text


def _states(page: str) -> list[str]:
    return re.findall(r'<tr data-state="([a-z -]+)">', page)


def test_resend_gives_a_new_link_and_the_old_one_dies(app: Flask, client: FlaskClient,
                                                      auth: Any, invite: NewInvite) -> None:
    auth.login("recruiter")
    assert "Start" in _landing(app, invite.token)
    response = client.post(f"/invites/{invite.id}/resend")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).text
    match = LINK.search(page)
    assert match, page
    new = match.group(1)
    assert new != invite.token
    with app.app_context():
        stored = db.session.get(Invite, invite.id)
        assert stored is not None and stored.resends == 1 and stored.delivery == "page"
        # The old link was opened; the new one not yet.
        assert invite_state(stored, utcnow()) == "link created" and stored.opened_at is None
        assert stored.sent_at is not None and stored.sent_at >= stored.created_at
    assert "not known here" in _landing(app, invite.token)
    assert "Start" in _landing(app, new)
    # Shown once: a reload no longer has it.
    assert not LINK.search(client.get(response.headers["Location"]).text)


def test_resend_revives_revoked_and_expired_and_continues_started(app: Flask, client: FlaskClient,
                                                            auth: Any,
                                                            make_invite: Callable[..., NewInvite],
                                                            start: Callable[..., str]) -> None:
    revoked = make_invite("Rev", "rev@example.org")
    expired = make_invite("Exp", "exp@example.org")
    started = make_invite("Sta", "sta@example.org")
    start(app.test_client(), started)
    with app.app_context():
        row = db.session.get(Invite, expired.id)
        assert row is not None
        row.expires_at = utcnow() - timedelta(days=1)
        db.session.commit()
    auth.login("recruiter")
    client.post(f"/invites/{revoked.id}/revoke")
    assert "withdrawn" in _landing(app, revoked.token)
    assert "expired" in _landing(app, expired.token)
    for old in (revoked, expired):
        page = client.get(client.post(f"/invites/{old.id}/resend").headers["Location"]).text
        match = LINK.search(page)
        assert match
        assert "Start" in _landing(app, match.group(1))
    # A started attempt gets a link to continue on another device (tests/platform/
    # test_another_device.py); it stays started.
    moved = client.post(f"/invites/{started.id}/resend")
    assert LINK.search(client.get(moved.headers["Location"]).text)
    with app.app_context():
        states = {i.candidate_name: invite_state(i, utcnow())
                  for i in db.session.scalars(select(Invite))}
    # Both new links were opened above; the started attempt is untouched.
    assert states == {"Rev": "opened", "Exp": "opened", "Sta": "started"}


def test_extend_moves_the_expiry_and_the_same_link_works(app: Flask, client: FlaskClient,
                                                         auth: Any, invite: NewInvite) -> None:
    with app.app_context():
        row = db.session.get(Invite, invite.id)
        assert row is not None
        row.expires_at = utcnow() - timedelta(hours=1)
        db.session.commit()
    assert "expired" in _landing(app, invite.token)
    auth.login("recruiter")
    response = client.post(f"/invites/{invite.id}/extend", data={"expires_at": "2099-06-30"})
    page = client.get(response.headers["Location"]).text
    assert "Cara Candidate&#39;s link now expires on 30 Jun 2099." in page
    assert "Start" in _landing(app, invite.token)
    for bad, message in (("", "Choose the new expiry date"), ("2020-01-01", "in the future"),
                         ("soon", "must look like")):
        response = client.post(f"/invites/{invite.id}/extend", data={"expires_at": bad})
        assert message in client.get(response.headers["Location"]).text


def test_extend_stays_within_the_assessment_and_refuses_revoked(
        app: Flask, client: FlaskClient, auth: Any, assessment_id: int,
        make_invite: Callable[..., NewInvite]) -> None:
    invite = make_invite()
    auth.login("recruiter")
    client.post(f"/assessments/{assessment_id}/edit", data={
        "name": "ML take-home", "challenges": ["churn-prediction"], "time_limit_minutes": "60",
        "expires_at": "2098-01-31"})
    response = client.post(f"/invites/{invite.id}/extend", data={"expires_at": "2099-01-01"})
    assert "The assessment itself expires on 31 Jan 2098" in \
        client.get(response.headers["Location"]).text
    client.post(f"/invites/{invite.id}/revoke")
    with app.app_context(), pytest.raises(InvalidInput, match="revoked"):
        invites.extend_invite(invite.id, until=utcnow() + timedelta(days=3), now=utcnow())


def test_an_extension_outlives_the_signature_age(app: Flask, invite: NewInvite) -> None:
    # The token's signature is older than the age limit (1 s here) ...
    time.sleep(2.1)
    with app.app_context():
        row = db.session.get(Invite, invite.id)
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)  # ... and the row agrees: expired
        db.session.commit()
        with pytest.raises(InviteExpired):
            invites.find_invite(invite.token, secret=SECRET, max_age_seconds=1, now=utcnow())
        # Extended past the signature's life: the row decides, and the link opens.
        invites.extend_invite(invite.id, until=utcnow() + timedelta(days=5), now=utcnow())
        assert invites.find_invite(invite.token, secret=SECRET, max_age_seconds=1,
                                   now=utcnow()).id == invite.id


def _graded(app: Flask, public_id: str, score: float) -> None:
    with app.app_context():
        attempt = db.session.scalars(select(Attempt).where(Attempt.public_id == public_id)).one()
        challenge = db.session.scalars(select(Challenge)).one()
        submission = Submission(attempt_id=attempt.id, challenge_id=challenge.id,
                                challenge_slug=challenge.slug,
                                challenge_version=challenge.version, status="graded")
        db.session.add(submission)
        db.session.flush()
        db.session.add(EvaluationRecord(submission_id=submission.id, status="graded",
                                        challenge_version=challenge.version, score=score,
                                        max_score=100.0, checks=[], metrics={}))
        db.session.commit()


def test_statuses_with_times_filter_and_score(app: Flask, client: FlaskClient, auth: Any,
                                              assessment_id: int,
                                              make_invite: Callable[..., NewInvite],
                                              start: Callable[..., str]) -> None:
    make_invite("Sent Sam", "sam@example.org")
    mailed = make_invite("Mailed Mo", "mo@example.org")
    opened = make_invite("Opened Olga", "olga@example.org")
    started = make_invite("Started Stan", "stan@example.org")
    submitted = make_invite("Submitted Sue", "sue@example.org")
    expired = make_invite("Expired Ed", "ed@example.org")
    revoked = make_invite("Revoked Rita", "rita@example.org")
    app.test_client().get(opened.url, follow_redirects=True)
    start(app.test_client(), started)
    candidate = app.test_client()
    public_id = start(candidate, submitted)
    _graded(app, public_id, 80.0)
    assert candidate.post(f"/a/{public_id}/finish").status_code in (302, 303)
    with app.app_context():
        row = db.session.get(Invite, expired.id)
        assert row is not None
        row.expires_at = utcnow() - timedelta(minutes=1)
        mailed_row = db.session.get(Invite, mailed.id)
        assert mailed_row is not None
        mailed_row.delivery = "email"  # as invites.send_invites records a mail that went out
        db.session.commit()
    auth.login("recruiter")
    client.post(f"/invites/{revoked.id}/revoke")

    page = client.get(f"/assessments/{assessment_id}").text
    assert sorted(_states(page)) == sorted(invites.STATES)
    for state in invites.STATES:
        assert re.search(rf">{state} <span class=\"count\">1</span>", page)
    filtered = client.get(f"/assessments/{assessment_id}?status=finished").text
    assert _states(filtered) == ["finished"]
    cells_html = filtered.split('<tr data-state="finished">', 1)[1].split("</tr>", 1)[0]
    assert "Submitted Sue" in cells_html
    assert '<td class="num score">80</td>' in cells_html
    # Every time column of a finished candidate is filled in.
    cells = re.findall(r'<td class="time"><time class="when" datetime="[^"]+Z" title="[^"]+ UTC">'
                       r"[^<]+</time></td>", cells_html)
    assert len(cells) == 5
    assert "/attempts/" in cells_html and "/report" in cells_html
    opened_page = client.get(f"/assessments/{assessment_id}?status=opened").text
    assert _states(opened_page) == ["opened"] and "Opened Olga" in opened_page
    assert "Sent Sam" not in opened_page
    # Not opened yet: the status says whether a mail went out (issue 19: "sent" said so
    # of links only shown on the page).
    created_page = client.get(f"/assessments/{assessment_id}?status=link created").text
    assert _states(created_page) == ["link created"] and "Sent Sam" in created_page
    assert "Mailed Mo" not in created_page and ">sent<" not in created_page
    mailed_page = client.get(f"/assessments/{assessment_id}?status=e-mailed").text
    assert _states(mailed_page) == ["e-mailed"] and "Mailed Mo" in mailed_page
    # A status without invites has its own empty state.
    with app.app_context():
        listing = invites.list_invites(assessment_id, now=utcnow(), state="started")
        assert [r.invite.candidate_name for r in listing.rows] == ["Started Stan"]
        assert listing.rows[0].score is None
    # Unknown filters show everything rather than fail.
    assert len(_states(client.get(f"/assessments/{assessment_id}?status=bogus").text)) == 7


def test_empty_filter_and_no_invites_states(client: FlaskClient, auth: Any,
                                            assessment_id: int,
                                            make_invite: Callable[..., NewInvite]) -> None:
    auth.login("recruiter")
    assert "No invites yet" in client.get(f"/assessments/{assessment_id}").text
    make_invite()
    page = client.get(f"/assessments/{assessment_id}?status=revoked").text
    assert "No invites are revoked." in page and "Show all invites" in page


def test_invites_are_paginated(app: Flask, client: FlaskClient, auth: Any,
                               assessment_id: int) -> None:
    with app.app_context():
        for i in range(invites.PER_PAGE + 7):
            invites.create_invite(assessment_id=assessment_id, candidate_name=f"C{i}",
                                  candidate_email=f"c{i}@example.org", created_by_id=2,
                                  secret=SECRET, ttl_days=14, now=utcnow())
    auth.login("recruiter")
    first = client.get(f"/assessments/{assessment_id}").text
    assert len(_states(first)) == invites.PER_PAGE
    assert "Page 1 of 2" in first
    second = client.get(f"/assessments/{assessment_id}?page=2").text
    assert len(_states(second)) == 7
    assert len(_states(client.get(f"/assessments/{assessment_id}?page=99").text)) == 7


def test_recruiter_reads_candidates_and_report_but_cannot_review(
        app: Flask, client: FlaskClient, auth: Any, assessment_id: int, invite: NewInvite,
        start: Callable[..., str]) -> None:
    candidate = app.test_client()
    public_id = start(candidate, invite)
    _graded(app, public_id, 55.0)
    with app.app_context():
        attempt_id = db.session.scalars(select(Attempt.id)).one()
    auth.login("recruiter")
    table = client.get(f"/assessments/{assessment_id}/candidates")
    assert table.status_code == 200 and "Cara Candidate" in table.text
    report = client.get(f"/attempts/{attempt_id}/report")
    assert report.status_code == 200 and "Cara Candidate" in report.text
    assert f'action="/attempts/{attempt_id}/review"' not in report.text
    assert client.post(f"/attempts/{attempt_id}/review", data={}).status_code == 403


def test_an_earlier_assessment_expiry_shortens_unstarted_links(
        app: Flask, client: FlaskClient, auth: Any, assessment_id: int,
        make_invite: Callable[..., NewInvite], start: Callable[..., str]) -> None:
    waiting = make_invite("Wai", "wai@example.org")
    started = make_invite("Sta", "sta@example.org")
    start(app.test_client(), started)
    with app.app_context():
        before = db.session.get(Invite, started.id)
        assert before is not None
        started_expiry = before.expires_at
    auth.login("recruiter")
    tomorrow = (utcnow() + timedelta(days=1)).date()
    client.post(f"/assessments/{assessment_id}/edit", data={
        "name": "ML take-home", "challenges": ["churn-prediction"], "time_limit_minutes": "60",
        "expires_at": tomorrow.isoformat()})
    with app.app_context():
        shortened = db.session.get(Invite, waiting.id)
        kept = db.session.get(Invite, started.id)
        assert shortened is not None and kept is not None
        assert shortened.expires_at.date() == tomorrow
        assert kept.expires_at == started_expiry  # a started attempt's link no longer matters
