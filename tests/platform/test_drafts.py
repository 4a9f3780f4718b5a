"""Drafts: autosave to the server, restore on reload and in another browser of the attempt,
refused to anyone else, size caps, rate limit, CSRF, bounded snapshots, kept across a restart."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from heldout.platform.app import create_app
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, Draft, DraftSnapshot, utcnow
from heldout.platform.services import drafts
from heldout.platform.services.catalogue import get_bundles
from tests.platform.conftest import NewInvite

SLUG = "churn-prediction"
CODE = "import pandas as pd\nprint('draft <b>one</b>')\n"


def draft_url(attempt: str) -> str:
    return f"/a/{attempt}/c/{SLUG}/draft"


def save(client: FlaskClient, attempt: str, files: dict[str, str], **headers: str) -> Any:
    body = {"files": [{"name": name, "content": text} for name, text in files.items()]}
    return client.post(draft_url(attempt), data=json.dumps(body),
                       headers={"Content-Type": "application/json", "Accept": "application/json",
                                **headers})


def textarea(page: str) -> str:
    match = re.search(r'<textarea id="code" name="code"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, page
    return match.group(1)


def test_autosave_then_reload_opens_the_draft(client: FlaskClient, attempt: str) -> None:
    response = save(client, attempt, {"solution.py": CODE})
    assert response.status_code == 200, response.text
    assert response.json is not None and response.json["changed"] is True
    assert response.json["saved_at"] and response.json["files"] == ["solution.py"]

    page = client.get(f"/a/{attempt}/c/{SLUG}").text
    # Escaped in the page, the candidate's text exactly as typed once unescaped.
    assert textarea(page) == "import pandas as pd\nprint(&#39;draft &lt;b&gt;one&lt;/b&gt;&#39;)\n"
    assert "Draft saved at" in page
    assert 'data-saved-at="20' in page


def test_saving_the_same_text_again_is_not_newer_work(app: Flask, client: FlaskClient,
                                                      attempt: str) -> None:
    save(client, attempt, {"solution.py": CODE})
    with app.app_context():
        first = db.session.scalars(select(Draft.updated_at)).one()
    again = save(client, attempt, {"solution.py": CODE})
    assert again.status_code == 200 and again.json is not None
    assert again.json["changed"] is False
    with app.app_context():
        assert db.session.scalars(select(Draft.updated_at)).one() == first


def test_several_files_and_a_removed_one(app: Flask, client: FlaskClient, attempt: str) -> None:
    assert save(client, attempt, {"solution.py": CODE, "helpers.py": "X = 1\n"}).status_code == 200
    page = client.get(f"/a/{attempt}/c/{SLUG}").text
    assert 'name="extra_name" value="helpers.py"' in page and "X = 1" in page
    assert save(client, attempt, {"solution.py": CODE}).status_code == 200
    with app.app_context():
        assert db.session.scalars(select(Draft.name)).all() == ["solution.py"]


def test_another_browser_of_the_attempt_gets_the_servers_draft(app: Flask, client: FlaskClient,
                                                               attempt: str) -> None:
    save(client, attempt, {"solution.py": CODE})
    cookie = client.get_cookie("session")
    assert cookie is not None
    other = app.test_client()  # nothing of the first browser but its session
    other.set_cookie("session", cookie.value)
    loaded = other.get(draft_url(attempt), headers={"Accept": "application/json"})
    assert loaded.status_code == 200 and loaded.json is not None
    assert loaded.json["source"] == "draft"
    assert loaded.json["files"] == [{"name": "solution.py", "content": CODE}]


def test_before_any_draft_the_editor_opens_the_starter(client: FlaskClient, attempt: str,
                                                       challenges_dir: Any) -> None:
    loaded = client.get(draft_url(attempt), headers={"Accept": "application/json"}).json
    assert loaded is not None and loaded["source"] == "starter" and loaded["saved_at"] is None
    starter = (challenges_dir / SLUG / "starter" / "solution.py").read_text()
    assert loaded["files"] == [{"name": "solution.py", "content": starter}]


def test_another_candidate_can_neither_read_nor_write(app: Flask, client: FlaskClient,
                                                      attempt: str, make_invite: Callable[..., NewInvite],
                                                      start: Callable[[FlaskClient, NewInvite], str]
                                                      ) -> None:
    save(client, attempt, {"solution.py": CODE})
    intruder = app.test_client()
    start(intruder, make_invite("Ivo Other", "ivo@example.org"))
    assert intruder.get(draft_url(attempt), headers={"Accept": "application/json"}).status_code == 404
    assert save(intruder, attempt, {"solution.py": "stolen"}).status_code == 404
    anonymous = app.test_client()
    assert save(anonymous, attempt, {"solution.py": "stolen"}).status_code == 404
    with app.app_context():
        assert db.session.scalars(select(Draft.content)).all() == [CODE]


def test_caps_refuse_and_keep_the_last_good_draft(app: Flask, client: FlaskClient,
                                                  attempt: str) -> None:
    save(client, attempt, {"solution.py": CODE})
    too_big = save(client, attempt, {"solution.py": "x" * (262144 + 1)})  # the bundle's max_bytes
    assert too_big.status_code == 413, too_big.text
    assert too_big.json is not None and "262,144" in too_big.json["detail"]
    wrong = save(client, attempt, {"solution.py": CODE, "data.csv": "a,b\n"})
    assert wrong.status_code == 400 and wrong.json is not None
    assert "data.csv is not a file this challenge accepts" in wrong.json["detail"]
    many = save(client, attempt, {"solution.py": CODE, **{f"m{i}.py": "" for i in range(10)}})
    assert many.status_code == 400 and many.json is not None and "at most 10" in many.json["detail"]
    sneaky = save(client, attempt, {"solution.py": CODE, "../escape.py": ""})
    assert sneaky.status_code == 400
    no_entry = save(client, attempt, {"helpers.py": "X = 1"})
    assert no_entry.status_code == 400
    garbled = client.post(draft_url(attempt), data="{not json", headers={
        "Content-Type": "application/json", "Accept": "application/json"})
    assert garbled.status_code == 400
    with app.app_context():
        assert db.session.scalars(select(Draft.content)).all() == [CODE]


def test_autosave_is_rate_limited(app: Flask, client: FlaskClient, attempt: str) -> None:
    app.config["HELDOUT_AUTOSAVE_LIMIT"] = "2 per minute"  # read on each request
    assert save(client, attempt, {"solution.py": "a"}).status_code == 200
    assert save(client, attempt, {"solution.py": "b"}).status_code == 200
    refused = save(client, attempt, {"solution.py": "c"})
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    with app.app_context():
        assert db.session.scalars(select(Draft.content)).all() == ["b"]


def test_autosave_needs_the_csrf_token_in_a_header_or_the_beacons_form(
        app: Flask, client: FlaskClient, invite: NewInvite) -> None:
    app.config["WTF_CSRF_ENABLED"] = True  # the production setting, checked on each request
    page = client.get(invite.url, follow_redirects=True).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    response = client.post("/invite", data={"consent": "on", "csrf_token": token.group(1)})
    assert response.status_code == 302
    attempt = response.headers["Location"].split("/")[2]
    workspace = client.get(f"/a/{attempt}/c/{SLUG}").text
    header_token = re.search(r'data-csrf="([^"]+)"', workspace)
    assert header_token

    assert save(client, attempt, {"solution.py": "no token"}).status_code == 400
    assert save(client, attempt, {"solution.py": "bad"}, **{"X-CSRFToken": "forged"}).status_code == 400
    assert save(client, attempt, {"solution.py": "ok"},
                **{"X-CSRFToken": header_token.group(1)}).status_code == 200
    beacon = client.post(draft_url(attempt), data={
        "csrf_token": header_token.group(1),
        "payload": json.dumps({"files": [{"name": "solution.py", "content": "on leaving"}]})})
    assert beacon.status_code == 200, beacon.text
    with app.app_context():
        assert db.session.scalars(select(Draft.content)).all() == ["on leaving"]


def test_no_draft_is_kept_after_the_deadline(app: Flask, client: FlaskClient, attempt: str) -> None:
    save(client, attempt, {"solution.py": CODE})
    with app.app_context():
        db.session.execute(update(Attempt).values(deadline=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    late = save(client, attempt, {"solution.py": "after the bell"})
    assert late.status_code == 409
    with app.app_context():
        assert db.session.scalars(select(Draft.content)).all() == [CODE]


def test_snapshots_are_spaced_and_bounded(app: Flask, client: FlaskClient, attempt: str) -> None:
    with app.app_context():
        start = utcnow()
        for second in range(0, 100, 5):  # a save every 5 s for 100 s
            drafts.save_drafts(attempt_public_id=attempt, challenge_slug=SLUG,
                               files=[drafts.DraftFile("solution.py", f"v{second}")],
                               bundles=get_bundles(), now=start + timedelta(seconds=second))
        taken = db.session.scalars(select(DraftSnapshot.content).order_by(DraftSnapshot.id)).all()
    # One per 30 s at most: at 0, 30, 60 and 90 s.
    assert taken == ["v0", "v30", "v60", "v90"]


def test_snapshot_history_keeps_the_newest(app: Flask, client: FlaskClient, attempt: str,
                                           monkeypatch: Any) -> None:
    monkeypatch.setattr(drafts, "MAX_SNAPSHOTS", 3)
    with app.app_context():
        start = utcnow()
        for step in range(6):
            drafts.save_drafts(attempt_public_id=attempt, challenge_slug=SLUG,
                               files=[drafts.DraftFile("solution.py", f"v{step}")],
                               bundles=get_bundles(), now=start + timedelta(minutes=step))
        taken = db.session.scalars(select(DraftSnapshot.content).order_by(DraftSnapshot.id)).all()
    assert taken == ["v3", "v4", "v5"]


def test_rotating_file_names_cannot_store_every_autosave(app: Flask, client: FlaskClient,
                                                         attempt: str, monkeypatch: Any) -> None:
    """Spacing and cap were per file name: a new name at each autosave (one at most every
    1.5 s under the default limit) stored every one, about 270 MB an hour per attempt."""
    monkeypatch.setattr(drafts, "MAX_SNAPSHOTS", 6)
    with app.app_context():
        start = utcnow()
        for step in range(40):  # a save every 5 s for 200 s, a new helper's name each time
            drafts.save_drafts(attempt_public_id=attempt, challenge_slug=SLUG,
                               files=[drafts.DraftFile("solution.py", f"v{step}"),
                                      drafts.DraftFile(f"helper_{step}.py", "X" * 1000)],
                               bundles=get_bundles(), now=start + timedelta(seconds=5 * step))
        taken = db.session.execute(select(DraftSnapshot.name, DraftSnapshot.taken_at)
                                   .order_by(DraftSnapshot.id)).all()
    # At most one save every 30 s is kept (each of its files), then the newest 6 rows.
    times = sorted({when for _, when in taken})
    assert all((b - a) >= drafts.SNAPSHOT_EVERY for a, b in itertools.pairwise(times))
    assert len(taken) == 6
    assert {name for name, _ in taken} == {"solution.py", "helper_30.py", "helper_36.py",
                                           "helper_24.py"}


def test_drafts_survive_a_restart(app: Flask, client: FlaskClient, attempt: str) -> None:
    save(client, attempt, {"solution.py": CODE})
    cookie = client.get_cookie("session")
    assert cookie is not None
    settings = {key: app.config[key] for key in (
        "HELDOUT_ENV", "HELDOUT_DATA_DIR", "HELDOUT_CHALLENGES_DIR", "HELDOUT_QUEUE_URL",
        "HELDOUT_BASE_URL", "WTF_CSRF_ENABLED", "HELDOUT_DATABASE_URL")}
    settings["HELDOUT_SECRET_KEY"] = app.config["SECRET_KEY"]
    with app.app_context():
        db.engine.dispose()
    restarted = create_app(settings)  # a new process's app on the same database
    browser = restarted.test_client()
    browser.set_cookie("session", cookie.value)
    page = browser.get(f"/a/{attempt}/c/{SLUG}")
    assert page.status_code == 200
    assert "draft &lt;b&gt;one&lt;/b&gt;" in textarea(page.text)
    with restarted.app_context():
        db.engine.dispose()


def test_the_overview_says_draft_saved_until_that_work_is_submitted(client: FlaskClient,
                                                                   attempt: str) -> None:
    assert "not started" in client.get(f"/a/{attempt}/").text
    save(client, attempt, {"solution.py": CODE})
    assert "draft saved" in client.get(f"/a/{attempt}/").text
    assert client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": CODE}).status_code == 302
    save(client, attempt, {"solution.py": CODE})  # the page saves what was just submitted
    page = client.get(f"/a/{attempt}/").text
    assert "submitted" in page and "draft saved" not in page
    save(client, attempt, {"solution.py": CODE + "# more\n"})
    assert "draft saved" in client.get(f"/a/{attempt}/").text


def test_the_editors_files_are_submitted_together(app: Flask, client: FlaskClient,
                                                  attempt: str) -> None:
    response = client.post(f"/a/{attempt}/c/{SLUG}/submit", data={
        "code_name": "solution.py", "code": "from helpers import X\nprint(X)\n",
        "extra_name": ["helpers.py"], "extra_code": ["X = 41 + 1\n"]})
    assert response.status_code == 302, response.text
    with app.app_context():
        from heldout.platform.models import Submission

        submission = db.session.scalars(select(Submission)).one()
        assert sorted(f.name for f in submission.files) == ["helpers.py", "solution.py"]
    refused = client.post(f"/a/{attempt}/c/{SLUG}/submit", data={
        "code_name": "solution.py", "code": "print(1)\n",
        "extra_name": ["notes.csv"], "extra_code": ["a,b\n"]})
    assert refused.status_code == 400
    # The refusal brings the page back with both files as they were typed.
    assert 'name="extra_name" value="notes.csv"' in refused.text and "a,b" in refused.text
