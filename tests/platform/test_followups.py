"""Authorship follow-ups: the rules that make questions from a candidate's own work, the
timed answers and their refusals, and the report's evidence (engine-free; the sandbox run
that computes a value is tested in tests/sandbox/test_followup_sandbox.py)."""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from heldout.graders import load_bundle
from heldout.graders.kinds.function import FunctionGrading
from heldout.platform.errors import NotFound
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, FollowupQuestion, User, utcnow
from heldout.platform.queue import get_queue
from heldout.platform.services import (
    assessments,
    followup_questions,
    followups,
    invites,
    jobs,
    submissions,
)
from heldout.platform.services.catalogue import get_bundles
from heldout.platform.services.scoring import GradingStatus
from heldout.platform.services.submissions import SubmittedFile
from heldout.platform.tasks import grading_settings
from heldout.platform.views.common import blob_store
from tests.platform.conftest import PASSWORD, SECRET, NewInvite, Users, make_app, start_attempt

CHALLENGES = Path(__file__).resolve().parents[2] / "challenges"
FUNCTION, MODEL, SQL = "metrics-from-scratch", "churn-prediction", "funnel-sql"


def _solution(slug: str, name: str = "reference") -> dict[str, str]:
    root = CHALLENGES / slug / "solutions" / name
    return {str(p.relative_to(root)): p.read_text(encoding="utf-8")
            for p in sorted(root.rglob("*")) if p.is_file()}


def _starter(slug: str) -> dict[str, str]:
    root = CHALLENGES / slug / "starter"
    return {str(p.relative_to(root)): p.read_text(encoding="utf-8")
            for p in sorted(root.rglob("*")) if p.is_file()}


# --- the rules ------------------------------------------------------------------------


def test_a_function_question_calls_one_of_their_functions_on_a_fresh_public_input() -> None:
    bundle = load_bundle(CHALLENGES / FUNCTION)
    asked = {q.quoted for seed in range(12) if (q := followup_questions.function_question(bundle, seed))}
    assert len(asked) > 1  # the seed picks among functions and cases
    again = followup_questions.function_question(bundle, 7)
    assert again == followup_questions.function_question(bundle, 7)  # deterministic
    assert again is not None and again.answer_kind == "value" and again.request is not None
    request = again.request
    assert isinstance(bundle.grading, FunctionGrading)
    assert request["mode"] == "call" and request["function"] in bundle.grading.functions
    public = [c["args"] for c in followup_questions.public_cases(bundle, request["function"])]
    assert request["args"] not in public  # not a case the candidate could recall
    assert again.quoted.startswith(f"{request['function']}(")


def test_fresh_arguments_keep_paired_lists_paired() -> None:
    labels, scores = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    new_labels, new_scores = followup_questions.fresh_arguments([labels, scores], seed=5)
    assert sorted(zip(new_labels, new_scores, strict=True)) == sorted(
        zip(labels, scores, strict=True))
    assert new_labels != labels
    assert followup_questions.fresh_arguments([3, "x"], seed=1) == [3, "x"]


def test_a_sql_question_runs_one_of_their_named_queries() -> None:
    bundle = load_bundle(CHALLENGES / SQL)
    files = _solution(SQL)
    asked = followup_questions.sql_question(bundle, files, seed=1)
    assert asked is not None and asked.answer_kind == "value"
    assert asked.request is not None and asked.request["mode"] == "sql"
    assert asked.request["query"].strip() in files[bundle.submission.entrypoint]
    assert "How many rows" in asked.prompt
    assert followup_questions.sql_question(bundle, {bundle.submission.entrypoint: "SELECT 1"}, 1) is None


def test_a_model_question_quotes_the_public_score_only() -> None:
    bundle = load_bundle(CHALLENGES / MODEL)
    with_score = followup_questions.model_question(bundle, 0.8123)
    assert with_score is not None and with_score.request is None
    assert "0.812" in with_score.prompt and "public slice" in with_score.prompt
    without = followup_questions.model_question(bundle, None)
    assert without is not None and "scored" not in without.prompt
    assert followup_questions.model_question(load_bundle(CHALLENGES / FUNCTION), 0.5) is None


@pytest.mark.parametrize(("slug", "said"), [
    ("late-delivery-features", "With your features the fixed model scored 0.812"),
    ("churn-service", "The model behind your service scored 0.812"),
])
def test_kinds_graded_by_a_model_metric_ask_about_their_score(slug: str, said: str) -> None:
    asked = followup_questions.model_question(load_bundle(CHALLENGES / slug), 0.8123)
    assert asked is not None and asked.prompt.startswith(said)
    assert "public slice" in asked.prompt and "feature" in asked.prompt


def test_a_kind_without_a_question_of_its_own_asks_about_two_of_their_fragments() -> None:
    notebook = load_bundle(CHALLENGES / "churn-eda-notebook")
    assert followup_questions.model_question(notebook, 0.8) is None
    mine = {"analysis.py": "def clean(frame):\n    kept = frame.dropna()\n    return kept\n\n\n"
                           "def tenure_bands(frame):\n    years = frame.tenure // 12\n"
                           "    return years\n"}
    planned = followup_questions.plan_for(notebook, mine, {}, public_metric=None, seed=0)
    assert len(planned) == 2 and all(p.answer_kind == "text" for p in planned)
    assert {"clean" in planned[0].prompt, "tenure_bands" in planned[1].prompt} == {True}
    # One fragment only: one question, never the same one twice.
    one = followup_questions.plan_for(notebook, {"a.py": "def f(x):\n    y = x\n    return y\n"},
                                      {}, public_metric=None, seed=3)
    assert len(one) == 1
    # A kind with its own question: it, then one fragment.
    model = followup_questions.plan_for(load_bundle(CHALLENGES / MODEL), mine, {},
                                        public_metric=0.7, seed=0)
    assert [p.prompt.split(" ")[0] for p in model] == ["Your", "In"]


def test_a_fragment_is_their_own_code_never_the_starter() -> None:
    starter = {"solution.py": "def given(x):\n    y = x\n    return y\n"}
    mine = {"solution.py": starter["solution.py"]
            + "\n\ndef mine(values):\n    total = sum(values)\n    return total / len(values)\n"}
    asked = followup_questions.fragment_question(mine, starter, seed=0)
    assert asked is not None and "function mine" in asked.prompt
    assert "lines 6-8" in asked.prompt and "def mine" in asked.quoted
    assert followup_questions.fragment_question(starter, starter, seed=0) is None
    # Not Python: a paragraph of the file, still named by its lines.
    text = followup_questions.fragment_question({"notes.R": "a <- 1\nb <- 2\nc <- a + b\n"}, {}, 0)
    assert text is not None and "notes.R, lines 1-3" in text.prompt


def test_two_or_three_questions_spread_over_the_challenges() -> None:
    value = followup_questions.Planned("value", "v?", request={"mode": "call"})
    text = followup_questions.Planned("text", "t?")
    chosen = followup_questions.choose([[value, text], [text, text], [text]])
    assert [i for i, _ in chosen] == [0, 1, 2]  # each challenge's best first
    assert [i for i, _ in followup_questions.choose([[value, text]])] == [0, 0]
    assert followup_questions.choose([]) == []


@pytest.mark.parametrize(("answer", "expected", "agrees"), [
    ("0.75", {"value_text": "0.75"}, True),
    ("0.7500000001", {"value_text": "0.75"}, True),
    ("0.7", {"value_text": "0.75"}, False),
    ("[1, 2]", {"value_text": "[\n  1,\n  2\n]"}, True),
    ("(1, 3)", {"value_text": "[1, 2]"}, False),
    ("12", {"value": 12, "capped": False}, True),
    ("no idea", {"value": 12, "capped": False}, False),
    ("1", {"error": "ZeroDivisionError"}, None),
    ("", {"value_text": "1"}, None),
])
def test_a_value_answer_is_compared_with_what_their_code_returned(
        answer: str, expected: dict[str, object], agrees: bool | None) -> None:
    assert followups.agrees(answer, expected) is agrees


# --- the flow: an assessment with follow-ups, a candidate who finishes ------------------


@pytest.fixture(scope="module")
def three_challenges(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("followup-challenges")
    for slug in (FUNCTION, MODEL):
        shutil.copytree(CHALLENGES / slug, root / slug)
    return root


@pytest.fixture
def flow(tmp_path: Path, three_challenges: Path) -> Iterator[tuple[Flask, FlaskClient, str]]:
    app = make_app(tmp_path, three_challenges)
    with app.app_context():
        recruiter = User(email="r@example.com", name="R", role="recruiter",
                         password_hash=generate_password_hash(PASSWORD, "pbkdf2:sha256:1000"))
        db.session.add(recruiter)
        db.session.commit()
        made = assessments.create_assessment(
            name="With follow-ups", challenge_slugs=[FUNCTION, MODEL], time_limit_minutes=60,
            instructions="", expires_at=None, show_scores=False, created_by_id=recruiter.id,
            followups=True)
        ada, bob = (NewInvite(m.invite.id, m.token) for m in (invites.create_invite(
            assessment_id=made.id, candidate_name=name, candidate_email=f"{name}@ex.org",
            created_by_id=recruiter.id, secret=SECRET, ttl_days=14, now=utcnow())
            for name in ("ada", "bob")))
    client = app.test_client()
    attempt_id = start_attempt(client, ada)
    start_attempt(app.test_client(), bob)
    with app.app_context():
        for slug in (FUNCTION, MODEL):
            files = [SubmittedFile(name, text.encode()) for name, text in _solution(slug).items()]
            submissions.submit(attempt_public_id=attempt_id, challenge_slug=slug, files=files,
                               blobs=blob_store(), queue=get_queue(), bundles=get_bundles(),
                               now=utcnow())
    yield app, client, attempt_id
    with app.app_context():
        db.engine.dispose()


def _questions(app: Flask, attempt_id: str) -> list[FollowupQuestion]:
    with app.app_context():
        attempt = db.session.scalars(select(Attempt).where(
            Attempt.public_id == attempt_id)).one()
        found = followups.questions_of(attempt)
        for q in found:
            db.session.expunge(q)
        return found


def _computed(app: Flask, question_id: int, value_text: str) -> None:
    """The question's run as the job would store it (the job itself: the Docker test)."""
    with app.app_context():
        row = db.session.get(FollowupQuestion, question_id)
        assert row is not None
        row.status, row.expected = GradingStatus.GRADED, {"value_text": value_text}
        db.session.commit()


def test_questions_come_after_finishing_timed_and_kept_as_evidence(
        flow: tuple[Flask, FlaskClient, str], monkeypatch: pytest.MonkeyPatch) -> None:
    app, client, attempt_id = flow
    # Before finishing: nothing is asked, the page sends back to the overview.
    assert client.get(f"/a/{attempt_id}/followups").status_code == 302
    assert client.post(f"/a/{attempt_id}/finish").status_code == 302
    done = client.get(f"/a/{attempt_id}/done")
    assert f"/a/{attempt_id}/followups" in done.text
    start = client.get(f"/a/{attempt_id}/followups")
    assert start.status_code == 200 and "Start the questions" in start.text

    assert client.post(f"/a/{attempt_id}/followups/next").status_code == 302
    asked = _questions(app, attempt_id)
    assert len(asked) == 3
    computed = [q for q in asked if q.request is not None]
    assert [q.challenge_slug for q in computed] == [FUNCTION]
    assert computed[0].status == "queued" and computed[0].expected is None
    with app.app_context():
        assert computed[0].id in get_queue().waiting(followups.FOLLOWUPS.kind)
    assert [q.shown_at is not None for q in asked] == [True, False, False]
    first = asked[0]
    page = client.get(f"/a/{attempt_id}/followups")
    assert first.prompt.split("(")[0] in page.text and "data-late-note" in page.text
    # A second press neither makes new questions nor restarts the clock.
    client.post(f"/a/{attempt_id}/followups/next")
    again = _questions(app, attempt_id)
    assert [q.id for q in again] == [q.id for q in asked]
    assert again[0].shown_at == first.shown_at

    # Too long: refused, the words kept in the form, nothing stored.
    long = client.post(f"/a/{attempt_id}/followups/{first.id}",
                       data={"answer": "x" * (followups.MAX_ANSWER_CHARS + 1)})
    assert long.status_code == 400 and "characters long" in long.text
    assert _questions(app, attempt_id)[0].answer is None
    # Not shown yet: refused.
    third = asked[2]
    early = client.post(f"/a/{attempt_id}/followups/{third.id}", data={"answer": "x"})
    assert early.status_code == 400 and "not been shown" in early.text
    # Answered in time.
    assert client.post(f"/a/{attempt_id}/followups/{first.id}",
                       data={"answer": "0.75"}).status_code == 302
    twice = client.post(f"/a/{attempt_id}/followups/{first.id}", data={"answer": "1"})
    assert twice.status_code == 400 and "already answered" in twice.text

    # The second is answered past its limit: kept, late. The clock moves, nobody waits.
    second = _questions(app, attempt_id)[1]
    assert second.shown_at is not None
    later = second.shown_at + timedelta(seconds=second.time_limit_seconds + 30)
    monkeypatch.setattr("heldout.platform.views.candidate.followups.now", lambda: later)
    assert client.post(f"/a/{attempt_id}/followups/{second.id}",
                       data={"answer": "tenure, from the feature importances"}
                       ).status_code == 302
    # The third closes ten minutes after its limit: refused then.
    third = _questions(app, attempt_id)[2]
    assert third.shown_at == later
    closed = third.shown_at + timedelta(seconds=third.time_limit_seconds) \
        + followups.CLOSES_AFTER + timedelta(seconds=1)
    monkeypatch.setattr("heldout.platform.views.candidate.followups.now", lambda: closed)
    refused = client.post(f"/a/{attempt_id}/followups/{third.id}", data={"answer": "late"})
    assert refused.status_code == 400 and "closed at" in refused.text

    kept = _questions(app, attempt_id)
    assert [(q.answer, q.late) for q in kept] == [
        ("0.75", False), ("tenure, from the feature importances", True), (None, False)]
    # The candidate's pages never show a computed value (there is none yet, nor after).
    _computed(app, first.id, "0.123456789")
    assert "0.123456789" not in client.get(f"/a/{attempt_id}/followups").text


def test_the_report_shows_answers_timings_and_the_computed_value(
        flow: tuple[Flask, FlaskClient, str]) -> None:
    app, client, attempt_id = flow
    client.post(f"/a/{attempt_id}/finish")
    client.post(f"/a/{attempt_id}/followups/next")
    first = _questions(app, attempt_id)[0]
    _computed(app, first.id, "0.875")
    client.post(f"/a/{attempt_id}/followups/{first.id}", data={"answer": "0.875"})
    with app.app_context():
        attempt = db.session.scalars(select(Attempt).where(
            Attempt.public_id == attempt_id)).one()
        views = followups.followup_views(attempt)
        report_url = f"/attempts/{attempt.id}/report"
    assert views[0].expected == "0.875" and views[0].agrees is True
    assert views[0].seconds is not None and views[0].seconds >= 0
    assert [v.state for v in views] == ["computed", "", ""]
    assert views[1].shown and views[1].answer is None and not views[2].shown
    staff = app.test_client()
    staff.post("/login", data={"email": "r@example.com", "password": PASSWORD})
    page = staff.get(report_url)
    assert page.status_code == 200
    assert "Authorship follow-up" in page.text and "answer matches" in page.text
    assert "0.875" in page.text and "not answered" in page.text and "not opened" in page.text


def test_another_attempt_s_question_is_not_found(
        flow: tuple[Flask, FlaskClient, str]) -> None:
    app, client, attempt_id = flow
    client.post(f"/a/{attempt_id}/finish")
    client.post(f"/a/{attempt_id}/followups/next")
    theirs = _questions(app, attempt_id)[0]
    with app.app_context():
        other = db.session.scalars(select(Attempt).where(
            Attempt.public_id != attempt_id)).one()
        with pytest.raises(NotFound):
            followups.answer_question(other, theirs.id, "0.75", now=utcnow())


def test_an_assessment_without_follow_ups_asks_nothing(
        app: Flask, client: FlaskClient, attempt: str, users: Users) -> None:
    client.post(f"/a/{attempt}/finish")
    assert "followups" not in client.get(f"/a/{attempt}/done").text
    assert client.get(f"/a/{attempt}/followups").status_code == 404
    assert client.post(f"/a/{attempt}/followups/next").status_code == 404


# --- the real sandbox: a computed question runs the candidate's own code ---------------


@pytest.mark.docker
def test_a_computed_question_runs_their_own_code_in_the_sandbox(
        flow: tuple[Flask, FlaskClient, str], sandbox_image: str) -> None:
    app, client, attempt_id = flow
    client.post(f"/a/{attempt_id}/finish")
    client.post(f"/a/{attempt_id}/followups/next")
    [computed] = [q for q in _questions(app, attempt_id) if q.request is not None]
    with app.app_context():
        outcome = jobs.run(followups.FOLLOWUPS, computed.id, grading_settings())
        assert outcome.status == "graded", outcome.detail
        row = db.session.get(FollowupQuestion, computed.id)
        assert row is not None
        assert row.expected is not None, row.error
        returned = json.loads(row.expected["value_text"])
    # The same call of the same (reference) code, run here only to check the sandbox's answer.
    spec = importlib.util.spec_from_file_location(
        "reference_solution", CHALLENGES / FUNCTION / "solutions" / "reference" / "solution.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    request = computed.request or {}
    want = getattr(module, request["function"])(*request["args"], **request["kwargs"])
    assert followups.agrees(json.dumps(want), row.expected) is True, (returned, want)
