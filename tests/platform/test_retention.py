"""Retention: each kind of data deleted once past its period, the rest untouched."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from heldout.platform.blobs import BlobStore
from heldout.platform.extensions import db
from heldout.platform.models import (
    AiMessage,
    AuditEvent,
    Draft,
    DraftSnapshot,
    EvaluationRecord,
    Invite,
    Submission,
    SubmissionFile,
    utcnow,
)
from heldout.platform.services import retention
from tests.platform import review_seed as seed
from tests.platform.conftest import Auth, Users, make_app

SLUG = "churn-prediction"
PERIODS = {"HELDOUT_RETENTION_DRAFTS_DAYS": 30, "HELDOUT_RETENTION_CODE_DAYS": 60,
           "HELDOUT_RETENTION_AI_DAYS": 45, "HELDOUT_RETENTION_CANDIDATES_DAYS": 365}


@pytest.fixture
def app(tmp_path: Path, challenges_dir: Path) -> Iterator[Flask]:
    app = make_app(tmp_path, challenges_dir, **PERIODS)
    yield app
    with app.app_context():
        db.engine.dispose()


def _world(app: Flask, assessment_id: int, recruiter: int) -> dict[str, int]:
    """Candidates whose attempts ended 400, 90 and 5 days ago, each with drafts, a snapshot
    and a submitted file (one file shared by all); an invite never used that expired 400
    days ago, and one still open."""
    now = utcnow()
    blobs = BlobStore(Path(app.config["HELDOUT_DATA_DIR"]) / "blobs")
    shared = blobs.put(b"import pandas as pd\n")
    ids: dict[str, int] = {}
    with app.app_context():
        for index, (name, days) in enumerate((("Old Olga", 400), ("Mid Mia", 90),
                                              ("New Nia", 5))):
            attempt_id = seed.candidate(assessment_id, recruiter, name,
                                        {SLUG: [seed.Graded(70.0, 10)]},
                                        started=now - timedelta(days=days), index=index)
            db.session.flush()
            submission = db.session.scalars(select(Submission).where(
                Submission.attempt_id == attempt_id)).one()
            own = blobs.put(f"# {name}'s own code\n".encode())
            db.session.add_all([
                SubmissionFile(submission_id=submission.id, name="solution.py", sha256=own,
                               size=20),
                SubmissionFile(submission_id=submission.id, name="common.py", sha256=shared,
                               size=20),
                Draft(attempt_id=attempt_id, challenge_id=submission.challenge_id,
                      name="solution.py", content=f"# {name} draft"),
                DraftSnapshot(attempt_id=attempt_id, challenge_id=submission.challenge_id,
                              name="solution.py", content=f"# {name} snapshot"),
                AiMessage(attempt_id=attempt_id, challenge_id=submission.challenge_id,
                          role="candidate", content=f"{name} asks the assistant")])
            ids[name] = attempt_id
        for name, expired_days in (("Gone Gus", 400), ("Open Ola", -7)):
            invite = Invite(assessment_id=assessment_id, candidate_name=name,
                            candidate_email=f"{name.split()[0].lower()}@example.org",
                            token_hash=name.ljust(64, "0")[:64], created_by_id=recruiter,
                            created_at=now - timedelta(days=expired_days + 14),
                            expires_at=now - timedelta(days=expired_days))
            db.session.add(invite)
        db.session.commit()
    return ids


def _names(app: Flask) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(Invite.candidate_name)))


def _count(app: Flask, model: type, **where: int) -> int:
    with app.app_context():
        query = select(func.count()).select_from(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return int(db.session.scalar(query) or 0)


def test_each_kind_of_data_goes_once_past_its_period(app: Flask, users: Users,
                                                      assessment_id: int) -> None:
    ids = _world(app, assessment_id, users.recruiter)
    blobs = BlobStore(Path(app.config["HELDOUT_DATA_DIR"]) / "blobs")
    with app.app_context():
        counted = retention.apply(app.config, blobs=blobs, now=utcnow(), dry_run=True)
    # A dry run counts and deletes nothing.
    assert counted.removed == {"candidates": 2, "drafts": 1, "draft snapshots": 1,
                               "AI messages": 1, "submitted files": 2}
    assert len(_names(app)) == 5
    with app.app_context():
        done = retention.apply(app.config, blobs=blobs, now=utcnow())
    assert done.removed == counted.removed

    # 400 days: the candidate and the unused expired invite are erased entirely.
    assert _names(app) == ["Mid Mia", "New Nia", "Open Ola"]
    # 90 days: drafts and code gone, the score and its report stay.
    mid = ids["Mid Mia"]
    assert _count(app, Draft, attempt_id=mid) == 0
    assert _count(app, DraftSnapshot, attempt_id=mid) == 0
    assert _count(app, AiMessage, attempt_id=mid) == 0  # the AI transcript too (45 days)
    with app.app_context():
        submission = db.session.scalars(select(Submission).where(
            Submission.attempt_id == mid)).one()
        assert submission.files == []
        assert db.session.scalars(select(EvaluationRecord).where(
            EvaluationRecord.submission_id == submission.id)).one().score == 70.0
    # 5 days: untouched; the file it shares with the others is still stored.
    new = ids["New Nia"]
    assert _count(app, Draft, attempt_id=new) == 1
    assert _count(app, DraftSnapshot, attempt_id=new) == 1
    assert _count(app, AiMessage, attempt_id=new) == 1
    with app.app_context():
        kept = list(db.session.scalars(select(SubmissionFile.sha256)))
    assert len(kept) == 2 and all(blobs.get(digest) for digest in kept)
    texts = [p.read_bytes() for p in blobs.root.rglob("*") if p.is_file()]
    assert not any(b"Old Olga" in t or b"Mid Mia" in t for t in texts)
    # The run is in the audit log; a second run finds nothing.
    assert _count(app, AuditEvent) >= 2
    with app.app_context():
        assert retention.apply(app.config, blobs=blobs, now=utcnow()).total == 0
        assert len(retention.recent_runs()) == 1


def test_periods_of_zero_keep_everything(tmp_path: Path, challenges_dir: Path) -> None:
    app = make_app(tmp_path, challenges_dir)
    with app.app_context():
        from heldout.platform.models import User
        from heldout.platform.services import assessments

        user = User(email="r@example.com", name="R", role="recruiter", password_hash="x")
        db.session.add(user)
        db.session.commit()
        assessment = assessments.create_assessment(
            name="Kept", challenge_slugs=[SLUG], time_limit_minutes=60, instructions="",
            expires_at=None, show_scores=True, created_by_id=user.id)
        assessment_id, recruiter = assessment.id, user.id
    _world(app, assessment_id, recruiter)
    with app.app_context():
        run = retention.apply(app.config, now=utcnow(),
                              blobs=BlobStore(Path(app.config["HELDOUT_DATA_DIR"]) / "blobs"))
        db.engine.dispose()
    assert run.total == 0 and len(_names(app)) == 5


def test_the_admin_page_shows_periods_and_runs_it(app: Flask, users: Users,
                                                  assessment_id: int, auth: Auth) -> None:
    _world(app, assessment_id, users.recruiter)
    auth.login("admin")
    client = auth.client
    page = client.get("/admin/retention")
    assert page.status_code == 200
    assert "365 days" in page.text and "2 candidates" in page.text
    done = client.post("/admin/retention")
    assert done.status_code == 200 and "Removed 2 candidates" in done.text
    assert "Nothing: the next run would delete nothing." in done.text
    auth.logout()
    auth.login("recruiter")
    assert client.post("/admin/retention").status_code == 403
