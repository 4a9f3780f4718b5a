"""Reviews: the rubric, others' reviews hidden until one's own is submitted, edits, roles."""

from __future__ import annotations

import csv
import io
import json
from types import ModuleType
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from heldout.platform.extensions import db
from heldout.platform.models import Review, User
from heldout.platform.services import reviews
from heldout.platform.services.access import StaffViewer
from tests.platform import review_seed as seed

PASSWORD = "correct horse battery"
SLUG = "churn-prediction"
CRITERIA = [c.key for c in reviews.DEFAULT_RUBRIC]




@pytest.fixture
def attempt_id(app: Flask, users: Any, assessment_id: int) -> int:
    with app.app_context():
        found = seed.candidate(assessment_id, users.recruiter, "Cara", {SLUG: [seed.Graded(75)]})
        db.session.commit()
        return int(found)


@pytest.fixture
def second_interviewer(app: Flask, users: Any) -> str:
    with app.app_context():
        db.session.add(User(email="ivy@example.com", name="Ivy Second", role="interviewer",
                            password_hash=generate_password_hash(PASSWORD, "pbkdf2:sha256:1000")))
        db.session.commit()
    return "ivy@example.com"


def _login(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _form(level: str = "3", recommendation: str = "yes", notes: str = "",
          action: str = "submit") -> dict[str, str]:
    return {**{f"level-{k}": level for k in CRITERIA}, "recommendation": recommendation,
            "notes": notes, "action": action}


def test_rubric_has_four_levels_with_an_anchor_each(app: Flask, users: Any, attempt_id: int,
                                                    html: ModuleType) -> None:
    assert len(reviews.DEFAULT_RUBRIC) >= 3
    for criterion in reviews.DEFAULT_RUBRIC:
        assert len(criterion.anchors) == 4 and all(a.strip() for a in criterion.anchors)
    page = _login(app, "interviewer@example.com").get(f"/attempts/{attempt_id}/report").text
    tree = html.parse(page)
    form = tree.one("form", cls="review-form")
    for criterion in reviews.DEFAULT_RUBRIC:
        radios = form.find_all("input", name=f"level-{criterion.key}")
        assert [r.attrs["value"] for r in radios] == ["1", "2", "3", "4"]
        for anchor in criterion.anchors:
            assert anchor in form.text()
    assert [r.attrs["value"] for r in form.find_all("input", name="recommendation")] == \
        ["strong_no", "no", "yes", "strong_yes"]
    assert form.find_all("input", name="csrf_token")


def test_others_hidden_until_own_review_is_submitted(app: Flask, users: Any, attempt_id: int,
                                                     second_interviewer: str) -> None:
    first = _login(app, "interviewer@example.com")
    second = _login(app, second_interviewer)
    secret_note = "Leaks the labels through the id column"
    response = first.post(f"/attempts/{attempt_id}/review",
                          data=_form("2", "no", secret_note))
    assert response.status_code == 302

    page = second.get(f"/attempts/{attempt_id}/report").text
    assert secret_note not in page
    assert 'data-hidden-reviews="1"' in page  # that one exists is said, not what it says

    # A draft is not a submission: still hidden.
    second.post(f"/attempts/{attempt_id}/review", data=_form("4", "", "half done", "draft"))
    page = second.get(f"/attempts/{attempt_id}/report").text
    assert secret_note not in page and "saved as a draft" in page
    with app.app_context():
        draft = db.session.scalars(select(Review).where(Review.notes == "half done")).one()
        assert draft.submitted_at is None and draft.scores == {k: 4 for k in CRITERIA}

    second.post(f"/attempts/{attempt_id}/review", data=_form("4", "strong_yes", "Great"))
    page = second.get(f"/attempts/{attempt_id}/report").text
    assert secret_note in page and "Interviewer" in page
    # The first reviewer sees the second's submitted review too.
    assert "Great" in first.get(f"/attempts/{attempt_id}/report").text


def test_hidden_in_the_service_not_only_the_page(app: Flask, users: Any, attempt_id: int,
                                                 second_interviewer: str) -> None:
    with app.app_context():
        one = db.session.get(User, users.interviewer)
        two = db.session.scalars(select(User).where(User.email == second_interviewer)).one()
        assert one is not None
        now = seed.START
        reviews.save_review(attempt_id, one, reviews.ReviewInput(
            {k: "3" for k in CRITERIA}, "n", "yes", True), now=now)
        panel = reviews.review_panel(attempt_id, StaffViewer.of(two))
        assert panel.others == () and panel.others_count == 1 and not panel.can_see_others
        # The summary tables and exports read is blind the same way.
        summary = reviews.review_summaries([attempt_id], StaffViewer.of(two))[attempt_id]
        assert summary.blind and summary.consensus is None and summary.submitted == 1
        reviews.save_review(attempt_id, two, reviews.ReviewInput(
            {k: "1" for k in CRITERIA}, "", "strong_no", True), now=now)
        panel = reviews.review_panel(attempt_id, StaffViewer.of(two))
        assert [r.reviewer_id for r in panel.others] == [one.id]
        summary = reviews.review_summaries([attempt_id], StaffViewer.of(two))[attempt_id]
        assert not summary.blind and summary.consensus == "Strong no"


def test_a_submitted_review_is_final(app: Flask, users: Any, attempt_id: int,
                                     second_interviewer: str) -> None:
    """A placeholder submitted to unlock the others can't be rewritten after reading them."""
    second = _login(app, second_interviewer)
    second.post(f"/attempts/{attempt_id}/review", data=_form("4", "strong_yes", "Great"))
    first = _login(app, "interviewer@example.com")
    first.post(f"/attempts/{attempt_id}/review", data=_form("1", "strong_no", "placeholder"))
    with app.app_context():
        mine = db.session.scalars(select(Review).where(Review.notes == "placeholder")).one()
        submitted_at = mine.submitted_at
    page = first.get(f"/attempts/{attempt_id}/report").text
    assert "Great" in page  # the others are readable now...
    assert "review-form" not in page and "a submitted review is final" in page.lower()
    # ...and one's own can no longer follow them, as a submission or as a draft.
    for action in ("submit", "draft"):
        response = first.post(f"/attempts/{attempt_id}/review",
                              data=_form("4", "strong_yes", "copied", action))
        assert response.status_code == 403 and "final" in response.text
    with app.app_context():
        (review,) = db.session.scalars(select(Review).where(
            Review.reviewer_id == users.interviewer)).all()
        assert (review.notes, review.recommendation) == ("placeholder", "strong_no")
        assert review.scores == {k: 1 for k in CRITERIA} and review.submitted_at == submitted_at


def test_a_draft_changes_freely_until_submitted(app: Flask, users: Any,
                                                attempt_id: int) -> None:
    client = _login(app, "interviewer@example.com")
    client.post(f"/attempts/{attempt_id}/review", data=_form("2", "no", "first take", "draft"))
    page = client.get(f"/attempts/{attempt_id}/report").text
    assert "first take" in page and "saved as a draft" in page and "Submit review" in page
    client.post(f"/attempts/{attempt_id}/review", data=_form("4", "strong_yes", "second take"))
    with app.app_context():
        (review,) = db.session.scalars(select(Review)).all()
        assert review.notes == "second take" and review.recommendation == "strong_yes"
        assert review.scores == {k: 4 for k in CRITERIA} and review.submitted_at is not None


def _recommendations_seen(client: FlaskClient, assessment_id: int, attempt_ids: list[int],
                          html: ModuleType) -> list[str]:
    """The recommendation as the report header, candidates table, compare and both exports
    show it to ``client`` (an empty string where none is shown)."""
    attempt_id = attempt_ids[0]
    report = html.parse(client.get(f"/attempts/{attempt_id}/report").text)
    table = client.get(f"/assessments/{assessment_id}/candidates").text
    query = "&".join(f"attempt={a}" for a in attempt_ids)
    compare = client.get(f"/assessments/{assessment_id}/compare?{query}").text
    rows = list(csv.DictReader(io.StringIO(
        client.get(f"/assessments/{assessment_id}/candidates.csv?q=Cara").text)))
    data = json.loads(client.get(f"/assessments/{assessment_id}/candidates.json?q=Cara").text)
    return [report.one(cls="recommendation-summary").text(),
            "Strong no" if "Strong no" in table else "",
            "Strong no" if "Strong no" in compare else "",
            rows[0]["recommendation"], data["candidates"][0]["recommendation"] or ""]


def test_the_recommendation_is_blind_on_every_page_and_export(
        app: Flask, users: Any, attempt_id: int, assessment_id: int,
        second_interviewer: str, html: ModuleType) -> None:
    with app.app_context():
        other = seed.candidate(assessment_id, users.recruiter, "Olga", {SLUG: [seed.Graded(60)]},
                               index=1)
        db.session.commit()
    ids = [attempt_id, other]
    _login(app, "interviewer@example.com").post(
        f"/attempts/{attempt_id}/review", data=_form("1", "strong_no", "weak"))
    second = _login(app, second_interviewer)
    seen = _recommendations_seen(second, assessment_id, ids, html)
    assert not any("Strong no" in value for value in seen), seen
    assert "1 reviewed" in seen[0]  # that a review exists is said, not what it says
    # A draft of one's own changes nothing.
    second.post(f"/attempts/{attempt_id}/review", data=_form("3", "", "", "draft"))
    seen = _recommendations_seen(second, assessment_id, ids, html)
    assert not any("Strong no" in value for value in seen), seen
    # Once submitted, the consensus shows everywhere (a tie goes to the lower one).
    second.post(f"/attempts/{attempt_id}/review", data=_form("3", "yes", ""))
    seen = _recommendations_seen(second, assessment_id, ids, html)
    assert all("Strong no" in value for value in seen), seen
    # Recruiters don't review: they read it at once.
    recruiter = _login(app, "recruiter@example.com")
    assert all("Strong no" in value
               for value in _recommendations_seen(recruiter, assessment_id, ids, html))


@pytest.mark.parametrize(("form", "message"), [
    ({**_form(), "level-correctness": ""}, "Choose a level for Correctness"),
    ({**_form(), "level-code_quality": "5"}, "Code quality: choose a level from 1 to 4"),
    ({**_form(), "recommendation": "maybe"}, "Choose a recommendation"),
    ({**_form(), "recommendation": ""}, "Choose a recommendation"),
    ({**_form(), "notes": "x" * 20_001}, "Notes are limited"),
])
def test_invalid_review_is_refused_and_the_form_kept(app: Flask, users: Any, attempt_id: int,
                                                     form: dict[str, str], message: str) -> None:
    client = _login(app, "interviewer@example.com")
    response = client.post(f"/attempts/{attempt_id}/review", data={**form, "notes":
                                                                    form["notes"] or "kept"})
    assert response.status_code == 400
    assert message in response.text
    with app.app_context():
        assert db.session.scalars(select(Review)).all() == []


def test_recruiter_reads_but_cannot_review(app: Flask, users: Any, attempt_id: int,
                                           assessment_id: int) -> None:
    interviewer = _login(app, "interviewer@example.com")
    interviewer.post(f"/attempts/{attempt_id}/review", data=_form("3", "yes", "solid work"))
    recruiter = _login(app, "recruiter@example.com")
    assert recruiter.get(f"/assessments/{assessment_id}/candidates").status_code == 200
    page = recruiter.get(f"/attempts/{attempt_id}/report")
    assert page.status_code == 200
    assert "review-form" not in page.text and "Submit review" not in page.text
    assert "solid work" in page.text  # submitted reviews are readable
    response = recruiter.post(f"/attempts/{attempt_id}/review", data=_form())
    assert response.status_code == 403
    with app.app_context():
        assert len(db.session.scalars(select(Review)).all()) == 1


def test_anonymous_is_sent_to_sign_in(app: Flask, attempt_id: int) -> None:
    client = app.test_client()
    for response in (client.get(f"/attempts/{attempt_id}/report"),
                     client.post(f"/attempts/{attempt_id}/review", data=_form())):
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_review_form_needs_a_csrf_token(app_factory: Any, users: Any) -> None:
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    login = client.get("/login").text
    token = login.split('name="csrf_token" value="')[1].split('"')[0]
    with app.app_context():
        db.session.add(User(email="i2@example.com", name="I", role="interviewer",
                            password_hash=generate_password_hash(PASSWORD, "pbkdf2:sha256:1000")))
        db.session.commit()
    client.post("/login", data={"email": "i2@example.com", "password": PASSWORD,
                                "csrf_token": token})
    assert client.post("/attempts/1/review", data=_form()).status_code == 400


def test_consensus_recommendation() -> None:
    summary = reviews.ReviewSummary(3, 0, ("yes", "no", "yes"))
    assert summary.consensus == "Yes" and summary.status == "3 reviewed"
    assert reviews.ReviewSummary(2, 0, ("yes", "no")).consensus == "No"  # a tie: the lower
    assert reviews.ReviewSummary(0, 1, ()).status == "review started"
    assert reviews.ReviewSummary(0, 0, ()).consensus is None
