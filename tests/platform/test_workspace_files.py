"""The workspace's files: a tab for each file the challenge names (an optional build step
too), and an optional file left empty is neither saved nor submitted."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.platform.extensions import db
from heldout.platform.models import Submission, User, utcnow
from heldout.platform.services import assessments, invites
from tests.platform.conftest import REPO, SECRET, NewInvite, make_app, start_attempt


@dataclass(frozen=True)
class Opened:
    app: Flask
    client: FlaskClient
    attempt: str
    slug: str


def open_challenge(tmp_path: Path, slug: str) -> Opened:
    """A fresh app with the one bundle, an assessment of it and a started attempt."""
    challenges = tmp_path / "challenges"
    shutil.copytree(REPO / "challenges" / slug, challenges / slug)
    app = make_app(tmp_path / "site", challenges)
    with app.app_context():
        user = User(email="rec@example.com", name="Rec", role="recruiter", password_hash="x")
        db.session.add(user)
        db.session.commit()
        assessment = assessments.create_assessment(
            name="Files", challenge_slugs=[slug], time_limit_minutes=30, instructions="",
            expires_at=None, show_scores=True, created_by_id=user.id)
        made = invites.create_invite(assessment_id=assessment.id, candidate_name="F",
                                     candidate_email="f@example.org", created_by_id=user.id,
                                     secret=SECRET, ttl_days=1, now=utcnow())
        opened = NewInvite(made.invite.id, made.token)
    client = app.test_client()
    return Opened(app, client, start_attempt(client, opened), slug)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Opened]:
    opened = open_challenge(tmp_path, "churn-service")
    yield opened
    with opened.app.app_context():
        db.engine.dispose()


def test_the_optional_build_step_the_bundle_names_has_a_tab(service: Opened) -> None:
    page = service.client.get(f"/a/{service.attempt}/c/{service.slug}").text
    roles = re.findall(r'class="editor-file js-editor-file" data-name="([^"]+)" data-role="(\w+)"',
                       page)
    assert roles == [("app.py", "entrypoint"), ("train.py", "optional")]
    assert '<input type="hidden" name="optional_name" value="train.py">' in page


def test_an_empty_optional_file_is_not_submitted_and_a_written_one_is(service: Opened) -> None:
    url = f"/a/{service.attempt}/c/{service.slug}/submit"
    form = {"code_name": "app.py", "code": "app = None\n", "optional_name": ["train.py"]}
    for train in ("  \n", "print('trained')\n"):
        response = service.client.post(url, data={**form, "extra_name": ["train.py"],
                                                   "extra_code": [train]})
        assert response.status_code == 302, response.text
    with service.app.app_context():
        submitted = [sorted(f.name for f in s.files)
                     for s in db.session.scalars(select(Submission).order_by(Submission.id))]
    assert submitted == [["app.py"], ["app.py", "train.py"]]
