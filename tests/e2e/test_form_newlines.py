"""A browser sends a textarea's line breaks as CRLF: the submitted code keeps the editor's LF.

Found by the browser tests: the overview said "draft saved" right after Submit whenever the
page's last draft save landed after the submission, because the submitted file (CRLF, from
the form) and the draft (LF, from the editor) never hashed alike.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from heldout.platform.extensions import db
from heldout.platform.models import Submission, User, utcnow
from heldout.platform.services import assessments, attempts, invites
from tests.platform.conftest import PASSWORD, SECRET, make_app

REPO = Path(__file__).resolve().parents[2]
SLUG = "churn-prediction"


def test_submitted_code_has_the_editor_s_line_breaks_and_matches_the_draft(tmp_path: Path) -> None:
    challenges = tmp_path / "challenges"
    shutil.copytree(REPO / "challenges" / SLUG, challenges / SLUG)
    app = make_app(tmp_path, challenges)
    with app.app_context():
        user = User(email="r@example.com", name="R", role="recruiter",
                    password_hash=generate_password_hash(PASSWORD, "pbkdf2:sha256:1000"))
        db.session.add(user)
        db.session.commit()
        assessment = assessments.create_assessment(
            name="Newlines", challenge_slugs=[SLUG], time_limit_minutes=60, instructions="",
            expires_at=None, show_scores=True, created_by_id=user.id)
        token = invites.create_invite(assessment_id=assessment.id, candidate_name="Cy",
                                      candidate_email="cy@example.org", created_by_id=user.id,
                                      secret=SECRET, ttl_days=3, now=utcnow()).token
    client = app.test_client()
    started = client.post(f"/i/{token}", data={"consent": "on"})
    match = re.search(r"/a/([^/]+)/", started.headers["Location"])
    assert match
    public_id = match.group(1)
    typed = "a = 1\nb = 2\n"
    submitted = client.post(f"/a/{public_id}/c/{SLUG}/submit",
                            data={"code": typed.replace("\n", "\r\n")})
    assert submitted.status_code == 302, submitted.text
    # The editor's last save lands after the submission, with the same text.
    saved = client.post(f"/a/{public_id}/c/{SLUG}/draft",
                        json={"files": [{"name": "solution.py", "content": typed}]})
    assert saved.status_code == 200, saved.text
    with app.app_context():
        submission = db.session.scalars(select(Submission)).one()
        assert [f.sha256 for f in submission.files] == [hashlib.sha256(typed.encode()).hexdigest()]
        attempt = attempts.get_attempt(public_id)
        card = attempts.challenge_statuses(attempt)[0]
        assert card.draft_saved_at is None, "a draft equal to the submission is not unsubmitted"
        db.engine.dispose()
