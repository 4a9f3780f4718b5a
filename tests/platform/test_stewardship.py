"""A candidate's data: found by e-mail, exported as a zip, erased with nothing left behind.

The erasure test builds a candidate the way the app does (invite, consent, autosaved
drafts, a submission graded through the grading job, a public run, a review, a webhook
delivery, audit entries), erases them through the admin page, then reads every column of
every table and every file of the blob store for their e-mail, name and code.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from heldout.graders.result import Evaluation
from heldout.platform.blobs import BlobStore
from heldout.platform.extensions import db
from heldout.platform.models import (
    AiMessage,
    AuditEvent,
    Base,
    EditorEvent,
    FollowupQuestion,
    PublicRun,
    SignalReview,
    Submission,
    Team,
    User,
    WebhookDelivery,
    utcnow,
)
from heldout.platform.services import (
    attempts,
    audit,
    grading,
    reviews,
    webhooks,
)
from heldout.platform.tasks import grading_settings
from tests.platform.conftest import Auth, NewInvite, Users

SLUG = "churn-prediction"
SECRET_CODE = "zq_unique_marker_7731"
SHARED_CODE = "import pandas as pd\nprint('the same starter line everyone keeps')\n"


def _candidate(app: Flask, client: FlaskClient, invite: NewInvite,
               start: Callable[[FlaskClient, NewInvite], str], users: Users, *,
               marker: str) -> str:
    """A candidate with drafts, a graded submission (with an artefact), a public run and a
    review; returns the attempt's public id."""
    public_id = start(client, invite)
    body = {"files": [{"name": "solution.py", "content": f"# {marker}\n{SHARED_CODE}"}]}
    saved = client.post(f"/a/{public_id}/c/{SLUG}/draft", data=json.dumps(body),
                        headers={"Content-Type": "application/json",
                                 "Accept": "application/json"})
    assert saved.status_code == 200, saved.text
    pasted = client.post(f"/a/{public_id}/c/{SLUG}/editor-events", data=json.dumps(
        {"events": [{"kind": "paste", "ago_ms": 0, "file": "solution.py", "chars": 900}]}),
        headers={"Content-Type": "application/json"})
    assert pasted.status_code == 200, pasted.text
    submitted = client.post(f"/a/{public_id}/c/{SLUG}/submit",
                            data={"code": f"# {marker}\n{SHARED_CODE}"})
    assert submitted.status_code in (302, 303), submitted.text
    with app.app_context():
        attempt = attempts.get_attempt(public_id)
        submission = db.session.scalars(select(Submission).where(
            Submission.attempt_id == attempt.id)).one()

        def scored(bundle: Any, _directory: Any) -> Evaluation:
            # The grading job stores this as it would a sandbox run's (only the run is
            # left out): the artefact goes to the blob store like a notebook's output.
            return Evaluation(challenge=bundle.slug, version=bundle.version, status="graded",
                              score=71.0, max_score=100.0,
                              artefacts={"log.txt": f"{marker} artefact".encode()})

        assert grading.grade_submission(submission.id, grading_settings(),
                                        evaluate=scored).status == "graded"
        blobs = BlobStore(Path(app.config["HELDOUT_DATA_DIR"]) / "blobs")
        digest = blobs.put(f"# {marker} public run\n".encode())
        db.session.add(PublicRun(attempt_id=attempt.id, challenge_id=submission.challenge_id,
                                 challenge_slug=SLUG,
                                 challenge_version=submission.challenge_version,
                                 status="graded", files=[{"name": "solution.py",
                                                          "sha256": digest, "size": 9}]))
        # The workspace assistant's transcript: a table of its own, erased and exported too.
        db.session.add(AiMessage(attempt_id=attempt.id, challenge_id=submission.challenge_id,
                                 role="candidate", content=f"how do I write {marker}?"))
        # A follow-up question, answered in the candidate's words.
        db.session.add(FollowupQuestion(
            attempt_id=attempt.id, submission_id=submission.id,
            challenge_id=submission.challenge_id, challenge_slug=SLUG,
            challenge_version=submission.challenge_version, position=1, answer_kind="text",
            prompt="What does your function do?", time_limit_seconds=180, status="graded",
            answer=f"{marker} is what it computes"))
        db.session.commit()
        reviewer = db.session.get(User, users.interviewer)
        assert reviewer is not None
        reviews.save_review(attempt.id, reviewer, reviews.ReviewInput(
            levels={c.key: "3" for c in reviews.rubric_for(attempt)},
            notes=f"{attempt.invite.candidate_name} explained {marker} well.",
            recommendation="yes", submit=True), now=utcnow())
        paste = db.session.scalars(select(EditorEvent).where(
            EditorEvent.attempt_id == attempt.id)).one()
        db.session.add(SignalReview(attempt_id=attempt.id, signal=f"paste:{paste.id}",
                                    note=f"{attempt.invite.candidate_name}: {marker} is theirs",
                                    reviewed_by_id=reviewer.id))
        db.session.commit()
    return public_id


def _every_value(app: Flask) -> list[tuple[str, str, str]]:
    """(table, column, text) for every non-empty value in the database."""
    found = []
    with app.app_context():
        for table in Base.metadata.sorted_tables:
            for row in db.session.execute(select(table)):
                for column, value in row._mapping.items():
                    if value is not None:
                        found.append((table.name, column, json.dumps(value, default=str)
                                      if not isinstance(value, str) else value))
    return found


def _blob_texts(app: Flask) -> list[bytes]:
    root = Path(app.config["HELDOUT_DATA_DIR"]) / "blobs"
    return [path.read_bytes() for path in root.rglob("*") if path.is_file()]


@pytest.fixture
def team(app: Flask, assessment_id: int) -> int:
    with app.app_context():
        from heldout.platform.models import Assessment

        team = Team(slug="hiring", name="Hiring")
        db.session.add(team)
        db.session.flush()
        assessment = db.session.get(Assessment, assessment_id)
        assert assessment is not None
        assessment.team_id = team.id
        db.session.commit()
        return team.id


def test_erasing_a_candidate_leaves_nothing_of_them_and_everything_of_others(
        app: Flask, client: FlaskClient, auth: Auth, users: Users, team: int,
        make_invite: Callable[..., NewInvite],
        start: Callable[[FlaskClient, NewInvite], str]) -> None:
    with app.app_context():
        admin = db.session.get(User, users.admin)
        assert admin is not None
        webhooks.create_endpoint(webhooks.EndpointInput(team, "http://127.0.0.1:9/h",
                                                        ["attempt.started"]),
                                 actor=admin, origin=audit.NO_ORIGIN)
    zelda = make_invite(name="Zelda Quux", email="Zelda.Quux@Example.org")
    other = make_invite(name="Olaf Other", email="olaf@example.org")
    _candidate(app, app.test_client(), zelda, start, users, marker=SECRET_CODE)
    _candidate(app, app.test_client(), other, start, users, marker="olaf_marker_55")
    with app.app_context():
        audit.record(None, "invite.create", "invite", zelda.id,
                     {"email": "zelda.quux@example.org", "name": "Zelda Quux"},
                     actor_label="zelda.quux@example.org")
        audit_before = set(db.session.scalars(select(AuditEvent.id)))
        assert db.session.scalar(select(func.count(WebhookDelivery.id))) == 2
    needles = ("zelda", "quux", SECRET_CODE)
    assert any(n in value.lower() for _, _, value in _every_value(app) for n in needles)
    assert any(SECRET_CODE.encode() in data for data in _blob_texts(app))
    others_before = [row for row in _every_value(app) if "olaf" in row[2].lower()]

    auth.login("admin")
    found = client.post("/admin/candidates/", data={"email": "zelda.quux@example.org"})
    assert found.status_code == 200 and "Zelda Quux" in found.text
    erased = client.post("/admin/candidates/erase", data={
        "email": "zelda.quux@example.org", "confirm": "ZELDA.QUUX@example.org"})
    assert erased.status_code == 200, erased.text
    assert "Erased" in erased.text and "zelda" not in erased.text.lower()

    left = [(table, column) for table, column, value in _every_value(app)
            if any(n in value.lower() for n in needles)]
    assert left == [], f"still held after erasure: {left}"
    assert not any(SECRET_CODE.encode() in data for data in _blob_texts(app))
    # The other candidate is untouched, their files too (shared content included).
    assert [row for row in _every_value(app) if "olaf" in row[2].lower()] == others_before
    with app.app_context():
        blobs = BlobStore(Path(app.config["HELDOUT_DATA_DIR"]) / "blobs")
        for (digest,) in db.session.execute(text("SELECT sha256 FROM submission_file")):
            assert blobs.get(digest)
        assert audit_before <= set(db.session.scalars(select(AuditEvent.id)))  # kept, anonymised
        # Editor events and reviews of signals hang off the attempt: Olaf's alone are left.
        assert db.session.scalar(select(func.count(EditorEvent.id))) == 1
        assert db.session.scalar(select(func.count(SignalReview.id))) == 1
        erasure = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "candidate.erase")).one()
        assert erasure.actor_label == "admin@example.com" and erasure.detail["rows"] > 5


def test_export_holds_every_row_and_file_about_the_person(
        app: Flask, client: FlaskClient, auth: Auth, users: Users, team: int,
        make_invite: Callable[..., NewInvite],
        start: Callable[[FlaskClient, NewInvite], str]) -> None:
    zelda = make_invite(name="Zelda Quux", email="zelda.quux@example.org")
    _candidate(app, app.test_client(), zelda, start, users, marker=SECRET_CODE)
    _candidate(app, app.test_client(), make_invite(name="Olaf Other", email="olaf@example.org"),
               start, users, marker="olaf_marker_55")
    auth.login("admin")
    response = client.post("/admin/candidates/export", data={"email": "zelda.quux@example.org"})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = set(archive.namelist())
    assert {"README.txt", "data/invite.json", "data/attempt.json", "data/submission.json",
            "data/submission_file.json", "data/evaluation.json", "data/draft.json",
            "data/public_run.json", "data/review.json", "data/audit_event.json",
            "data/editor_event.json", "data/signal_review.json", "data/ai_message.json",
            "data/followup_question.json"} <= names
    pastes = json.loads(archive.read("data/editor_event.json"))
    assert [(e["kind"], e["file"], e["amount"]) for e in pastes] == [("paste", "solution.py", 900)]
    assert [m["content"] for m in json.loads(archive.read("data/ai_message.json"))] == [
        f"how do I write {SECRET_CODE}?"]
    invites = json.loads(archive.read("data/invite.json"))
    assert [i["candidate_email"] for i in invites] == ["zelda.quux@example.org"]
    files = [archive.read(name) for name in names if name.startswith("files/")]
    assert any(f"# {SECRET_CODE}".encode() in data for data in files)        # the code
    assert any(f"{SECRET_CODE} artefact".encode() == data for data in files)  # a run's output
    assert not any(b"olaf_marker_55" in archive.read(name) for name in names)
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "candidate.export")) == 1


def test_bad_requests_are_refused_and_erase_nothing(
        app: Flask, client: FlaskClient, auth: Auth, invite: NewInvite,
        start: Callable[[FlaskClient, NewInvite], str]) -> None:
    start(app.test_client(), invite)
    auth.login("admin")
    assert client.post("/admin/candidates/", data={"email": "not an address"}).status_code == 400
    unconfirmed = client.post("/admin/candidates/erase", data={"email": "cara@example.org",
                                                                "confirm": "cara@example.com"})
    assert unconfirmed.status_code == 400 and "Type the e-mail address again" in unconfirmed.text
    nobody = client.post("/admin/candidates/erase", data={"email": "nobody@example.org",
                                                           "confirm": "nobody@example.org"})
    assert nobody.status_code == 404 and "holds nothing" in nobody.text
    assert client.post("/admin/candidates/export",
                       data={"email": "nobody@example.org"}).status_code == 404
    with app.app_context():
        assert db.session.scalar(text("SELECT count(*) FROM attempt")) == 1
    auth.logout()
    auth.login("recruiter")
    assert client.post("/admin/candidates/erase", data={
        "email": "cara@example.org", "confirm": "cara@example.org"}).status_code == 403
    with app.app_context():
        assert db.session.scalar(text("SELECT count(*) FROM attempt")) == 1


def test_the_api_exports_and_erases_for_admins_only(
        app: Flask, users: Users, team: int, make_invite: Callable[..., NewInvite],
        start: Callable[[FlaskClient, NewInvite], str]) -> None:
    from heldout.platform.services import api_tokens

    zelda = make_invite(name="Zelda Quux", email="zelda.quux@example.org")
    _candidate(app, app.test_client(), zelda, start, users, marker=SECRET_CODE)
    with app.app_context():
        tokens = {}
        for role in ("admin", "recruiter"):
            owner = db.session.scalars(select(User).where(User.role == role)).one()
            tokens[role] = api_tokens.create_token(user=owner, name=role, scope="admin", days=1,
                                                   now=utcnow(), actor=owner).secret
    api = app.test_client()

    def call(role: str, path: str, email: str) -> Any:
        return api.post(f"/api/v1/candidates/{path}", json={"email": email},
                        headers={"Authorization": f"Bearer {tokens[role]}"})

    refused = call("recruiter", "erase", "zelda.quux@example.org")
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    exported = call("admin", "export", "zelda.quux@example.org")
    assert exported.status_code == 200 and exported.mimetype == "application/zip"
    assert "data/invite.json" in zipfile.ZipFile(io.BytesIO(exported.data)).namelist()
    erased = call("admin", "erase", "zelda.quux@example.org")
    assert erased.status_code == 200, erased.text
    receipt = erased.json
    assert receipt["rows"]["invite"] == 1 and receipt["rows"]["submission"] == 1
    assert "zelda" not in erased.text.lower()
    again = call("admin", "erase", "zelda.quux@example.org")
    assert again.status_code == 404 and again.mimetype == "application/problem+json"
    assert call("admin", "export", "not-an-address").status_code in (400, 422)
