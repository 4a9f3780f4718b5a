"""Similarity across candidates: a graded submission queues a check through the job
pipeline; the check stores pairs; the team's staff read them, candidates never do."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.graders.bundle import Bundle
from heldout.graders.result import Evaluation
from heldout.platform.extensions import db
from heldout.platform.models import (
    Assessment,
    Attempt,
    EvaluationRecord,
    SimilarityCheck,
    SimilarityPair,
    Submission,
    Team,
    utcnow,
)
from heldout.platform.services import assessments, grading, invites, jobs, similarity
from heldout.platform.tasks import JOBS, grading_settings
from heldout.tools.bench.disguise import disguise_files
from tests.platform.conftest import REPO, SECRET, Auth, NewInvite, Users, start_attempt

SLUG = "churn-prediction"
REFERENCE = (REPO / "challenges" / SLUG / "solutions" / "reference" / "solution.py").read_text()
STARTER = (REPO / "challenges" / SLUG / "starter" / "solution.py").read_text()
DISGUISED = disguise_files({"solution.py": REFERENCE.encode()}, "all", salt=3)[
    "solution.py"].decode()


def graded(bundle: Bundle, submission: Path) -> Evaluation:
    return Evaluation(challenge=bundle.slug, version=bundle.version, status="graded", score=50.0)


def submit(app: Flask, invite: NewInvite, code: str) -> tuple[str, int]:
    """A candidate starts, submits ``code``, and it is graded; (public id, submission id)."""
    client = app.test_client()
    public_id = start_attempt(client, invite)
    response = client.post(f"/a/{public_id}/c/{SLUG}/submit", data={"code": code})
    assert response.status_code == 302
    with app.app_context():
        submission_id = db.session.scalars(select(Submission.id).order_by(Submission.id.desc())
                                           ).first()
        assert submission_id is not None
        outcome = grading.grade_submission(submission_id, grading_settings(), evaluate=graded)
        assert outcome.status == "graded"
    return public_id, submission_id


def run_checks(app: Flask) -> None:
    with app.app_context():
        for check_id in db.session.scalars(select(SimilarityCheck.id).where(
                SimilarityCheck.status == "queued").order_by(SimilarityCheck.id)).all():
            outcome = jobs.run(similarity.SIMILARITY, check_id, grading_settings())
            assert outcome.status == "graded", outcome.detail


@pytest.fixture
def three(app: Flask, make_invite: Callable[..., NewInvite]) -> dict[str, tuple[str, int]]:
    """Ana hands in the reference, Ben a disguised copy of it, Cy the starter."""
    found = {name: submit(app, make_invite(name, f"{name.lower()}@example.org"), code)
             for name, code in (("Ana", REFERENCE), ("Ben", DISGUISED), ("Cy", STARTER))}
    run_checks(app)
    return found


def test_a_graded_submission_queues_a_check_that_the_pipeline_runs(
        app: Flask, make_invite: Callable[..., NewInvite]) -> None:
    assert similarity.SIMILARITY in JOBS  # the worker and the watchdog know the kind
    _, submission_id = submit(app, make_invite(), REFERENCE)
    with app.app_context():
        check = db.session.scalars(select(SimilarityCheck)).one()
        assert (check.submission_id, check.status) == (submission_id, "queued")
        # What the task enqueues once the grading is committed.
        assert (similarity.SIMILARITY.kind, check.id) in grading.SUBMISSIONS.queued_after(
            db.session.get_one(Submission, submission_id))
        # Graded again (a re-run): still one check.
        similarity.queue_check(db.session.get_one(Submission, submission_id), check.created_at)
        db.session.commit()
        assert len(db.session.scalars(select(SimilarityCheck)).all()) == 1
    run_checks(app)
    with app.app_context():
        check = db.session.scalars(select(SimilarityCheck)).one()
        assert check.status == "graded" and check.detector == similarity.DETECTOR
        assert check.fingerprints and check.tries == 1
        # Alone so far: nothing to pair with; the score is untouched.
        assert db.session.scalars(select(SimilarityPair)).all() == []
        evaluation = db.session.scalars(select(EvaluationRecord)).one()
        assert evaluation.score == 50.0


def test_a_copy_is_paired_and_flagged_the_starter_is_not(
        app: Flask, three: dict[str, tuple[str, int]]) -> None:
    with app.app_context():
        pairs = db.session.scalars(select(SimilarityPair)).all()
        assert len(pairs) == 1
        pair = pairs[0]
        ids = {three["Ana"][1], three["Ben"][1]}
        assert {pair.submission_a_id, pair.submission_b_id} == ids
        assert pair.flagged and pair.score >= 0.75
        assert 0 < pair.share_a <= 1 and 0 < pair.share_b <= 1
        assert all(c.status == "graded" for c in db.session.scalars(select(SimilarityCheck)))


def test_other_teams_candidates_are_never_compared(
        app: Flask, users: Users, make_invite: Callable[..., NewInvite],
        three: dict[str, tuple[str, int]]) -> None:
    with app.app_context():
        theirs = Team(slug="theirs", name="Theirs")
        db.session.add(theirs)
        db.session.flush()
        other = assessments.create_assessment(
            name="Their take-home", challenge_slugs=[SLUG], time_limit_minutes=60,
            instructions="", expires_at=None, show_scores=True, created_by_id=users.recruiter)
        db.session.get_one(Assessment, other.id).team_id = theirs.id
        db.session.commit()
        made = invites.create_invite(
            assessment_id=other.id, candidate_name="Dee", candidate_email="dee@example.org",
            created_by_id=users.recruiter, secret=SECRET, ttl_days=14, now=utcnow())
        invite = NewInvite(made.invite.id, made.token)
    submit(app, invite, REFERENCE)
    run_checks(app)
    with app.app_context():
        assert len(db.session.scalars(select(SimilarityPair)).all()) == 1  # Ana and Ben only


def test_staff_read_the_pairs_and_the_fragments(
        app: Flask, client: FlaskClient, auth: Auth, assessment_id: int,
        three: dict[str, tuple[str, int]]) -> None:
    auth.login("interviewer")
    page = client.get(f"/assessments/{assessment_id}/similarity")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Ana" in text and "Ben" in text and "review suggested" in text
    assert "Cy" not in text  # the starter shares nothing
    assert "3 submissions compared" in text and "waiting to be compared" not in text
    with app.app_context():
        pair_id = db.session.scalars(select(SimilarityPair.id)).one()
    assert f"/similarity/{pair_id}" in text
    fragments = client.get(f"/similarity/{pair_id}")
    assert fragments.status_code == 200
    shown = fragments.get_data(as_text=True)
    assert "fragment-code" in shown and "solution.py, lines" in shown
    assert "def " in shown  # the reference's functions, beside their disguised copies


@pytest.mark.parametrize("name", ["Ana", "Ben"])
def test_both_reports_carry_the_line(app: Flask, client: FlaskClient, auth: Auth,
                                     three: dict[str, tuple[str, int]], name: str) -> None:
    auth.login("interviewer")
    with app.app_context():
        pair = db.session.scalars(select(SimilarityPair)).one()
        attempt = db.session.scalars(select(Attempt).where(
            Attempt.public_id == three[name][0])).one()
        mine_is_a = pair.submission_a.attempt_id == attempt.id
        percent = round((pair.share_a if mine_is_a else pair.share_b) * 100)
    report = client.get(f"/attempts/{attempt.id}/report").get_data(as_text=True)
    other = "Ben" if name == "Ana" else "Ana"
    assert f"Review suggested: {percent} % of this code matches {other}\u2019s" in report
    assert f"/similarity/{pair.id}" in report
    assert "not part of the score" in report


def test_the_report_of_an_unpaired_candidate_has_no_line(
        app: Flask, client: FlaskClient, auth: Auth, three: dict[str, tuple[str, int]]) -> None:
    auth.login("interviewer")
    with app.app_context():
        attempt = db.session.scalars(select(Attempt).where(
            Attempt.public_id == three["Cy"][0])).one()
    assert "Review suggested" not in client.get(f"/attempts/{attempt.id}/report").get_data(
        as_text=True)


def test_a_candidates_own_pages_say_nothing_of_similarity(
        app: Flask, make_invite: Callable[..., NewInvite]) -> None:
    ana = app.test_client()
    ana_id = start_attempt(ana, make_invite("Ana", "ana@example.org"))
    ana.post(f"/a/{ana_id}/c/{SLUG}/submit", data={"code": REFERENCE})
    ben = app.test_client()
    ben_id = start_attempt(ben, make_invite("Ben", "ben@example.org"))
    ben.post(f"/a/{ben_id}/c/{SLUG}/submit", data={"code": DISGUISED})
    with app.app_context():
        for submission_id in db.session.scalars(select(Submission.id)).all():
            grading.grade_submission(submission_id, grading_settings(), evaluate=graded)
    run_checks(app)
    with app.app_context():
        assert db.session.scalars(select(SimilarityPair)).one().flagged
        pair_id = db.session.scalars(select(SimilarityPair.id)).one()
    for url in (f"/a/{ben_id}/", f"/a/{ben_id}/c/{SLUG}"):
        page = ben.get(url)
        assert page.status_code == 200, url
        text = page.get_data(as_text=True)
        assert "similar" not in text.lower() and "review suggested" not in text.lower()
        assert not re.search(r"\bAna\b", text)
    # The staff pages are not theirs: a candidate's session is nobody there.
    for url in (f"/similarity/{pair_id}", "/assessments/1/similarity"):
        answer = ben.get(url)
        assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_the_page_lists_the_most_similar_pairs_only(
        app: Flask, client: FlaskClient, auth: Auth, assessment_id: int,
        make_invite: Callable[..., NewInvite], three: dict[str, tuple[str, int]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    submit(app, make_invite("Dee", "dee@example.org"), REFERENCE)  # an exact copy of Ana's
    run_checks(app)
    with app.app_context():
        assert len(db.session.scalars(select(SimilarityPair)).all()) == 3
    monkeypatch.setattr(similarity, "MAX_PAIRS_SHOWN", 1)
    auth.login("recruiter")
    text = client.get(f"/assessments/{assessment_id}/similarity").get_data(as_text=True)
    assert "Only the 1 most similar pairs are listed." in text
    assert text.count('href="/similarity/') == 1
    assert "100 %" in text  # Ana and Dee: the same code
