"""ML integrity on the platform: the public-run budget, the integrity run queued after
grading, and the report's integrity lines (staff only; candidates never see them).

The graders' side (slices, the probing attack, the statistics, the perturbed re-run in the
real sandbox) is tested in tests/graders/test_ml_integrity.py; here the evaluators are
stand-ins returning what those produce, so the platform's handling is what is under test.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select

from heldout.graders.bundle import Bundle
from heldout.graders.kinds.model_training import PREDICTIONS_ARTEFACT
from heldout.graders.kinds.model_training.integrity import COPY_MIN_Z, error_overlap
from heldout.graders.kinds.model_training.rerun import (
    COMPARED,
    FOLLOW,
    LABELS_KEY,
    ROW_ERRORS,
    ROWS,
    STUCK,
)
from heldout.graders.result import Check, Evaluation, RunStats
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, IntegrityRun, PublicRun, Submission, utcnow
from heldout.platform.queue import get_queue
from heldout.platform.services import grading, integrity, jobs, public_runs, similarity
from heldout.platform.services.catalogue import get_bundles
from heldout.platform.services.scoring import GradingStatus
from heldout.platform.services.submissions import SubmittedFile
from heldout.platform.tasks import grading_settings
from tests.platform.conftest import NewInvite, start_attempt

SLUG = "churn-prediction"
CODE = "print('model')\n"
ROWS_COMPARED = 200
RUN = RunStats(exit_code=0, timed_out=False, oom_killed=False, wall_seconds=1.0,
               peak_memory_mb=50, output_bytes=100, stdout_tail="", stderr_tail="")


def graded(bundle: Bundle, submission: Path) -> Evaluation:
    """A graded model_training evaluation keeping its predictions, as the kind does."""
    return Evaluation(bundle.slug, bundle.version, "graded", 80.0,
                      checks=(Check("roc_auc", "metric", True, 80, 100, "roc_auc 0.84"),),
                      metrics={"roc_auc": 0.8412}, run=RUN,
                      artefacts={PREDICTIONS_ARTEFACT: b"customer_id,churn_probability\n"})


def public_eval(bundle: Bundle, submission: Path, *, split: str) -> Evaluation:
    return Evaluation(bundle.slug, bundle.version, "graded", 100.0,
                      checks=(Check("roc_auc", "metric", True, 100, 100, "roc_auc 0.91"),),
                      metrics={"roc_auc": 0.91}, run=RUN, split="public")


def rerun_result(mask: int, *, follow: float, stuck: float):  # type: ignore[no-untyped-def]
    """An integrity evaluator returning what ``rerun_perturbed`` returns."""
    def rerun(bundle: Bundle, submission: Path, original: bytes, *, seed: int) -> Evaluation:
        assert original == b"customer_id,churn_probability\n"  # the kept predictions
        assert (submission / "solution.py").read_text() == CODE
        return Evaluation(bundle.slug, bundle.version, "graded", 0.0,
                          checks=(Check("run", "run", True, 0, 0, "finished"),),
                          metrics={FOLLOW: follow, STUCK: stuck, COMPARED: 300,
                                   ROWS: ROWS_COMPARED}, run=RUN,
                          artefacts={LABELS_KEY: b"k" * 64, ROW_ERRORS: f"{mask:x}".encode()})
    return rerun


def _submit_and_grade(app: Flask, client: FlaskClient, attempt: str) -> int:
    assert client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": CODE}).status_code == 302
    with app.app_context():
        submission_id = db.session.scalars(select(Submission.id).order_by(
            Submission.id.desc())).first()
        assert submission_id is not None
        outcome = grading.grade_submission(submission_id, grading_settings(), evaluate=graded)
        # The integrity run is queued once the grade is committed: off the candidate's path
        # (beside the similarity check every graded submission gets).
        then = dict(outcome.then)
        assert set(then) == {integrity.INTEGRITY_RUNS.kind, similarity.SIMILARITY.kind}
        return then[integrity.INTEGRITY_RUNS.kind]


def _integrity(app: Flask, run_id: int, rerun: object) -> jobs.JobOutcome:
    with app.app_context():
        return jobs.run(integrity.IntegrityJob(rerun), run_id,  # type: ignore[arg-type]
                        grading_settings())


def _staff(app: Flask) -> FlaskClient:
    staff = app.test_client()
    staff.post("/login", data={"email": "interviewer@example.com",
                               "password": "correct horse battery"})
    return staff


def test_public_run_budget_is_enforced_and_shown(app: Flask, client: FlaskClient,
                                                 attempt: str, users: object) -> None:
    page = client.get(f"/a/{attempt}/c/{SLUG}").text
    assert "20 of 20 public check runs left" in page  # the model_training default
    with app.app_context():
        for _ in range(20):
            run = public_runs.request_public_run(
                attempt_public_id=attempt, challenge_slug=SLUG,
                files=[SubmittedFile("solution.py", CODE.encode())], blobs=grading_settings().blobs,
                queue=get_queue(), bundles=get_bundles(), now=utcnow())
            public_runs.run_public_checks(run.id, grading_settings(), evaluate=public_eval)
        # A run a platform error ended for good is given back.
        failed = db.session.scalars(select(PublicRun).order_by(PublicRun.id)).first()
        assert failed is not None
        failed.status, failed.retry_at = GradingStatus.INTERNAL_ERROR, None
        db.session.commit()
    assert "1 of 20 public check runs left" in client.get(f"/a/{attempt}/c/{SLUG}").text
    with app.app_context():
        again = db.session.scalars(select(PublicRun).order_by(PublicRun.id)).first()
        assert again is not None
        again.status = GradingStatus.GRADED
        db.session.commit()
    refused = client.post(f"/a/{attempt}/c/{SLUG}/public-run", data={"code": CODE})
    assert refused.status_code == 429
    assert "allows 20 public check runs per attempt, and all of them are used" in refused.text
    assert "0 of 20 public check runs left" in refused.text
    assert str(escape(CODE.strip())) in refused.text  # the code stays in the editor
    with app.app_context():
        assert db.session.scalar(select(PublicRun).where(PublicRun.status == "queued")) is None


def test_report_shows_gap_and_signals_to_staff_only(
        app: Flask, client: FlaskClient, attempt: str, users: object,
        make_invite: Callable[..., NewInvite], html: ModuleType) -> None:
    # Cara: one public run, then a graded submission whose predictions ignore the inputs.
    assert client.post(f"/a/{attempt}/c/{SLUG}/public-run", data={"code": CODE}).status_code == 302
    with app.app_context():
        run_id = db.session.scalars(select(PublicRun.id)).one()
        public_runs.run_public_checks(run_id, grading_settings(), evaluate=public_eval)
    copied = sum(1 << i for i in range(0, ROWS_COMPARED, 5))  # 40 wrong rows of 200
    cara = _submit_and_grade(app, client, attempt)
    assert _integrity(app, cara, rerun_result(copied, follow=0.03, stuck=1.0)).status == "graded"

    # Dan, another candidate of the assessment, made exactly Cara's mistakes; Eve her own.
    dan_client, eve_client = app.test_client(), app.test_client()
    dan_attempt = start_attempt(dan_client, make_invite("Dan Other", "dan@example.org"))
    dan = _submit_and_grade(app, dan_client, dan_attempt)
    assert _integrity(app, dan, rerun_result(copied, follow=0.97, stuck=0.02)).status == "graded"
    eve_attempt = start_attempt(eve_client, make_invite("Eve Honest", "eve@example.org"))
    own = sum(1 << i for i in range(2, ROWS_COMPARED, 5))  # as many mistakes, none shared
    eve = _submit_and_grade(app, eve_client, eve_attempt)
    assert _integrity(app, eve, rerun_result(own, follow=0.95, stuck=0.01)).status == "graded"

    with app.app_context():
        ids = {a.invite.candidate_name: a.id for a in db.session.scalars(select(Attempt))}
        stored = db.session.get(IntegrityRun, cara)
        assert stored is not None and stored.row_errors == f"{copied:x}"
    staff = _staff(app)
    page = staff.get(f"/attempts/{ids['Cara Candidate']}/report").text
    tree = html.parse(page)
    box = tree.one(cls="integrity")
    text = box.text()
    # The gap: the public run's (rounded) metric beside the final one, and the drop.
    assert "Public vs final roc_auc" in text and "0.91 on the public slice" in text
    assert "0.8412 final, on the private slice" in text and "0.0688 worse" in text
    signals = [p.text() for p in box.find_all("p", cls="integrity-signal")]
    assert len(signals) == 2, signals
    assert "Review suggested" in signals[0]
    assert "predictions do not follow the inputs" in signals[0]
    assert "agree 0.03 with the moved features" in signals[0]
    overlap = error_overlap(copied, copied, ROWS_COMPARED)
    assert overlap.z >= COPY_MIN_Z
    assert "errors overlap with Dan Other's beyond chance" in signals[1]
    assert f"40 wrong rows in common of 40 and 40 (out of {ROWS_COMPARED})" in signals[1]
    assert f"z = {overlap.z:.1f}" in signals[1]
    assert "the score is unchanged" in signals[1]
    assert tree.one(cls="score-box").text() == "80 / 100"  # evidence, never a penalty

    dan_page = html.parse(staff.get(f"/attempts/{ids['Dan Other']}/report").text)
    dan_signals = [p.text() for p in dan_page.one(cls="integrity").find_all(
        "p", cls="integrity-signal")]
    assert len(dan_signals) == 1 and "Cara Candidate's" in dan_signals[0]
    eve_box = html.parse(staff.get(f"/attempts/{ids['Eve Honest']}/report").text).one(
        cls="integrity")
    assert eve_box.find_all("p", cls="integrity-signal") == []
    assert "No integrity signal" in eve_box.text()
    assert "agree 0.95 with the moved features" in eve_box.text()
    assert "and 0.01 with the ids" in eve_box.text() and "over 300 rows" in eve_box.text()
    assert "no public-check run scored it" in eve_box.text()

    # The candidate's own pages never mention any of it.
    for url in (f"/a/{attempt}/c/{SLUG}", f"/a/{attempt}/", f"/a/{attempt}/done"):
        response = client.get(url, follow_redirects=True)
        assert response.status_code == 200
        for word in ("Review suggested", "integrity", "Dan Other", "moved features"):
            assert word not in response.text, (url, word)


def test_an_integrity_run_waits_then_a_platform_error_is_said(
        app: Flask, client: FlaskClient, attempt: str, users: object, html: ModuleType) -> None:
    run_id = _submit_and_grade(app, client, attempt)
    with app.app_context():
        attempt_id = db.session.scalars(select(Attempt.id)).one()
    staff = _staff(app)
    waiting = html.parse(staff.get(f"/attempts/{attempt_id}/report").text).one(cls="integrity")
    assert waiting.attrs["data-integrity"] == "waiting"
    assert "has not finished yet" in waiting.text()

    def broken(bundle: Bundle, submission: Path, original: bytes, *, seed: int) -> Evaluation:
        return Evaluation.internal_error(bundle.slug, bundle.version, "sandbox: engine gone")

    with app.app_context():
        settings = grading_settings()
    for _ in range(settings.tries):
        with app.app_context():
            row = db.session.get(IntegrityRun, run_id)
            assert row is not None
            row.retry_at = None if row.status == "queued" else utcnow()
            db.session.commit()
        _integrity(app, run_id, broken)
    failed = html.parse(staff.get(f"/attempts/{attempt_id}/report").text).one(cls="integrity")
    assert failed.attrs["data-integrity"] == "failed"
    assert html.parse(staff.get(f"/attempts/{attempt_id}/report").text).one(
        cls="score-box").text() == "80 / 100"


def test_integrity_runs_are_recovered_by_the_watchdog(
        app: Flask, client: FlaskClient, attempt: str, users: object) -> None:
    from datetime import timedelta

    from heldout.platform.services import recovery

    run_id = _submit_and_grade(app, client, attempt)
    with app.app_context():
        row = db.session.get(IntegrityRun, run_id)
        assert row is not None
        row.created_at = utcnow() - timedelta(minutes=5)  # its queue entry was lost
        db.session.commit()
        queue = get_queue()
        assert run_id not in queue.waiting(integrity.INTEGRITY_RUNS.kind)
        report = recovery.recover(integrity.INTEGRITY_RUNS, queue, now=utcnow(), tries_allowed=3)
        assert report.requeued == (run_id,)
        assert run_id in queue.waiting(integrity.INTEGRITY_RUNS.kind)
