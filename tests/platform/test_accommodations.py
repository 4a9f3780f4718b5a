"""Accommodations: extra time as a factor or minutes, breaks that pause the clock, set per
invite or from the bulk CSV, audited; the deadline job, time used and item analytics read
the candidate's own clock; interviewers see no trace of it. No engine, no browser."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.platform.errors import InvalidInput, OnBreak
from heldout.platform.extensions import db
from heldout.platform.models import (
    Attempt,
    AuditEvent,
    Challenge,
    Invite,
    User,
    utcnow,
)
from heldout.platform.queue import get_queue
from heldout.platform.services import (
    api_tokens,
    attempts,
    bulk_invites,
    clock,
    drafts,
    invites,
    item_analytics,
)
from heldout.platform.services.catalogue import get_bundles
from heldout.platform.tasks import grading_settings
from tests.platform import review_seed as seed
from tests.platform.conftest import SECRET, Auth, NewInvite, Users, start_attempt

SLUG = "churn-prediction"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
X = clock.TIMES


def accommodate(app: Flask, users: Users, invite_id: int, factor: str = "", extra: str = "",
                breaks: str = "") -> None:
    with app.app_context():
        invite = db.session.get_one(Invite, invite_id)
        clock.set_accommodation(invite, clock.parse_accommodation(factor, extra, breaks),
                                actor=db.session.get_one(User, users.recruiter), now=utcnow())


@pytest.mark.parametrize(("given", "wanted"), [
    (("", "", ""), clock.AccommodationInput()),
    (("1.25", "", ""), clock.AccommodationInput(125)),
    (("x1.5", "", "20"), clock.AccommodationInput(150, 0, 20)),
    (("\N{MULTIPLICATION SIGN}2", "", ""), clock.AccommodationInput(200)),
    (("2.0", " ", ""), clock.AccommodationInput(200)),
    (("", "45", "10"), clock.AccommodationInput(100, 45, 10)),
    (("1", "", ""), clock.AccommodationInput()),
])
def test_factors_and_minutes_are_read(given: tuple[str, str, str],
                                      wanted: clock.AccommodationInput) -> None:
    assert clock.parse_accommodation(*given) == wanted


@pytest.mark.parametrize(("given", "field", "words"), [
    (("1.7", "", ""), "time_factor", "1.7' is not offered; choose"),
    (("three", "", ""), "time_factor", "is not offered"),
    (("1.5", "30", ""), "extra_minutes", "as a factor or as minutes, not both"),
    (("", "-5", ""), "extra_minutes", "between 0 and 600"),
    (("", "12.5", ""), "extra_minutes", "whole number of minutes"),
    (("", "", "lots"), "break_minutes", "whole number of minutes, not 'lots'"),
    (("", "", "241"), "break_minutes", "between 0 and 240"),
])
def test_bad_accommodations_are_refused_with_the_reason(given: tuple[str, str, str], field: str,
                                                        words: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        clock.parse_accommodation(*given)
    assert refused.value.field == field
    assert words in refused.value.message


def test_the_deadline_is_the_own_limit(app: Flask, users: Users,
                                       make_invite: Callable[..., NewInvite]) -> None:
    """Limit 60 min: x1.5 ends after 90, 25 extra minutes after 85, none after 60."""
    cases = {"f": ("1.5", "", 90), "m": ("", "25", 85), "n": ("", "", 60)}
    for key, (factor, extra, _) in cases.items():
        made = make_invite(f"Cand {key}", f"{key}@example.org")
        accommodate(app, users, made.id, factor, extra)
        with app.app_context():
            attempt = attempts.start_attempt(db.session.get_one(Invite, made.id), consent=True,
                                             now=T0)
            assert attempt.deadline == T0 + cases[key][2] * MINUTE


def test_breaks_pause_the_clock_and_overrun_ends_by_itself(
        app: Flask, users: Users, invite: NewInvite) -> None:
    accommodate(app, users, invite.id, breaks="20")
    with app.app_context():
        attempt = attempts.start_attempt(db.session.get_one(Invite, invite.id), consent=True,
                                         now=T0)
        public_id = attempt.public_id
        assert attempt.deadline == T0 + 60 * MINUTE
        clock.start_break(attempt, now=T0 + 10 * MINUTE)
        # Away: the deadline holds the whole allowance, and nothing is taken.
        assert attempt.deadline == T0 + 80 * MINUTE
        with pytest.raises(OnBreak):
            attempts.open_attempt(public_id, now=T0 + 12 * MINUTE)
        with pytest.raises(OnBreak):
            clock.start_break(attempt, now=T0 + 12 * MINUTE)
        clock.end_break(attempt, now=T0 + 15 * MINUTE)
        assert attempt.deadline == T0 + 65 * MINUTE   # moved by the 5 minutes taken
        assert clock.break_left(attempt, T0 + 15 * MINUTE) == 15 * MINUTE
        attempts.open_attempt(public_id, now=T0 + 16 * MINUTE)  # working again

        # A break nobody ends stops when the 15 minutes left run out.
        clock.start_break(attempt, now=T0 + 30 * MINUTE)
        assert attempt.deadline == T0 + 80 * MINUTE
        assert attempts.open_attempt(public_id, now=T0 + 46 * MINUTE) is attempt
        assert clock.break_left(attempt, T0 + 46 * MINUTE) == timedelta(0)
        # 50 minutes since the start, 20 of them on breaks.
        assert clock.time_used(attempt, T0 + 50 * MINUTE) == 30 * MINUTE
        clock.end_break(attempt, now=T0 + 50 * MINUTE)
        assert attempt.deadline == T0 + 80 * MINUTE
        with pytest.raises(InvalidInput, match="no break time left"):
            clock.start_break(attempt, now=T0 + 51 * MINUTE)
        events = [(e.action, e.detail) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action.startswith("attempt.break"))
            .order_by(AuditEvent.id))]
        assert events == [
            ("attempt.break_start", {"minutes_left": 20.0}),
            ("attempt.break_end", {"minutes": 5.0, "overran": False}),
            ("attempt.break_start", {"minutes_left": 15.0}),
            ("attempt.break_end", {"minutes": 15.0, "overran": True}),
        ]


def _draft(client: FlaskClient, attempt: str, text: str) -> int:
    return client.post(f"/a/{attempt}/c/{SLUG}/draft",
                       data=json.dumps({"files": [{"name": "solution.py", "content": text}]}),
                       headers={"Content-Type": "application/json",
                                "Accept": "application/json"}).status_code


def _deadline_job(app: Flask, at: datetime) -> list[drafts.DeadlineOutcome]:
    with app.app_context():
        return drafts.submit_due_drafts(blobs=grading_settings().blobs, queue=get_queue(),
                                        bundles=get_bundles(), now=at)


def test_on_a_break_the_work_is_hidden_and_the_deadline_job_waits(
        app: Flask, client: FlaskClient, users: Users, invite: NewInvite) -> None:
    accommodate(app, users, invite.id, factor="1.5", breaks="30")
    attempt = start_attempt(client, invite)
    overview = client.get(f"/a/{attempt}/").text
    assert "Take a break" in overview and "30 min 00 s left" in overview
    assert _draft(client, attempt, "print('before the break')\n") == 200
    took = client.post(f"/a/{attempt}/break/start")
    assert took.status_code == 303 and took.headers["Location"].endswith("/break")
    for page in (f"/a/{attempt}/", f"/a/{attempt}/c/{SLUG}", f"/a/{attempt}/done"):
        hidden = client.get(page)
        assert hidden.status_code == 302 and hidden.headers["Location"].endswith("/break")
    shown = client.get(f"/a/{attempt}/break").text
    assert "You are on a break" in shown and "before the break" not in shown
    assert _draft(client, attempt, "print('on the break')\n") == 409
    assert client.post(f"/a/{attempt}/c/{SLUG}/submit",
                       data={"code": "print(1)\n"}).status_code == 409
    with app.app_context():
        row = db.session.scalars(select(Attempt)).one()
        started, own_deadline = row.started_at, row.started_at + 90 * MINUTE
    # The time the limit alone would have ended: the job leaves the attempt be.
    assert _deadline_job(app, own_deadline + MINUTE) == []
    assert client.post(f"/a/{attempt}/break/end").status_code == 303
    with app.app_context():
        row = db.session.scalars(select(Attempt)).one()
        taken = row.breaks[0].resumes_at - row.breaks[0].started_at
        assert row.deadline == started + 90 * MINUTE + taken
        extended = row.deadline
    assert _deadline_job(app, extended - timedelta(seconds=1)) == []
    done = _deadline_job(app, extended)
    assert [o.submission_id is not None for o in done] == [True]


def test_bulk_csv_columns_set_accommodations_and_bad_ones_are_named(
        app: Flask, users: Users, assessment_id: int) -> None:
    text = ("name,email,note,time_factor,extra_minutes,break_minutes\n"
            "Ada Ample,ada@example.org,,1.5,,20\n"
            "Bo Minutes,bo@example.org,,,30,\n"
            "Cy Plain,cy@example.org,,,,\n"
            "Di Odd,di@example.org,,1.7,,\n"
            "Ed Both,ed@example.org,,2,15,\n"
            "Fay Breaks,fay@example.org,,,,lots\n")
    with app.app_context():
        preview = bulk_invites.preview_bulk(assessment_id, text.encode(), now=utcnow())
        assert [(b.line, b.reason) for b in preview.bad] == [
            (5, f"extra time factor '1.7' is not offered; choose {X}1.25, {X}1.5, {X}2"),
            (6, "give extra time as a factor or as minutes, not both"),
            (7, "break time must be a whole number of minutes, not 'lots'")]
        created, _ = bulk_invites.create_bulk(
            assessment_id=assessment_id, text=text, created_by_id=users.recruiter,
            secret=SECRET, ttl_days=7, now=utcnow(), delivery="download")
        given = {new.invite.candidate_name: clock.accommodation_of(new.invite)
                 for new in created}
        assert given == {"Ada Ample": clock.AccommodationInput(150, 0, 20),
                         "Bo Minutes": clock.AccommodationInput(100, 30, 0),
                         "Cy Plain": clock.AccommodationInput()}
        audited = db.session.scalars(select(AuditEvent.detail).where(
            AuditEvent.action == "invite.accommodation")).all()
        assert sorted(d["to"] for d in audited) == [
            "30 extra minutes", f"time {X}1.5, breaks up to 20 minutes"]


def test_recruiters_set_it_on_the_invite_page_until_the_candidate_starts(
        app: Flask, client: FlaskClient, auth: Auth, users: Users, assessment_id: int) -> None:
    auth.login("recruiter")
    refused = client.post(f"/assessments/{assessment_id}/invites", data={
        "candidate_name": "Gil Gap", "candidate_email": "gil@example.org",
        "time_factor": "3"})
    assert refused.status_code == 400 and "is not offered" in refused.text
    made = client.post(f"/assessments/{assessment_id}/invites", data={
        "candidate_name": "Gil Gap", "candidate_email": "gil@example.org",
        "time_factor": "2", "break_minutes": "15"})
    assert made.status_code == 303
    page = client.get(f"/assessments/{assessment_id}").text
    assert f"Accommodation: time {X}2, breaks up to 15 minutes" in page
    with app.app_context():
        invite = db.session.scalars(select(Invite)).one()
        invite_id = invite.id
        assert clock.time_allowed(invite) == 120 * MINUTE
    changed = client.post(f"/invites/{invite_id}/accommodation", data={"extra_minutes": "20"})
    assert changed.status_code == 302
    with app.app_context():
        invite = db.session.get_one(Invite, invite_id)
        assert clock.accommodation_of(invite) == clock.AccommodationInput(100, 20, 0)
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "invite.accommodation").order_by(AuditEvent.id)).all()
        assert [(e.actor_label, e.detail) for e in events] == [
            ("recruiter@example.com", {"from": "none",
                                       "to": f"time {X}2, breaks up to 15 minutes"}),
            ("recruiter@example.com", {"from": f"time {X}2, breaks up to 15 minutes",
                                       "to": "20 extra minutes"})]
        attempts.start_attempt(invite, consent=True, now=utcnow())
    late = client.post(f"/invites/{invite_id}/accommodation", data={"time_factor": "2"},
                       follow_redirects=True)
    assert "already started" in late.text
    auth.logout()
    auth.login("interviewer")
    assert client.post(f"/invites/{invite_id}/accommodation",
                       data={"time_factor": "2"}).status_code == 403


def _accommodated_candidate(app: Flask, users: Users, invite_id: int) -> int:
    """x2 (120 of 60 minutes), a 10-minute break at minute 30, submitted at minute 100 and
    finished then: 90 minutes worked, 45 of the assessment's. The attempt's id."""
    accommodate(app, users, invite_id, factor="2", breaks="25")
    with app.app_context():
        attempt = attempts.start_attempt(db.session.get_one(Invite, invite_id), consent=True,
                                         now=T0)
        clock.start_break(attempt, now=T0 + 30 * MINUTE)
        clock.end_break(attempt, now=T0 + 40 * MINUTE)
        seed.add_submission(attempt.id, SLUG, seed.Graded(71.0, 100), T0)
        at = T0 + 100 * MINUTE
        attempts.close_attempt(attempt, at=at, reason="candidate")
        db.session.commit()
        assert clock.time_used(attempt, utcnow()) == 45 * MINUTE
        return attempt.id


# What would give an accommodation away on a reviewer's page, export or API answer.
TELLTALES = ("accommodat", "break", "extra time", "extra minutes", "\N{MULTIPLICATION SIGN}2",
             "time_percent", "factor", "120 min", "1 h 30 min", "1 h 40 min")


def test_interviewers_see_no_accommodation_anywhere(
        app: Flask, client: FlaskClient, auth: Auth, users: Users, assessment_id: int,
        invite: NewInvite) -> None:
    attempt_id = _accommodated_candidate(app, users, invite.id)
    with app.app_context():
        attempt = db.session.get_one(Attempt, attempt_id)
        submission_id = attempt.submissions[0].id
        version_hex = attempt.submissions[0].challenge_version.removeprefix("sha256:")
        interviewer = db.session.get_one(User, users.interviewer)
        token = api_tokens.create_token(user=interviewer, name="t", scope="read", days=1,
                                        now=utcnow(), actor=interviewer).secret
    auth.login("interviewer")
    pages = [f"/assessments/{assessment_id}/candidates",
             f"/assessments/{assessment_id}/candidates?sort=time",
             f"/assessments/{assessment_id}/candidates.csv",
             f"/assessments/{assessment_id}/candidates.json",
             f"/assessments/{assessment_id}/compare?attempt={attempt_id}",
             f"/attempts/{attempt_id}/report",
             f"/attempts/{attempt_id}/submissions/{submission_id}",
             f"/assessments/{assessment_id}/similarity",
             f"/catalogue/{SLUG}/versions/{version_hex}/analytics"]
    api = [f"/api/v1/assessments/{assessment_id}/attempts", f"/api/v1/attempts/{attempt_id}",
           f"/api/v1/attempts/{attempt_id}/report", f"/api/v1/assessments/{assessment_id}/export",
           f"/api/v1/assessments/{assessment_id}/export.csv"]
    # Buffered: exports are streamed, and a streamed body read only after later requests
    # would run inside their request contexts (a server sends each one before the next).
    answers = {url: client.get(url, buffered=True) for url in pages}
    answers |= {url: client.get(url, headers={"Authorization": f"Bearer {token}"},
                                buffered=True)
                for url in api}
    for url, answer in answers.items():
        assert answer.status_code == 200, (url, answer.status_code)
        text = answer.get_data(as_text=True).lower()
        # Pages link the shared stylesheets and scripts, whose names are not about anyone.
        shown = [t for t in TELLTALES if t.lower() in text]
        assert not shown, f"{url} shows {shown}"
    # Time used against the candidate's own limit, in the assessment's minutes.
    assert "45 min 00 s of 60 min" in answers[f"/attempts/{attempt_id}/report"].text
    report = answers[f"/api/v1/attempts/{attempt_id}/report"].get_json()
    assert report["attempt"]["time_used_seconds"] == 45 * 60
    csv_text = answers[f"/assessments/{assessment_id}/candidates.csv"].text
    assert ",2700," in csv_text


def test_item_analytics_counts_minutes_on_the_own_clock(
        app: Flask, users: Users, invite: NewInvite) -> None:
    _accommodated_candidate(app, users, invite.id)
    with app.app_context():
        challenge = db.session.scalars(select(Challenge)).one()
        (item,) = item_analytics.population(challenge, challenge.version, None, utcnow())
        assert item.minutes == 45.0


def test_times_used_at_once_read_as_each_attempt_s_own(
        app: Flask, users: Users, make_invite: Callable[..., NewInvite]) -> None:
    """``clock.times_used`` (pages of many rows) skips the clocks of attempts with neither
    break nor accommodation: it gives what ``time_used`` gives each attempt alone."""
    plain = make_invite("Plain", "plain@example.org")
    paused = make_invite("Paused", "paused@example.org")
    slower = make_invite("Slower", "slower@example.org")
    accommodate(app, users, paused.id, breaks="20")
    accommodate(app, users, slower.id, factor="1.5")
    with app.app_context():
        started = [attempts.start_attempt(db.session.get_one(Invite, made.id), consent=True,
                                          now=T0) for made in (plain, paused, slower)]
        clock.start_break(started[1], now=T0 + 10 * MINUTE)
        clock.end_break(started[1], now=T0 + 22 * MINUTE)
        now = T0 + 40 * MINUTE
        used = clock.times_used(started, now)
        assert used == {a.id: clock.time_used(a, now) for a in started}
        assert [used[a.id] for a in started] == [40 * MINUTE, 28 * MINUTE, 40 * MINUTE / 1.5]


def test_the_candidate_sees_their_own_time_on_the_landing_page(
        app: Flask, client: FlaskClient, users: Users, invite: NewInvite) -> None:
    accommodate(app, users, invite.id, factor="1.25", breaks="10")
    landing = client.get(invite.url, follow_redirects=True).text
    assert "75 minutes, from when you press Start" in landing
    assert "up to 10 min 00 s in total" in landing
    with app.app_context():
        assert invites.get_invite(invite.id).accommodation is not None
