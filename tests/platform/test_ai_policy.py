"""AI policy per assessment: chosen by the recruiter, shown to the candidate, a disclosure
required where it asks for one, and the workspace's assistant answered by a test model
server on 127.0.0.1 (tests/platform/model_server.py) within its budget and timeout, its
whole conversation on the report and in the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.platform.errors import ConfigError
from heldout.platform.extensions import db
from heldout.platform.models import AiMessage, Assessment, Attempt, utcnow
from heldout.platform.services import assessments, invites
from heldout.platform.statuses import AiPolicy
from tests.platform import model_server
from tests.platform.conftest import SECRET, Auth, NewInvite, Users, make_app, start_attempt
from tests.platform.test_api_v1 import bearer, make_token

SLUG = "churn-prediction"
KEY = "sk-test-key-never-in-a-page-4471"


@pytest.fixture
def model() -> Iterator[model_server.ModelServer]:
    state, server = model_server.start()
    yield state
    model_server.stop(state, server)


@pytest.fixture
def configured() -> bool:
    """Whether the app talks to the test model server (a test says so by parametrizing)."""
    return False


@pytest.fixture
def app(tmp_path: Path, challenges_dir: Path, model: model_server.ModelServer,
        configured: bool) -> Iterator[Flask]:
    settings = {"HELDOUT_AI_URL": model.url, "HELDOUT_AI_MODEL": "test-model",
                "HELDOUT_AI_KEY": KEY, "HELDOUT_AI_TOKEN_BUDGET": 50,
                "HELDOUT_AI_TIMEOUT_SECONDS": 0.5} if configured else {}
    app = make_app(tmp_path, challenges_dir, **settings)
    yield app
    with app.app_context():
        db.engine.dispose()


WITH_SERVER = pytest.mark.parametrize("configured", [True], ids=["model-server"])


def _assessment(app: Flask, recruiter: int, policy: AiPolicy) -> int:
    with app.app_context():
        made = assessments.create_assessment(
            name="AI take-home", challenge_slugs=[SLUG], time_limit_minutes=60,
            instructions="", expires_at=None, show_scores=False, created_by_id=recruiter)
        made.ai_policy = policy  # set here: the builder's rule is tested through its form
        db.session.commit()
        return made.id


def _candidate(app: Flask, client: FlaskClient, assessment_id: int, recruiter: int,
               email: str = "cara@example.org") -> tuple[str, str]:
    """A candidate who read the landing page and started: the attempt and that page."""
    with app.app_context():
        created = invites.create_invite(
            assessment_id=assessment_id, candidate_name="Cara Candidate",
            candidate_email=email, created_by_id=recruiter, secret=SECRET, ttl_days=14,
            now=utcnow())
        link = NewInvite(created.invite.id, created.token)
    landing = client.get(link.url, follow_redirects=True)
    assert landing.status_code == 200
    return start_attempt(client, link), landing.text


def _ask(client: FlaskClient, attempt: str, question: str) -> Any:
    return client.post(f"/a/{attempt}/c/{SLUG}/assistant", json={"question": question},
                       headers={"Accept": "application/json"})


def _attempt_pk(app: Flask, public_id: str) -> int:
    with app.app_context():
        found = db.session.scalar(select(Attempt.id).where(Attempt.public_id == public_id))
        assert found is not None
        return found


def test_the_recruiter_chooses_the_policy_and_the_candidate_reads_it(
        app: Flask, client: FlaskClient, auth: Auth, users: Users, html: ModuleType) -> None:
    auth.login("recruiter")
    form = {"name": "Disclosed", "challenges": SLUG, "time_limit_minutes": "60",
            "counting": "last", "ai_policy": "disclosure"}
    created = client.post("/assessments/new", data=form)
    assert created.status_code == 302, created.text
    with app.app_context():
        made = db.session.scalars(select(Assessment).where(Assessment.name == "Disclosed")).one()
        assert made.ai_policy is AiPolicy.DISCLOSURE
        made_id = made.id
    assert "AI allowed with disclosure" in client.get(f"/assessments/{made_id}").text
    edit = client.get(f"/assessments/{made_id}/edit")
    assert 'value="disclosure" checked' in edit.text
    # No model server configured: the assistant can't be offered, on the page or by a post.
    assert html.parse(edit.text).one(tag="input", value="assistant").attrs.get(
        "disabled") is not None
    assert "no AI model server is configured" in edit.text
    refused = client.post("/assessments/new", data={**form, "name": "Helped",
                                                    "ai_policy": "assistant"})
    assert refused.status_code == 400 and "not set up on this server" in refused.text
    assert client.post("/assessments/new", data={**form, "ai_policy": "robots"}).status_code == 400
    auth.logout()

    candidate = app.test_client()
    _, landing = _candidate(app, candidate, made_id, users.recruiter)
    assert "AI tools are allowed." in landing and "which ones you used" in landing
    # Once a candidate has started, the policy they agreed to stays.
    auth.login("recruiter")
    changed = client.post(f"/assessments/{made_id}/edit", data={**form,
                                                               "ai_policy": "not_allowed"})
    assert changed.status_code == 400 and "so the policy can" in changed.text


def test_the_default_is_no_ai_and_the_landing_page_says_so(
        app: Flask, client: FlaskClient, users: Users, assessment_id: int) -> None:
    with app.app_context():
        assert db.session.get(Assessment, assessment_id).ai_policy is AiPolicy.NOT_ALLOWED  # type: ignore[union-attr]
    attempt, landing = _candidate(app, client, assessment_id, users.recruiter)
    assert "AI tools are not allowed" in landing
    page = client.get(f"/a/{attempt}/c/{SLUG}")
    assert "AI tools are not allowed" in page.text and "js-ai-form" not in page.text
    # Asking anyway is refused: this assessment has no assistant.
    assert _ask(client, attempt, "hello?").status_code == 403


def test_disclosure_is_required_to_finish_and_shown_in_the_report_and_api(
        app: Flask, client: FlaskClient, users: Users) -> None:
    assessment_id = _assessment(app, users.recruiter, AiPolicy.DISCLOSURE)
    attempt, _ = _candidate(app, client, assessment_id, users.recruiter)
    overview = client.get(f"/a/{attempt}/")
    assert 'id="ai_disclosure"' in overview.text
    refused = client.post(f"/a/{attempt}/finish", data={"ai_disclosure": "  "})
    assert refused.status_code == 400 and "Say which AI tools you used" in refused.text
    with app.app_context():
        assert db.session.scalars(select(Attempt)).one().finished_at is None
    said = "A chat assistant to recall pandas' merge syntax."
    done = client.post(f"/a/{attempt}/finish", data={"ai_disclosure": said})
    assert done.status_code == 302
    pk = _attempt_pk(app, attempt)
    with app.app_context():
        assert db.session.get(Attempt, pk).ai_disclosure == said  # type: ignore[union-attr]

    staff = app.test_client()
    Auth(staff).login("interviewer")
    report = staff.get(f"/attempts/{pk}/report")
    assert "AI allowed with disclosure" in report.text and "recall pandas&#39; merge" in report.text
    token = make_token(app, users.interviewer, "read")
    api = staff.get(f"/api/v1/attempts/{pk}/report", headers=bearer(token))
    assert api.status_code == 200, api.text
    assert api.get_json()["ai"] == {"policy": "disclosure", "disclosure": said,
                                    "tokens_used": 0, "transcript": []}
    detail = staff.get(f"/api/v1/assessments/{assessment_id}", headers=bearer(token))
    assert detail.get_json()["ai_policy"] == "disclosure"


def test_the_assistant_is_off_when_no_server_is_configured(
        app: Flask, client: FlaskClient, users: Users, model: model_server.ModelServer) -> None:
    assessment_id = _assessment(app, users.recruiter, AiPolicy.ASSISTANT)
    attempt, _ = _candidate(app, client, assessment_id, users.recruiter)
    page = client.get(f"/a/{attempt}/c/{SLUG}")
    assert "not available on this server" in page.text and "js-ai-form" not in page.text
    refused = _ask(client, attempt, "hello?")
    assert refused.status_code == 403
    assert "not available on this server" in refused.get_json()["detail"]
    assert model.requests == []  # nothing was sent anywhere
    with app.app_context():
        assert db.session.scalars(select(AiMessage)).all() == []


@WITH_SERVER
def test_the_assistant_answers_within_its_budget_and_the_report_keeps_it_all(
        app: Flask, client: FlaskClient, users: Users, model: model_server.ModelServer) -> None:
    assessment_id = _assessment(app, users.recruiter, AiPolicy.ASSISTANT)
    attempt, landing = _candidate(app, client, assessment_id, users.recruiter)
    assert "You may use the AI assistant in the workspace" in landing and "50 tokens" in landing
    page = client.get(f"/a/{attempt}/c/{SLUG}")
    assert "js-ai-form" in page.text and "<strong>50</strong> of 50 tokens left" in page.text
    assert KEY not in page.text and model.url not in page.text

    first = _ask(client, attempt, "How do I one-hot encode a column?")
    assert first.status_code == 200, first.text
    body = first.get_json()
    assert body["answer"] == model_server.ANSWER_PREFIX + "How do I one-hot encode a column?"
    assert (body["tokens"], body["used"], body["left"], body["budget"]) == (30, 30, 20, 50)
    assert KEY not in first.text
    sent = model.requests[0]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["Authorization"] == f"Bearer {KEY}"
    assert sent["body"]["model"] == "test-model" and sent["body"]["stream"] is False
    assert sent["body"]["max_tokens"] == 50

    second = _ask(client, attempt, "And with pandas?")
    assert second.status_code == 200 and second.get_json()["left"] == 0
    # The conversation so far goes with the next question.
    assert [m["role"] for m in model.requests[1]["body"]["messages"]] == [
        "system", "user", "assistant", "user"]
    # Used up: refused clearly, nothing sent.
    used_up = _ask(client, attempt, "One more?")
    assert used_up.status_code == 429
    assert "used its 50 assistant tokens" in used_up.get_json()["detail"]
    assert len(model.requests) == 2
    page = client.get(f"/a/{attempt}/c/{SLUG}")
    assert "tokens for this attempt are used up" in page.text and "js-ai-form" not in page.text

    staff = app.test_client()
    Auth(staff).login("interviewer")
    pk = _attempt_pk(app, attempt)
    report = staff.get(f"/attempts/{pk}/report")
    assert "AI assistant conversation" in report.text
    for words in ("How do I one-hot encode a column?", "And with pandas?",
                  model_server.ANSWER_PREFIX + "And with pandas?", "60 of 50 tokens used"):
        assert words in report.text, words
    api = staff.get(f"/api/v1/attempts/{pk}/report",
                    headers=bearer(make_token(app, users.interviewer, "read")))
    ai = api.get_json()["ai"]
    assert ai["policy"] == "assistant" and ai["tokens_used"] == 60
    assert [(t["role"], t["challenge"]) for t in ai["transcript"]] == [
        ("candidate", SLUG), ("assistant", SLUG)] * 2


@WITH_SERVER
def test_a_hanging_or_failing_server_gives_a_clear_error_kept_in_the_transcript(
        app: Flask, client: FlaskClient, users: Users, model: model_server.ModelServer) -> None:
    assessment_id = _assessment(app, users.recruiter, AiPolicy.ASSISTANT)
    attempt, _ = _candidate(app, client, assessment_id, users.recruiter)
    model.mode = "hang"
    hung = _ask(client, attempt, "Are you there?")
    assert hung.status_code == 502
    assert hung.get_json()["detail"] == "The assistant did not answer within 0.5 seconds."
    model.mode = "error"
    failed = _ask(client, attempt, "And now?")
    assert failed.status_code == 502
    assert "refused the question (HTTP 500: the test server is failing on purpose)" in \
        failed.get_json()["detail"]
    with app.app_context():
        rows = db.session.scalars(select(AiMessage).order_by(AiMessage.id)).all()
        assert [(r.role, r.prompt_tokens + r.completion_tokens) for r in rows] == [
            ("candidate", 0), ("error", 0), ("candidate", 0), ("error", 0)]
        # A question still being answered (another tab) holds the next one back.
        rows[-1].role = "candidate"
        rows[-1].created_at = utcnow()
        db.session.commit()
    model.mode = "ok"
    busy = _ask(client, attempt, "Twice at once?")
    assert busy.status_code == 429 and "still answering" in busy.get_json()["detail"]


@WITH_SERVER
def test_only_the_bound_browser_may_ask_for_its_attempt(
        app: Flask, users: Users, model: model_server.ModelServer) -> None:
    assessment_id = _assessment(app, users.recruiter, AiPolicy.ASSISTANT)
    cara = app.test_client()
    cara_attempt, _ = _candidate(app, cara, assessment_id, users.recruiter)
    omar = app.test_client()
    _candidate(app, omar, assessment_id, users.recruiter, email="omar@example.org")
    assert _ask(omar, cara_attempt, "Whose attempt is this?").status_code == 404
    assert _ask(app.test_client(), cara_attempt, "Anyone?").status_code == 404
    assert model.requests == []
    cara.post(f"/a/{cara_attempt}/finish")
    closed = _ask(cara, cara_attempt, "After the end?")
    assert closed.status_code == 409 and model.requests == []


def test_the_ai_url_setting_is_checked() -> None:
    from heldout.platform.config import load_settings

    with pytest.raises(ConfigError, match="HELDOUT_AI_URL"):
        load_settings({"HELDOUT_AI_URL": "127.0.0.1:8080/v1", "HELDOUT_ENV": "testing"})


@WITH_SERVER
def test_the_doctor_says_whether_the_model_server_answers(
        app: Flask, model: model_server.ModelServer) -> None:
    from heldout.platform.doctor import ai_finding

    found = ai_finding(app)
    assert found is not None and found.ok and "test-model" in found.detail
    assert model.requests[-1]["body"]["max_tokens"] == 1
    model.mode = "error"
    found = ai_finding(app)
    assert found is not None and not found.ok and not found.required
    assert "HTTP 500" in found.detail


def test_the_doctor_says_nothing_of_an_assistant_not_set_up(app: Flask) -> None:
    from heldout.platform.doctor import ai_finding

    assert ai_finding(app) is None
