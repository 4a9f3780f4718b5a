"""Editor events: recorded in batches through the workspace's route, refused whole when
wrong (shape, size, another attempt, a closed attempt, too many), rate-capped, on the
report's timeline with the drafts before and after a paste, and under retention."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from heldout.platform.blobs import BlobStore
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, DraftSnapshot, EditorEvent, utcnow
from heldout.platform.services import editor_events, retention
from tests.platform.conftest import NewInvite, start_attempt

SLUG = "churn-prediction"


def events_url(attempt: str, slug: str = SLUG) -> str:
    return f"/a/{attempt}/c/{slug}/editor-events"


def send(client: FlaskClient, attempt: str, events: Any, slug: str = SLUG) -> Any:
    return client.post(events_url(attempt, slug), data=json.dumps({"events": events}),
                       headers={"Content-Type": "application/json",
                                "Accept": "application/json"})


def save(client: FlaskClient, attempt: str, text: str) -> None:
    body = {"files": [{"name": "solution.py", "content": text}]}
    response = client.post(f"/a/{attempt}/c/{SLUG}/draft", data=json.dumps(body),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text


def started_ago(app: Flask, minutes: int) -> None:
    """Move the attempt's start back (the clock moved, not waited for)."""
    with app.app_context():
        attempt = db.session.scalars(select(Attempt)).one()
        attempt.started_at = utcnow() - timedelta(minutes=minutes)
        db.session.commit()


def stored(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(EditorEvent)) or 0)


def test_a_batch_is_recorded_and_the_report_shows_it_with_the_drafts_around_a_paste(
        app: Flask, client: FlaskClient, attempt: str, users: object,
        html: ModuleType) -> None:
    started_ago(app, 30)
    save(client, attempt, "import pandas as pd\n")  # the draft before
    response = send(client, attempt, [
        {"kind": "focus_lost", "ago_ms": 200_000},
        {"kind": "focus_back", "ago_ms": 20_000, "seconds": 180},
        {"kind": "idle", "ago_ms": 10_000, "seconds": 400, "file": "solution.py"},
        {"kind": "paste", "ago_ms": 0, "file": "solution.py", "chars": 1240}])
    assert response.status_code == 200, response.text
    assert response.json == {"recorded": 4}
    # The save after a paste is a snapshot however soon it comes: the draft after.
    save(client, attempt, "import pandas as pd\n" + "x = 1\n" * 200)
    # Submitted (the report's timeline is a submitted challenge's); it stays queued here.
    assert client.post(f"/a/{attempt}/c/{SLUG}/submit",
                       data={"code": "x = 1\n"}).status_code == 302
    with app.app_context():
        rows = list(db.session.scalars(select(EditorEvent).order_by(EditorEvent.at)))
        before, after = db.session.scalars(select(DraftSnapshot.id).order_by(
            DraftSnapshot.id)).all()
        attempt_id = rows[0].attempt_id
    assert [(r.kind, r.file, r.amount) for r in rows] == [
        ("focus_lost", None, 0), ("focus_back", None, 180), ("idle", "solution.py", 400),
        ("paste", "solution.py", 1240)]
    # Dated by the server's clock: the browser only said how long ago.
    assert timedelta(seconds=150) < rows[-1].at - rows[0].at < timedelta(seconds=250)

    staff = app.test_client()
    staff.post("/login", data={"email": "interviewer@example.com",
                               "password": "correct horse battery"})
    page = staff.get(f"/attempts/{attempt_id}/report").text
    tree = html.parse(page)
    lines = [li.text() for li in tree.one("ol", cls="editor-events").find_all("li")]
    clock = f"{rows[-1].at:%H:%M}"
    assert lines[-1].startswith(f"pasted 1,240 characters at {clock} UTC into solution.py")
    assert "came back to the page" in lines[1] and "after 3 min" in lines[1]
    assert lines[2].startswith("idle for 6 min 40 s")
    paste = tree.one("li", id=f"event-{rows[-1].id}")
    assert [a.attrs["href"] for a in paste.find_all("a")] == [
        f"#snapshot-{before}", f"#snapshot-{after}"]
    # Both drafts are in the playback, where the links land; the events on the chart.
    assert tree.one("li", id=f"snapshot-{before}") and tree.one("li", id=f"snapshot-{after}")
    assert tree.one("svg", cls="chart-timeline").attrs["data-events"] == "4"


def test_bad_batches_are_refused_whole(app: Flask, client: FlaskClient, attempt: str) -> None:
    started_ago(app, 30)
    paste = {"kind": "paste", "ago_ms": 0, "file": "solution.py", "chars": 10}
    refused = {
        "not JSON": client.post(events_url(attempt), data="paste!",
                                headers={"Content-Type": "text/plain"}),
        "no events": send(client, attempt, []),
        "unknown kind": send(client, attempt, [paste, {"kind": "keystroke", "ago_ms": 0}]),
        "chars as text": send(client, attempt, [{**paste, "chars": "10"}]),
        "chars true": send(client, attempt, [{**paste, "chars": True}]),
        "no file": send(client, attempt, [{**paste, "file": None}]),
        "a file not taken": send(client, attempt, [{**paste, "file": "../data/train.csv"}]),
        "before the start": send(client, attempt, [{**paste, "ago_ms": 3_500_000}]),
        "too old": send(client, attempt, [{**paste, "ago_ms": 3_600_001}]),
        "short idle": send(client, attempt, [{"kind": "idle", "ago_ms": 0, "seconds": 60}]),
        "idle past the start": send(client, attempt,
                                    [{"kind": "idle", "ago_ms": 0, "seconds": 7200}]),
        "too many": send(client, attempt, [paste] * (editor_events.MAX_BATCH + 1)),
    }
    for why, response in refused.items():
        assert response.status_code == 400, (why, response.status_code, response.text)
        assert response.mimetype == "application/problem+json", why
    assert "at most 100 are taken at once" in refused["too many"].json["detail"]
    assert "shorter than the 5 minutes" in refused["short idle"].json["detail"]
    big = client.post(events_url(attempt), data=json.dumps(
        {"events": [{**paste, "file": "x" * 40_000}]}),
        headers={"Content-Type": "application/json"})
    assert big.status_code == 413
    assert stored(app) == 0


def test_events_for_another_attempt_or_a_closed_one_are_refused(
        app: Flask, client: FlaskClient, attempt: str,
        make_invite: Callable[..., NewInvite]) -> None:
    paste = {"kind": "paste", "ago_ms": 0, "file": "solution.py", "chars": 10}
    other = app.test_client()
    start_attempt(other, make_invite("Bea Other", "bea@example.org"))
    # B's browser, A's attempt in the URL: there is no such attempt for B.
    assert send(other, attempt, [paste]).status_code == 404
    assert send(client, attempt, [paste], slug="no-such-challenge").status_code == 404
    with app.app_context():
        db.session.execute(update(Attempt).where(Attempt.public_id == attempt)
                           .values(deadline=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    closed = send(client, attempt, [paste])
    assert closed.status_code == 409
    assert stored(app) == 0


def test_batches_are_rate_capped_and_the_attempt_capped(
        app_factory: Callable[..., Flask], make_invite: Callable[..., NewInvite],
        monkeypatch: Any) -> None:
    app = app_factory(HELDOUT_EDITOR_EVENTS_LIMIT="2 per minute")
    client = app.test_client()
    with app.app_context():
        from heldout.platform.models import User
        from heldout.platform.services import assessments, invites
        from tests.platform.conftest import SECRET

        user = User(email="r@example.com", name="R", role="recruiter", password_hash="x")
        db.session.add(user)
        db.session.commit()
        made = assessments.create_assessment(
            name="Capped", challenge_slugs=[SLUG], time_limit_minutes=60, instructions="",
            expires_at=None, show_scores=False, created_by_id=user.id)
        token = invites.create_invite(
            assessment_id=made.id, candidate_name="Cy", candidate_email="cy@example.org",
            created_by_id=user.id, secret=SECRET, ttl_days=14, now=utcnow()).token
    attempt = start_attempt(client, NewInvite(0, token))
    monkeypatch.setattr(editor_events, "MAX_PER_ATTEMPT", 3)
    blur = {"kind": "focus_lost", "ago_ms": 0}
    assert send(client, attempt, [blur, blur]).status_code == 200
    full = send(client, attempt, [blur, blur])
    assert full.status_code == 400 and "at most 3 are kept" in full.json["detail"]
    limited = send(client, attempt, [blur])
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    assert stored(app) == 2


def test_retention_deletes_editor_events_past_their_period(
        app: Flask, client: FlaskClient, attempt: str, tmp_path: Path) -> None:
    assert send(client, attempt, [{"kind": "focus_lost", "ago_ms": 0}]).status_code == 200
    with app.app_context():
        db.session.execute(update(Attempt).values(finished_at=utcnow() - timedelta(days=40)))
        db.session.commit()
        blobs = BlobStore(tmp_path / "blobs")
        kept = retention.apply({"HELDOUT_RETENTION_EDITOR_EVENTS_DAYS": 60}, blobs=blobs,
                               now=utcnow())
        assert kept.removed == {}
        gone = retention.apply({"HELDOUT_RETENTION_EDITOR_EVENTS_DAYS": 30}, blobs=blobs,
                               now=utcnow())
        assert gone.removed == {"editor events": 1}
        assert db.session.scalar(select(func.count()).select_from(EditorEvent)) == 0


def test_the_consent_page_says_what_the_editor_records(
        client: FlaskClient, invite: NewInvite) -> None:
    page = client.get(invite.url, follow_redirects=True).text
    said = re.sub(r"\s+", " ", page)
    assert ("each paste into the editor (how many characters, when, and into which file; "
            "not what you pasted)") in said
    assert "when this page loses focus and when it gets it back" in said
    assert "pauses in typing of 5 minutes or more" in said
