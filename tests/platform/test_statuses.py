"""Status columns hold the scoring enums as their plain stored strings (no migration of
the values), come back as members, and refuse a value no enum knows."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from heldout.platform.extensions import db
from heldout.platform.models import Assessment, Submission
from heldout.platform.services.scoring import Counting, GradingStatus


def test_statuses_are_stored_as_plain_strings_and_read_as_members(
        app: Flask, assessment_id: int) -> None:
    with app.app_context():
        assessment = db.session.get(Assessment, assessment_id)
        assert assessment is not None and assessment.counting is Counting.LAST
        assessment.counting = Counting.BEST
        db.session.commit()
        stored = db.session.execute(text("SELECT counting FROM assessment")).scalar_one()
        assert stored == "best" and type(stored) is str
        db.session.expire_all()
        again = db.session.get(Assessment, assessment_id)
        assert again is not None and again.counting is Counting.BEST


def test_an_unknown_status_is_refused(app: Flask, client: FlaskClient, attempt: str) -> None:
    response = client.post(f"/a/{attempt}/c/churn-prediction/submit", data={"code": "print(1)\n"})
    assert response.status_code == 302
    with app.app_context():
        submission = db.session.scalars(select(Submission)).one()
        assert submission.status is GradingStatus.QUEUED
        submission.status = "graded "  # type: ignore[assignment]
        with pytest.raises(StatementError, match="is not a valid GradingStatus"):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalars(select(Submission.status)).one() is GradingStatus.QUEUED
