"""Feedback to candidates: off by default; once the attempt is complete, the candidate's own
scores and checks on the done page and in one e-mail, never a hidden expected value.

Engine-free: submissions are graded by an evaluator that builds the function kind's real
``tests`` checks from the bundle's real hidden cases (so the checks' details quote the
hidden expected values, as a real grading's do), and mail goes to a local SMTP server.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from heldout.graders.bundle import Bundle
from heldout.graders.cases import load_cases
from heldout.graders.checks import RUN, SUBMISSION
from heldout.graders.kinds.function import Outcome, _tests_checks
from heldout.graders.result import Check, Evaluation
from heldout.platform.config import load_settings
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, FeedbackMail, Submission, User, utcnow
from heldout.platform.queue import get_queue
from heldout.platform.services import (
    api_tokens,
    assessments,
    clock,
    drafts,
    feedback,
    grading,
    invites,
    mail,
    stewardship,
)
from heldout.platform.services.catalogue import get_bundles
from heldout.platform.services.scoring import GradingStatus
from heldout.platform.tasks import grading_settings
from tests.platform.conftest import PASSWORD, REPO, SECRET, NewInvite, Users, make_app, start_attempt
from tests.platform.smtp_server import Inbox, free_port

SLUG = "metrics-from-scratch"
BUNDLE = REPO / "challenges" / SLUG
SENDER = "Hiring <hiring@example.com>"


@pytest.fixture(scope="module")
def function_challenges(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A challenges directory with a function bundle: hidden cases with expected values."""
    if not BUNDLE.is_dir():
        pytest.skip(f"challenges/{SLUG} is not in this checkout")
    root = tmp_path_factory.mktemp("challenges")
    shutil.copytree(BUNDLE, root / SLUG)
    return root


def _smtp(port: int) -> dict[str, Any]:
    return {"HELDOUT_SMTP_HOST": "127.0.0.1", "HELDOUT_SMTP_PORT": port,
            "HELDOUT_SMTP_FROM": SENDER, "HELDOUT_SMTP_STARTTLS": False}


@pytest.fixture
def app(tmp_path: Path, function_challenges: Path, inbox: Inbox) -> Iterator[Flask]:
    app = make_app(tmp_path, function_challenges, **_smtp(inbox.port))
    yield app
    with app.app_context():
        db.engine.dispose()


def _assessment(app: Flask, users: Users, *, feedback_on: bool) -> int:
    with app.app_context():
        return assessments.create_assessment(
            name="Metrics take-home", challenge_slugs=[SLUG], time_limit_minutes=60,
            instructions="", expires_at=None, show_scores=False,
            created_by_id=users.recruiter, feedback_to_candidates=feedback_on).id


def _invite(app: Flask, users: Users, assessment_id: int, email: str = "cara@example.org",
            accommodation: clock.AccommodationInput | None = None) -> NewInvite:
    with app.app_context():
        created = invites.create_invite(
            assessment_id=assessment_id, candidate_name="Cara Candidate", candidate_email=email,
            created_by_id=users.recruiter, secret=SECRET, ttl_days=14, now=utcnow())
        if accommodation is not None:
            recruiter = db.session.get(User, users.recruiter)
            assert recruiter is not None
            clock.set_accommodation(created.invite, accommodation, actor=recruiter, now=utcnow())
        return NewInvite(created.invite.id, created.token)


def _hidden_checks(bundle: Bundle) -> tuple[Check, ...]:
    """The checks a real grading writes for a solution whose every answer is wrong (-1)."""
    grading_config: Any = bundle.grading
    cases = load_cases(bundle.hidden_dir / "cases.jsonl", functions=grading_config.functions)
    outcomes = {case.number: Outcome("ok", -1) for case in cases.cases}
    # The first group right, the rest wrong: some checks pass, some fail.
    first = cases.groups()[0]
    for case in cases.cases:
        if case.group == first:
            outcomes[case.number] = Outcome("ok", case.expected)
    return (SUBMISSION.passed("1 file"), RUN.passed("exit code 0"),
            *_tests_checks(cases, outcomes, run_finished=True))


def _graded(score: float) -> Callable[[Bundle, Path], Evaluation]:
    def evaluate(bundle: Bundle, submission: Path) -> Evaluation:
        return Evaluation(bundle.slug, bundle.version, "graded", score,
                          checks=_hidden_checks(bundle))
    return evaluate


def _hidden_values() -> list[str]:
    """What must never reach the candidate: each failed case's detail line as the report
    shows it, and the hidden expected values long enough not to occur by chance."""
    values = set()
    for line in (BUNDLE / "hidden" / "cases.jsonl").read_text().splitlines():
        expected = re.search(r'"expected": (-?[0-9][0-9.e+-]*)', line)
        if expected and len(expected.group(1)) >= 6:
            values.add(expected.group(1))
    return sorted(values)


def _submit_and_finish(client: FlaskClient, invite: NewInvite) -> str:
    attempt = start_attempt(client, invite)
    assert client.post(f"/a/{attempt}/c/{SLUG}/submit",
                       data={"code": "def roc_auc(y, s):\n    return -1\n"}).status_code == 302
    assert client.post(f"/a/{attempt}/finish").status_code in (302, 303)
    return attempt


def _grade(app: Flask, score: float, *, again: bool = False) -> None:
    """Grade every submission; ``again``: a regrade (each queued again, as an operator's
    re-run of a graded submission does, then graded with the new score)."""
    with app.app_context():
        for submission in db.session.scalars(select(Submission)):
            if again:
                submission.status = GradingStatus.QUEUED
            db.session.commit()
            outcome = grading.grade_submission(submission.id, grading_settings(),
                                               evaluate=_graded(score))
            assert outcome.status == GradingStatus.GRADED, outcome


def _send(app: Flask, *, port: int | None = None, minutes: int = 0) -> feedback.SendRun:
    with app.app_context():
        smtp = mail.SmtpSettings.from_config(
            app.config if port is None else load_settings({}, _smtp(port)))
        return feedback.send_due(smtp, org_name="Acme", now=utcnow() + timedelta(minutes=minutes))


def _mails(app: Flask) -> list[FeedbackMail]:
    with app.app_context():
        rows = list(db.session.scalars(select(FeedbackMail).order_by(FeedbackMail.id)))
        db.session.expunge_all()
        return rows


def _section(page: str) -> str:
    match = re.search(r'<section class="feedback".*?</section>\s*<h2>What happens next',
                      page, re.S)
    assert match, "the done page has no feedback section"
    return match.group(0)


def test_off_by_default_nothing_is_shown_and_nothing_mailed(app: Flask, users: Users,
                                                            inbox: Inbox) -> None:
    with app.app_context():
        assessment_id = assessments.create_assessment(
            name="Defaults", challenge_slugs=[SLUG], time_limit_minutes=60, instructions="",
            expires_at=None, show_scores=True, created_by_id=users.recruiter).id
    client = app.test_client()
    attempt = _submit_and_finish(client, _invite(app, users, assessment_id))
    _grade(app, 40.0)
    page = client.get(f"/a/{attempt}/done").text
    assert "Assessment finished" in page and "Your feedback" not in page
    assert "tests: " not in page
    assert _mails(app) == []
    assert _send(app) == feedback.SendRun(0, 0, 0, 0) and inbox.messages == []


def test_on_the_feedback_shows_once_complete_and_is_mailed_once(app: Flask, users: Users,
                                                                inbox: Inbox) -> None:
    assessment_id = _assessment(app, users, feedback_on=True)
    client = app.test_client()
    attempt = _submit_and_finish(client, _invite(app, users, assessment_id))
    # Finished, still grading: the page says what will come; the e-mail, written when the
    # attempt ended, waits for the grading.
    waiting = _section(client.get(f"/a/{attempt}/done").text)
    assert "Your feedback will appear here and be e-mailed to you when grading finishes" \
        in waiting
    assert "out of 100" not in waiting
    assert _send(app) == feedback.SendRun(0, 0, 0, 0, waiting=1)
    assert inbox.messages == []
    [row] = _mails(app)
    assert (row.status, row.tries) == ("pending", 0)
    # Looked at again a minute later, not at every tick.
    assert _send(app) == feedback.SendRun(0, 0, 0, 0)

    _grade(app, 35.0)
    shown = _section(client.get(f"/a/{attempt}/done").text)
    assert "<strong>35</strong> out of 100" in shown
    assert "Metrics from scratch: 35 out of 100" in shown
    # Every check by name with its verdict, and what such a check is.
    for name, verdict in (("submission", "passed"), ("tests: roc_auc", "passed"),
                          ("tests: log_loss", "failed")):
        assert re.search(rf'aria-label="{verdict}">.</span> <span class="mono">{name}</span>',
                         shown), name
    assert "your functions called on hidden test cases" in shown
    assert "How it was graded: implement functions; graded on hidden test cases" in shown

    assert _send(app, minutes=2) == feedback.SendRun(1, 0, 0, 0)
    [(envelope, message)] = inbox.messages
    assert envelope.rcpt_tos == ["cara@example.org"]
    assert message["Subject"] == "Your feedback from Metrics take-home"
    body = inbox.body()
    assert "Total: 35 out of 100" in body and "[failed] tests: log_loss" in body
    assert "[passed] tests: roc_auc" in body
    [row] = _mails(app)
    assert row.status == "sent" and row.sent_at is not None

    # A regrade changes the page, never sends again.
    _grade(app, 80.0, again=True)
    assert len(_mails(app)) == 1
    assert _send(app, minutes=5) == feedback.SendRun(0, 0, 0, 0)
    assert len(inbox.messages) == 1
    assert "Metrics from scratch: 80 out of 100" in client.get(f"/a/{attempt}/done").text


def test_no_hidden_expected_value_reaches_the_page_or_the_mail(app: Flask, users: Users,
                                                               inbox: Inbox) -> None:
    assessment_id = _assessment(app, users, feedback_on=True)
    client = app.test_client()
    attempt = _submit_and_finish(client, _invite(app, users, assessment_id))
    _grade(app, 35.0)
    _send(app)
    page, body = client.get(f"/a/{attempt}/done").text, inbox.body()
    with app.app_context():
        evaluation = db.session.scalars(select(Submission)).one().evaluation
        assert evaluation is not None
        details = [str(c["detail"]) for c in evaluation.checks if not c["passed"]]
    hidden = _hidden_values()
    # The test means something: the stored details do quote the hidden expected values.
    assert any(value in detail for value in hidden for detail in details)
    for secret in (*hidden, *details):
        assert secret not in page, secret
        assert secret not in body, secret
    # Nor any "expected X, got Y" line, whatever the value.
    assert not re.search(r"expected [-0-9\[{(]", page + body)


def test_another_candidate_cannot_read_the_feedback(app: Flask, users: Users) -> None:
    assessment_id = _assessment(app, users, feedback_on=True)
    cara = app.test_client()
    attempt = _submit_and_finish(cara, _invite(app, users, assessment_id))
    _grade(app, 35.0)
    other = app.test_client()
    start_attempt(other, _invite(app, users, assessment_id, email="ivo@example.org"))
    for client in (other, app.test_client()):
        response = client.get(f"/a/{attempt}/done")
        assert response.status_code in (403, 404), response.status_code
        assert "Your feedback" not in response.text and "tests: roc_auc" not in response.text


def test_an_accommodation_never_shows_in_the_feedback(app: Flask, users: Users,
                                                      inbox: Inbox) -> None:
    assessment_id = _assessment(app, users, feedback_on=True)
    client = app.test_client()
    invite = _invite(app, users, assessment_id,
                     accommodation=clock.AccommodationInput(time_percent=150))
    attempt = _submit_and_finish(client, invite)
    _grade(app, 35.0)
    _send(app)
    shown, body = _section(client.get(f"/a/{attempt}/done").text), inbox.body()
    for text in (shown, body):
        assert "% of your time" in text
        assert "1.5" not in text and clock.TIMES not in text and "extra" not in text.lower()
        assert "90" not in text


def test_an_unreachable_server_is_tried_again_then_given_up(app: Flask, users: Users) -> None:
    assessment_id = _assessment(app, users, feedback_on=True)
    _submit_and_finish(app.test_client(), _invite(app, users, assessment_id))
    _grade(app, 35.0)
    nobody = free_port()  # nothing listens there
    minutes = 0
    for _ in range(feedback.MAX_TRIES - 1):
        assert _send(app, port=nobody, minutes=minutes) == feedback.SendRun(0, 0, 1, 0)
        # Not due again before its back-off.
        assert _send(app, port=nobody, minutes=minutes) == feedback.SendRun(0, 0, 0, 0)
        minutes += 24 * 60
    assert _send(app, port=nobody, minutes=minutes) == feedback.SendRun(0, 1, 0, 0)
    [row] = _mails(app)
    assert (row.status, row.tries) == ("failed", feedback.MAX_TRIES)
    assert "could not reach" in row.error


def test_without_smtp_the_mail_is_marked_unsent_and_the_page_has_it(
        tmp_path: Path, function_challenges: Path, users: Users, app: Flask) -> None:
    assessment_id = _assessment(app, users, feedback_on=True)
    client = app.test_client()
    attempt = _submit_and_finish(client, _invite(app, users, assessment_id))
    _grade(app, 35.0)
    with app.app_context():
        run = feedback.send_due(None, org_name="Acme", now=utcnow())
    assert run == feedback.SendRun(0, 0, 0, 1)
    [row] = _mails(app)
    assert (row.status, row.error) == ("unsent", "no SMTP server is configured")
    assert "Metrics from scratch: 35 out of 100" in client.get(f"/a/{attempt}/done").text
    # What is held about the candidate (export, erasure) includes the row.
    with app.app_context():
        assert stewardship.holdings("cara@example.org").rows["feedback_mail"] == {row.id}


def test_the_builder_sets_the_option_and_the_api_shows_it(app: Flask, users: Users,
                                                          auth_client: FlaskClient) -> None:
    assessment_id = _assessment(app, users, feedback_on=False)
    form = {"name": "Metrics take-home", "challenges": [SLUG], "time_limit_minutes": "60",
            "feedback_to_candidates": "on"}
    edit = auth_client.get(f"/assessments/{assessment_id}/edit").text
    assert 'name="feedback_to_candidates"' in edit and "Send candidates their feedback" in edit
    assert auth_client.post(f"/assessments/{assessment_id}/edit",
                            data=form).status_code == 303
    detail = auth_client.get(f"/assessments/{assessment_id}").text
    assert re.search(r"<dt>Feedback to candidates</dt><dd>yes</dd>", detail)
    with app.app_context():
        assert assessments.get_assessment(assessment_id).feedback_to_candidates is True
        copy = assessments.duplicate_assessment(assessment_id, created_by_id=users.recruiter)
        assert copy.feedback_to_candidates is True
    del form["feedback_to_candidates"]
    auth_client.post(f"/assessments/{assessment_id}/edit", data=form)
    with app.app_context():
        assert assessments.get_assessment(assessment_id).feedback_to_candidates is False


@pytest.fixture
def auth_client(app: Flask, users: Users) -> FlaskClient:
    client = app.test_client()
    assert client.post("/login", data={"email": "recruiter@example.com",
                                       "password": PASSWORD}).status_code == 302
    return client



def test_the_api_creates_reads_and_changes_the_option(app: Flask, users: Users) -> None:
    with app.app_context():
        user = db.session.get(User, users.recruiter)
        assert user is not None
        token = api_tokens.create_token(user=user, name="test", scope="admin", days=1,
                                        now=utcnow(), actor=user).secret
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()

    def call(method: str, url: str, status: int, **body: Any) -> dict[str, Any]:
        response = client.open(url, method=method, headers=headers, json=body or None)
        assert response.status_code == status, response.text
        answer: dict[str, Any] = response.get_json()
        return answer

    plain = call("POST", "/api/v1/assessments", 201, name="Plain", challenges=[SLUG],
                 time_limit_minutes=60)
    assert plain["feedback_to_candidates"] is False
    made = call("POST", "/api/v1/assessments", 201, name="With feedback", challenges=[SLUG],
                time_limit_minutes=60, feedback_to_candidates=True)
    assert made["feedback_to_candidates"] is True
    url = f"/api/v1/assessments/{made['id']}"
    # A change of something else keeps it; sending it changes it.
    assert call("PATCH", url, 200, name="Renamed")["feedback_to_candidates"] is True
    assert call("PATCH", url, 200, feedback_to_candidates=False)[
        "feedback_to_candidates"] is False
    assert call("GET", url, 200)["feedback_to_candidates"] is False


def test_the_workers_minute_task_sends_what_is_due(app: Flask, users: Users,
                                                   inbox: Inbox) -> None:
    assessment_id = _assessment(app, users, feedback_on=True)
    _submit_and_finish(app.test_client(), _invite(app, users, assessment_id))
    _grade(app, 35.0)
    with app.app_context():
        tasks = get_queue().tasks
        due = {task.name for task in tasks.huey.read_periodic(utcnow().replace(tzinfo=None))}
        assert "send_feedback" in due
        tasks.feedback_job.call_local()
    assert [envelope.rcpt_tos for envelope, _ in inbox.messages] == [["cara@example.org"]]
    assert [row.status for row in _mails(app)] == ["sent"]


def test_time_up_the_feedback_waits_for_the_saved_drafts_to_be_submitted_and_graded(
        app: Flask, users: Users, inbox: Inbox) -> None:
    assessment_id = _assessment(app, users, feedback_on=True)
    client = app.test_client()
    attempt = start_attempt(client, _invite(app, users, assessment_id))
    saved = client.post(f"/a/{attempt}/c/{SLUG}/draft", json={"files": [
        {"name": "solution.py", "content": "def roc_auc(y, s):\n    return 0.5\n"}]})
    assert saved.status_code == 200, saved.text
    with app.app_context():
        db.session.execute(update(Attempt).values(deadline=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    # The time ran out with nothing submitted but a saved draft: the attempt is closed (the
    # page's visit closes it), yet the work is not all in: no feedback, no e-mail.
    page = client.get(f"/a/{attempt}/done", follow_redirects=True).text
    assert "Time is up" in page
    assert "will appear here" in _section(page)
    assert _send(app) == feedback.SendRun(0, 0, 0, 0, waiting=1)
    # The deadline job submits the draft; graded, the feedback is ready and goes out.
    with app.app_context():
        [outcome] = drafts.submit_due_drafts(blobs=grading_settings().blobs, queue=get_queue(),
                                             bundles=get_bundles(), now=utcnow())
        assert outcome.submission_id is not None
    assert _send(app, minutes=2) == feedback.SendRun(0, 0, 0, 0, waiting=1)
    _grade(app, 55.0)
    assert _send(app, minutes=4) == feedback.SendRun(1, 0, 0, 0)
    assert "Score: 55 out of 100" in inbox.body()
    assert "Metrics from scratch: 55 out of 100" in client.get(f"/a/{attempt}/done").text


def test_turned_off_before_it_went_out_the_mail_is_not_sent(app: Flask, users: Users,
                                                            inbox: Inbox) -> None:
    assessment_id = _assessment(app, users, feedback_on=True)
    client = app.test_client()
    attempt = _submit_and_finish(client, _invite(app, users, assessment_id))
    _grade(app, 35.0)
    with app.app_context():
        assessments.get_assessment(assessment_id).feedback_to_candidates = False
        db.session.commit()
    assert _send(app) == feedback.SendRun(0, 0, 0, 1) and inbox.messages == []
    [row] = _mails(app)
    assert (row.status, row.error) == ("unsent", "the assessment stopped giving feedback")
    assert "Your feedback" not in client.get(f"/a/{attempt}/done").text
