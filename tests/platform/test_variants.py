"""Per-candidate variants on the platform: seeds, downloads, grading and the report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.graders.bundle import Bundle
from heldout.graders.result import Check
from heldout.graders.result import Evaluation as GradedResult
from heldout.graders.variants import materialise_variant
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, Challenge, Submission
from heldout.platform.services import catalogue, grading
from heldout.platform.tasks import grading_settings

SLUG = "churn-prediction"


def _row(public_id: str) -> Attempt:
    attempt = db.session.scalar(select(Attempt).where(Attempt.public_id == public_id))
    assert attempt is not None
    return attempt


def _download(client: FlaskClient, attempt: str, name: str = "train.csv") -> bytes:
    with client.get(f"/a/{attempt}/c/{SLUG}/files/public/{name}") as response:
        assert response.status_code == 200
        data: bytes = response.data
        return data


def test_each_attempt_downloads_its_own_variant(app: Flask, client: FlaskClient, attempt: str,
                                                make_invite: Callable[..., Any],
                                                start: Callable[..., str]) -> None:
    other_client = app.test_client()
    other = start(other_client, make_invite("Dan Candidate", "dan@example.org"))
    with app.app_context():
        seed, other_seed = _row(attempt).variant_seed, _row(other).variant_seed
        assert seed is not None and other_seed is not None and seed != other_seed
        challenge = db.session.scalars(select(Challenge).where(Challenge.slug == SLUG)).one()
        bundle = catalogue.get_bundles().for_challenge(challenge)
        expected = materialise_variant(bundle, seed, catalogue.get_bundles().variants_dir)
    mine = _download(client, attempt)
    assert mine == (expected.public_dir / "train.csv").read_bytes()
    assert mine != _download(other_client, other)
    assert _download(client, attempt, "test.csv") == (expected.public_dir / "test.csv").read_bytes()


def test_an_attempt_from_before_variants_keeps_the_committed_data(
        app: Flask, client: FlaskClient, attempt: str, challenges_dir: Path) -> None:
    with app.app_context():
        _row(attempt).variant_seed = None
        db.session.commit()
    assert _download(client, attempt) == (challenges_dir / SLUG / "public/train.csv").read_bytes()


def _recording(seen: list[Bundle]) -> Callable[[Bundle, Path], GradedResult]:
    def evaluate(bundle: Bundle, submission: Path) -> GradedResult:
        seen.append(bundle)
        return GradedResult(challenge=bundle.slug, version=bundle.version, status="graded",
                            score=70.0, checks=(Check("roc_auc", "metric", True, 70, 100, "ok"),))
    return evaluate


def test_the_worker_grades_with_the_attempts_variant_and_the_report_shows_it(
        app: Flask, client: FlaskClient, attempt: str, users: Any, html: ModuleType) -> None:
    downloaded = _download(client, attempt)
    client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": "print('hi')\n"})
    seen: list[Bundle] = []
    with app.app_context():
        submission_id = db.session.scalars(select(Submission.id)).one()
        outcome = grading.grade_submission(submission_id, grading_settings(),
                                           evaluate=_recording(seen))
        row = _row(attempt)
        seed, attempt_id = row.variant_seed, row.id
    assert outcome.status == "graded"
    (bundle,) = seen
    assert bundle.variant is not None and bundle.variant.seed == seed
    # The data graded on is the data the candidate downloaded, answers included.
    assert (bundle.public_dir / "train.csv").read_bytes() == downloaded
    assert bundle.hidden_dir == bundle.variant.hidden_dir
    assert (bundle.hidden_dir / "labels.csv").read_bytes() != \
        (bundle.root / "hidden" / "labels.csv").read_bytes()

    staff = app.test_client()
    staff.post("/login", data={"email": "interviewer@example.com",
                               "password": "correct horse battery"})
    tree = html.parse(staff.get(f"/attempts/{attempt_id}/report").text)
    shown = tree.one(cls="graded-variant")
    assert shown.attrs["data-seed"] == str(seed)
    assert bundle.variant.digest.removeprefix("sha256:")[:12] in shown.text()
