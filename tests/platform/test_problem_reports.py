""""Report a problem with this task": the candidate's form, its refusals, the rate limit per
attempt, the admins' list with audited resolve and reopen, and the analytics page's count."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from heldout.platform.errors import InvalidInput
from heldout.platform.extensions import db
from heldout.platform.models import (
    Attempt,
    AuditEvent,
    Challenge,
    ProblemReport,
    User,
    utcnow,
)
from heldout.platform.services import assessments, invites, problem_reports
from tests.platform.conftest import Auth, NewInvite, Users, start_attempt

SLUG = "churn-prediction"
SAID = "The data dictionary names a column\r\n`tenure_months` that train.csv lacks."


def _post(client: FlaskClient, attempt: str, **form: str) -> int:
    return client.post(f"/a/{attempt}/c/{SLUG}/problem", data=form).status_code


def _reports(app: Flask) -> list[ProblemReport]:
    with app.app_context():
        found = list(db.session.scalars(select(ProblemReport).order_by(ProblemReport.id)))
        for report in found:
            db.session.expunge(report)
        db.engine.dispose()
    return found


def test_the_workspace_offers_the_form(client: FlaskClient, attempt: str) -> None:
    page = client.get(f"/a/{attempt}/c/{SLUG}")
    assert page.status_code == 200
    assert "Report a problem with this task" in page.text
    assert f'action="/a/{attempt}/c/{SLUG}/problem"' in page.text
    assert f'maxlength="{problem_reports.MAX_TEXT}"' in page.text


def test_a_report_is_kept_with_the_attempt_and_version_and_confirmed(
        app: Flask, client: FlaskClient, attempt: str) -> None:
    sent = client.post(f"/a/{attempt}/c/{SLUG}/problem",
                       data={"category": "data", "text": SAID})
    assert sent.status_code == 302
    assert sent.headers["Location"].endswith(f"/a/{attempt}/c/{SLUG}")
    after = client.get(sent.headers["Location"])
    assert "your report reached the team" in after.text
    (report,) = _reports(app)
    with app.app_context():
        stored = db.session.scalars(select(Attempt).where(Attempt.public_id == attempt)).one()
        churn = db.session.scalars(select(Challenge).where(Challenge.slug == SLUG)).one()
        assert report.attempt_id == stored.id and report.challenge_id == churn.id
        assert report.challenge_version == churn.version
        db.engine.dispose()
    assert report.category == "data"
    assert report.text == SAID.replace("\r\n", "\n")  # the form's CRLF, as typed
    assert report.status == "open" and report.resolved_at is None


@pytest.mark.parametrize(("form", "message"), [
    ({"category": "data", "text": "   \r\n "}, "Describe the problem"),
    ({"category": "data", "text": "x" * (problem_reports.MAX_TEXT + 1)},
     f"at most {problem_reports.MAX_TEXT}"),
    ({"category": "", "text": "Something is off"}, "Choose what kind of problem"),
    ({"category": "free pizza", "text": "Something is off"}, "Choose what kind of problem"),
])
def test_bad_input_is_refused_with_the_words_kept(app: Flask, client: FlaskClient, attempt: str,
                                                  form: dict[str, str], message: str) -> None:
    refused = client.post(f"/a/{attempt}/c/{SLUG}/problem", data=form)
    assert refused.status_code == 400
    assert message in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert "<details class=\"report-problem\" id=\"report-problem\" open>" in refused.text
    if form["text"].strip():
        assert form["text"][:50] in refused.text  # what was typed is still there
    assert _reports(app) == []


def test_exactly_the_longest_text_fits(app: Flask, client: FlaskClient, attempt: str) -> None:
    longest = "y" * problem_reports.MAX_TEXT
    assert client.post(f"/a/{attempt}/c/{SLUG}/problem",
                       data={"category": "other", "text": longest}).status_code == 302
    assert [r.text for r in _reports(app)] == [longest]


def _links(app: Flask, *names: str) -> list[NewInvite]:
    """Invites to a churn assessment of an app made by ``app_factory`` (its own settings)."""
    with app.app_context():
        user = User(email="maker@example.com", name="Maker", role="recruiter",
                    password_hash="x")
        db.session.add(user)
        db.session.commit()
        assessment = assessments.create_assessment(
            name="Reports", challenge_slugs=[SLUG], time_limit_minutes=60, instructions="",
            expires_at=None, show_scores=False, created_by_id=user.id)
        made = [invites.create_invite(assessment_id=assessment.id, candidate_name=name,
                                      candidate_email=f"{name}@example.org",
                                      created_by_id=user.id, secret=app.config["SECRET_KEY"],
                                      ttl_days=3, now=utcnow()) for name in names]
        links = [NewInvite(new.invite.id, new.token) for new in made]
        db.engine.dispose()
    return links


def test_reports_are_rate_limited_per_attempt(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(HELDOUT_PROBLEM_REPORT_LIMIT="2 per hour")
    links = _links(app, "one", "two")
    first, second = app.test_client(), app.test_client()
    a = start_attempt(first, links[0])
    b = start_attempt(second, links[1])
    form = {"category": "checks", "text": "The hidden check fails on a correct answer."}
    # A refused form does not count against the limit.
    assert first.post(f"/a/{a}/c/{SLUG}/problem", data={"category": "checks"}).status_code == 400
    for _ in range(2):
        assert first.post(f"/a/{a}/c/{SLUG}/problem", data=form).status_code == 302
    third = first.post(f"/a/{a}/c/{SLUG}/problem", data=form)
    assert third.status_code == 429
    assert "limited to 2 per hour" in third.text
    assert int(third.headers["Retry-After"]) > 0
    assert form["text"] in third.text  # kept in the form
    # Another attempt has its own count.
    assert second.post(f"/a/{b}/c/{SLUG}/problem", data=form).status_code == 302
    assert len(_reports(app)) == 3


def test_only_the_attempt_s_own_browser_may_report(
        app: Flask, client: FlaskClient, attempt: str, make_invite: Callable[..., NewInvite],
        auth: Auth) -> None:
    form = {"category": "data", "text": "Not mine to say."}
    other = app.test_client()
    start_attempt(other, make_invite("Otto Other", "otto@example.org"))
    # Another candidate's browser, naming this attempt: it does not exist for them.
    assert other.post(f"/a/{attempt}/c/{SLUG}/problem", data=form).status_code == 404
    # Staff are not candidates: no attempt is bound to their browser.
    staff = app.test_client()
    assert Auth(staff).login("admin").status_code == 302
    assert staff.post(f"/a/{attempt}/c/{SLUG}/problem", data=form).status_code == 404
    # A challenge the assessment does not hold.
    assert client.post(f"/a/{attempt}/c/no-such-task/problem", data=form).status_code == 404
    assert _reports(app) == []


def test_the_form_needs_its_token(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(WTF_CSRF_ENABLED=True)
    (made,) = _links(app, "tia")
    client = app.test_client()
    landing = client.get(f"/i/{made.token}")
    welcome = client.get(landing.headers["Location"])
    token = re.search(r'name="csrf_token" value="([^"]+)"', welcome.text)
    assert token
    started = client.post("/invite", data={"consent": "on", "csrf_token": token.group(1)})
    public_id = started.headers["Location"].split("/a/")[1].split("/")[0]
    form = {"category": "data", "text": "A file is missing."}
    assert client.post(f"/a/{public_id}/c/{SLUG}/problem", data=form).status_code == 400
    assert _reports(app) == []
    page = client.get(f"/a/{public_id}/c/{SLUG}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    sent = client.post(f"/a/{public_id}/c/{SLUG}/problem", data={**form, "csrf_token": token.group(1)})
    assert sent.status_code == 302
    assert len(_reports(app)) == 1


def test_admins_read_resolve_and_reopen_reports_audited(
        app: Flask, client: FlaskClient, attempt: str, users: Users) -> None:
    assert _post(client, attempt, category="statement",
                 text="Step 3 <b>contradicts</b> step 2.") == 302
    admin = app.test_client()
    assert Auth(admin).login("admin").status_code == 302
    listing = admin.get("/admin/problem-reports")
    assert listing.status_code == 200
    assert "Step 3 &lt;b&gt;contradicts&lt;/b&gt; step 2." in listing.text  # escaped
    assert "The statement is unclear or wrong" in listing.text
    assert "Cara Candidate" in listing.text
    (report,) = _reports(app)
    resolved = admin.post(f"/admin/problem-reports/{report.id}/status",
                          data={"resolved": "1", "status": "open"})
    assert resolved.status_code == 303
    assert "No open reports" in admin.get("/admin/problem-reports").text
    assert "Step 3" in admin.get("/admin/problem-reports?status=resolved").text
    (report,) = _reports(app)
    assert report.status == "resolved" and report.resolved_by_id == users.admin
    # Resolving it again changes nothing and records nothing.
    admin.post(f"/admin/problem-reports/{report.id}/status", data={"resolved": "1"})
    admin.post(f"/admin/problem-reports/{report.id}/status", data={"resolved": "0"})
    (report,) = _reports(app)
    assert report.status == "open" and report.resolved_by_id is None
    with app.app_context():
        events = [(e.action, e.target_id, e.detail["challenge"]) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action.startswith("problem_report."))
            .order_by(AuditEvent.id))]
        db.engine.dispose()
    assert events == [("problem_report.resolve", str(report.id), SLUG),
                      ("problem_report.reopen", str(report.id), SLUG)]
    assert admin.post("/admin/problem-reports/999999/status",
                      data={"resolved": "1"}).status_code == 404


def test_the_list_is_for_admins_only(client: FlaskClient, auth: Auth) -> None:
    auth.login("recruiter")
    assert client.get("/admin/problem-reports").status_code == 403


def test_the_empty_list_says_where_reports_come_from(client: FlaskClient, auth: Auth) -> None:
    auth.login("admin")
    page = client.get("/admin/problem-reports")
    assert page.status_code == 200
    assert "No open reports" in page.text and "Report a problem with this task" in page.text


def test_the_analytics_page_counts_the_open_reports(app: Flask, client: FlaskClient,
                                                    attempt: str, users: Users) -> None:
    for text in ("First problem.", "Second problem."):
        assert _post(client, attempt, category="other", text=text) == 302
    with app.app_context():
        churn = db.session.scalars(select(Challenge).where(Challenge.slug == SLUG)).one()
        url = f"/catalogue/{SLUG}/versions/{churn.version.removeprefix('sha256:')}/analytics"
        first = db.session.scalar(select(func.min(ProblemReport.id)))
        admin = db.session.get(User, users.admin)
        assert admin is not None and first is not None
        problem_reports.set_resolved(first, resolved=True, actor=admin, now=utcnow())
        db.engine.dispose()
    staff = app.test_client()
    assert Auth(staff).login("interviewer").status_code == 302
    page = staff.get(url)
    assert page.status_code == 200
    assert 'data-figure="open-reports">1<' in page.text


def test_the_list_filters_by_status_and_version_a_page_at_a_time(
        app: Flask, client: FlaskClient, attempt: str, users: Users) -> None:
    for n in range(3):
        assert _post(client, attempt, category="other", text=f"Problem {n}.") == 302
    with app.app_context():
        version = db.session.scalars(select(Challenge).where(Challenge.slug == SLUG)).one().version
        admin = db.session.get(User, users.admin)
        assert admin is not None
        oldest = min(r.id for r in problem_reports.list_reports(
            problem_reports.ReportFilter()).reports)
        problem_reports.set_resolved(oldest, resolved=True, actor=admin, now=utcnow())
        both = problem_reports.list_reports(problem_reports.ReportFilter())
        assert [r.text for r in both.reports] == ["Problem 2.", "Problem 1.", "Problem 0."]
        assert both.open_count == 2
        opened = problem_reports.list_reports(problem_reports.ReportFilter(status="open"))
        assert [r.text for r in opened.reports] == ["Problem 2.", "Problem 1."]
        other = problem_reports.ReportFilter(challenge_version="sha256:" + "f" * 64)
        assert problem_reports.list_reports(other).total == 0
        mine = problem_reports.ReportFilter(status="resolved", challenge_version=version)
        assert [r.text for r in problem_reports.list_reports(mine).reports] == ["Problem 0."]
        # A page past the end shows the last one.
        last = problem_reports.list_reports(problem_reports.ReportFilter(), page=9, per_page=2)
        assert (last.page, last.pages, [r.text for r in last.reports]) == (2, 2, ["Problem 0."])
        with pytest.raises(InvalidInput, match="Unknown status"):
            problem_reports.list_reports(problem_reports.ReportFilter(status="maybe"))
        db.engine.dispose()


def test_a_candidate_s_reports_are_part_of_what_is_held_about_them(
        app: Flask, client: FlaskClient, attempt: str) -> None:
    """Their own words: exported and erased with the rest of the candidate's data."""
    from heldout.platform.services import audit, stewardship
    from heldout.platform.views.common import blob_store

    assert _post(client, attempt, category="other", text="I am Cara; step 4 fails.") == 302
    with app.test_request_context():
        held = stewardship.holdings("cara@example.org")
        assert held.count("problem_report") == 1
        receipt = stewardship.erase("cara@example.org", actor=None, blobs=blob_store(),
                                    origin=audit.NO_ORIGIN)
        db.session.commit()
        assert receipt.rows.get("problem_report") == 1
        db.engine.dispose()
    assert _reports(app) == []
