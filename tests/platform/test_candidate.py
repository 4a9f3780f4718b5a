"""The candidate's side: overview, workspace, downloads, submissions, deadline."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select, text
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from heldout.platform.extensions import db
from heldout.platform.models import Attempt, Submission, utcnow
from heldout.platform.queue import get_queue
from heldout.platform.services.grading import SUBMISSIONS
from heldout.platform.services.scoring import invite_state

SLUG = "churn-prediction"
CODE = "print('hello')\n"


def _attempt_row(app: Flask, public_id: str) -> Attempt:
    attempt = db.session.scalar(select(Attempt).where(Attempt.public_id == public_id))
    assert attempt is not None
    return attempt


def test_overview_lists_challenges_with_countdown(client: FlaskClient, attempt: str) -> None:
    page = client.get(f"/a/{attempt}/").text
    assert "Predict customer churn" in page
    assert "not started" in page
    assert "data-deadline=" in page
    assert "Finish assessment" in page


def test_workspace_shows_statement_starter_and_files(client: FlaskClient, attempt: str) -> None:
    page = client.get(f"/a/{attempt}/c/{SLUG}").text
    assert "<h1>Predict customer churn</h1>" in page
    assert "<table>" in page  # the data dictionary renders as a table
    assert "rate_by_contract" in page  # the starter entrypoint is in the editor
    assert "train.csv" in page and "test.csv" in page
    assert "labels.csv" not in page
    assert "Nothing submitted yet" in page


def test_downloads(client: FlaskClient, attempt: str, challenges_dir: Path) -> None:
    base = f"/a/{attempt}/c/{SLUG}/files"
    with client.get(f"{base}/public/train.csv") as response:
        assert response.status_code == 200
        committed = (challenges_dir / SLUG / "public" / "train.csv").read_bytes()
        # The attempt downloads its own data variant: the same columns, its own customers.
        assert response.data.split(b"\n", 1)[0] == committed.split(b"\n", 1)[0]
        assert response.data != committed
        assert "attachment" in response.headers["Content-Disposition"]
    with client.get(f"{base}/starter/solution.py") as response:
        assert response.status_code == 200


@pytest.mark.parametrize("path", [
    "public/..%2fhidden%2flabels.csv",
    "public/../hidden/labels.csv",
    "public/%2e%2e/hidden/labels.csv",
    "public/..%252fhidden%252flabels.csv",
    "starter/..%2f..%2fchurn-prediction%2fhidden%2flabels.csv",
    "hidden/labels.csv",
    "public/%2fetc%2fpasswd",
    "solutions/reference/solution.py",
    "public/..%5chidden%5clabels.csv",
    "public/hidden/labels.csv",
])
def test_nothing_hidden_is_reachable(client: FlaskClient, attempt: str, challenges_dir: Path,
                                     path: str) -> None:
    hidden = (challenges_dir / SLUG / "hidden" / "labels.csv").read_bytes()
    # Werkzeug may first redirect a path with "//" to its merged form: follow it.
    response = client.get(f"/a/{attempt}/c/{SLUG}/files/{path}", follow_redirects=True)
    assert response.status_code == 404
    assert hidden[:200] not in response.data


def test_another_attempt_is_not_reachable(client: FlaskClient, attempt: str, make_invite,  # type: ignore[no-untyped-def]
                                         start) -> None:
    other_client = client.application.test_client()
    other = start(other_client, make_invite("Olga", "olga@example.org"))
    for url in (f"/a/{other}/", f"/a/{other}/c/{SLUG}",
                f"/a/{other}/c/{SLUG}/files/public/train.csv",
                f"/a/{other}/done"):
        assert client.get(url).status_code == 404
    assert client.post(f"/a/{other}/c/{SLUG}/submit", data={"code": CODE}).status_code == 404
    assert client.post(f"/a/{other}/finish").status_code == 404
    # A stranger with no session at all.
    assert client.application.test_client().get(f"/a/{attempt}/").status_code == 404


def test_submission_of_another_attempt_is_not_found(app: Flask, client: FlaskClient,  # type: ignore[no-untyped-def]
                                                    attempt: str, make_invite, start) -> None:
    other_client = app.test_client()
    other = start(other_client, make_invite("Olga", "olga@example.org"))
    other_client.post(f"/a/{other}/c/{SLUG}/submit", data={"code": CODE})
    with app.app_context():
        submission_id = db.session.scalars(select(Submission.id)).one()
    assert client.get(f"/a/{attempt}/submissions/{submission_id}").status_code == 404
    assert other_client.get(f"/a/{other}/submissions/{submission_id}").status_code == 200


def test_submit_stores_the_files_before_queueing(app: Flask, client: FlaskClient, attempt: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        queue = get_queue()

    def enqueue(kind: str, submission_id: int, *, delay: float | None = None) -> None:
        # Another connection, as the worker would have: the row must already be committed.
        engine = create_engine(url)
        with engine.connect() as connection:
            seen["row"] = connection.execute(text(
                "SELECT status, challenge_slug FROM submission WHERE id = :id"),
                {"id": submission_id}).one()
            seen["file"] = connection.execute(text(
                "SELECT name, sha256, size FROM submission_file WHERE submission_id = :id"),
                {"id": submission_id}).one()
        engine.dispose()

    monkeypatch.setattr(queue, "enqueue", enqueue)
    response = client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": CODE})
    assert response.status_code == 302
    assert tuple(seen["row"]) == ("queued", SLUG)
    name, digest, size = seen["file"]
    assert (name, size) == ("solution.py", len(CODE))
    blob = Path(app.config["HELDOUT_DATA_DIR"]) / "blobs" / digest[:2] / digest
    assert blob.read_bytes() == CODE.encode()


def test_submit_queues_and_the_status_endpoint_reports(app: Flask, client: FlaskClient,
                                                       attempt: str) -> None:
    response = client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": CODE})
    assert response.status_code == 302
    with app.app_context():
        submission = db.session.scalars(select(Submission)).one()
        assert get_queue().waiting(SUBMISSIONS.kind) == {submission.id}
        submission_id = submission.id
    page = client.get(response.headers["Location"]).text
    assert f"/a/{attempt}/submissions/{submission_id}" in page  # polled by the page
    status = client.get(f"/a/{attempt}/submissions/{submission_id}",
                        headers={"Accept": "application/json"}).json
    assert status is not None
    assert status["status"] == "queued" and status["final"] is False
    assert "submitted" in client.get(f"/a/{attempt}/").text


def test_upload_instead_of_editor(app: Flask, client: FlaskClient, attempt: str) -> None:
    data = {"code": "ignored", "files": (io.BytesIO(b"print(1)\n"), "solution.py")}
    response = client.post(f"/a/{attempt}/c/{SLUG}/submit", data=data,
                           content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        submission = db.session.scalars(select(Submission)).one()
        assert [f.size for f in submission.files] == [len(b"print(1)\n")]


def test_wrong_file_type(client: FlaskClient, attempt: str) -> None:
    data = {"files": (io.BytesIO(b"\x80\x04binary"), "model.pkl")}
    response = client.post(f"/a/{attempt}/c/{SLUG}/submit", data=data,
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "model.pkl is not a file this challenge accepts" in response.text
    assert "Accepted: solution.py, *.py" in response.text
    data = {"files": (io.BytesIO(b"\xff\xfe\x00binary"), "solution.py")}
    response = client.post(f"/a/{attempt}/c/{SLUG}/submit", data=data,
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "not a UTF-8 text file" in response.text


def test_empty_submission_keeps_nothing_and_says_so(app: Flask, client: FlaskClient,
                                                   attempt: str) -> None:
    response = client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": "   \n"})
    assert response.status_code == 400
    assert "The submission is empty" in response.text
    with app.app_context():
        assert db.session.scalars(select(Submission)).all() == []


def test_submission_over_the_challenge_limit(client: FlaskClient, attempt: str) -> None:
    code = "# padding\n" * 30_000  # 300 kB, over the bundle's 256 KiB
    response = client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": code})
    assert response.status_code == 413
    assert "takes at most 262,144" in response.text
    assert "# padding" in response.text  # the text comes back: nothing lost


def test_request_over_the_site_limit(app_factory, start, make_invite) -> None:  # type: ignore[no-untyped-def]
    app = app_factory(HELDOUT_MAX_UPLOAD_MB=1)
    client = app.test_client()
    from heldout.platform.models import User
    from heldout.platform.services import assessments, invites

    with app.app_context():
        user = User(email="r@example.com", name="R", role="recruiter", password_hash="x")
        db.session.add(user)
        db.session.commit()
        assessment = assessments.create_assessment(
            name="A", challenge_slugs=[SLUG], time_limit_minutes=30, instructions="",
            expires_at=None, show_scores=False, created_by_id=user.id)
        created = invites.create_invite(assessment_id=assessment.id, candidate_name="C",
                                        candidate_email="c@example.org", created_by_id=user.id,
                                        secret=app.config["SECRET_KEY"], ttl_days=1, now=utcnow())
    response = client.post(f"/i/{created.token}", data={"consent": "on"})
    attempt = response.headers["Location"].split("/")[2]
    # Encoded by hand: the test client would spool a body this big to an unclosed temp file.
    boundary, body = encode_multipart(
        {"files": FileStorage(io.BytesIO(b"x" * (2 * 1024 * 1024)), "solution.py")})
    response = client.post(f"/a/{attempt}/c/{SLUG}/submit", data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert "File too large" in response.text and "1 MiB" in response.text


def test_deadline_is_enforced_by_the_server(app: Flask, client: FlaskClient, attempt: str) -> None:
    client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": CODE})
    with app.app_context():
        row = _attempt_row(app, attempt)
        row.deadline = utcnow() - timedelta(seconds=1)
        db.session.commit()
        submission_id = db.session.scalars(select(Submission.id)).one()
    late = "print('late but not lost')\n"
    response = client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": late})
    assert response.status_code == 409
    assert "Time is up" in response.text
    assert "late but not lost" in response.text
    with app.app_context():
        assert len(db.session.scalars(select(Submission)).all()) == 1
        row = _attempt_row(app, attempt)
        assert row.finish_reason == "deadline" and row.finished_at == row.deadline
    # Every candidate page now says the time is up; earlier work is still reported.
    response = client.get(f"/a/{attempt}/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/done")
    page = client.get(f"/a/{attempt}/done").text
    assert "Time is up" in page and "1 submission" in page
    assert client.get(f"/a/{attempt}/c/{SLUG}/files/public/train.csv").status_code == 409
    assert client.get(f"/a/{attempt}/submissions/{submission_id}").status_code == 200


def test_finish(app: Flask, client: FlaskClient, attempt: str) -> None:
    response = client.post(f"/a/{attempt}/finish")
    assert response.status_code == 302
    page = client.get(f"/a/{attempt}/done").text
    assert "Assessment finished" in page and "nothing submitted" in page
    response = client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": CODE})
    assert response.status_code == 409
    with app.app_context():
        assert invite_state(_attempt_row(app, attempt).invite, utcnow()) == "finished"


def test_unknown_challenge_in_an_attempt(client: FlaskClient, attempt: str) -> None:
    assert client.get(f"/a/{attempt}/c/not-there").status_code == 404


def test_the_editor_keeps_the_last_submitted_code(client: FlaskClient, attempt: str) -> None:
    mine = "# my own model\nprint('mine')\n"
    client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": mine})
    page = client.get(f"/a/{attempt}/c/{SLUG}").text
    assert "# my own model" in page
    assert "rate_by_contract" not in page
