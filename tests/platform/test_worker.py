"""Grading jobs: claim, evaluate, store; platform errors retried; nothing lost."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.graders.bundle import Bundle
from heldout.graders.result import Check, RunStats
from heldout.graders.result import Evaluation as GradedResult
from heldout.platform.extensions import db
from heldout.platform.models import EvaluationRecord, SimilarityCheck, Submission, utcnow
from heldout.platform.queue import get_queue
from heldout.platform.services import grading, jobs, recovery, similarity
from heldout.platform.tasks import grading_settings

SLUG = "churn-prediction"
REFERENCE = Path(__file__).resolve().parents[2] / "challenges" / SLUG / "solutions" / \
    "reference" / "solution.py"


def graded(bundle: Bundle, submission: Path) -> GradedResult:
    assert (submission / "solution.py").read_text() == "print('hi')\n"
    return GradedResult(
        challenge=bundle.slug, version=bundle.version, status="graded", score=72.5,
        checks=(Check("roc_auc", "metric", True, 72.5, 100, "0.82 between 0.70 and 0.87"),
                Check("run", "run", True, 0, 0, "exit 0")),
        metrics={"roc_auc": 0.8233, "log_loss": 0.41},
        run=RunStats(exit_code=0, timed_out=False, oom_killed=False, wall_seconds=3.2,
                     cpu_seconds=2.9, peak_memory_mb=181, output_bytes=12000,
                     stdout_tail="<b>wrote</b> 1500 predictions", stderr_tail="", limit=None))


def broken(bundle: Bundle, submission: Path) -> GradedResult:
    return GradedResult.internal_error(bundle.slug, bundle.version, "sandbox: engine went away")


def crashing(bundle: Bundle, submission: Path) -> GradedResult:
    raise RuntimeError("grader bug")


@pytest.fixture
def submission_id(app: Flask, client: FlaskClient, attempt: str) -> int:
    response = client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": "print('hi')\n"})
    assert response.status_code == 302
    with app.app_context():
        return db.session.scalars(select(Submission.id)).one()


def grade(app: Flask, submission_id: int, evaluate: Callable[[Bundle, Path], GradedResult],
          clock: Callable[[], datetime] = utcnow) -> jobs.JobOutcome:
    with app.app_context():
        return grading.grade_submission(submission_id, grading_settings(), evaluate=evaluate,
                                        clock=clock)


class FakeClock:
    """The grading clock, moved by hand."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_grading_stores_the_evaluation(app: Flask, client: FlaskClient, attempt: str,
                                       submission_id: int) -> None:
    outcome = grade(app, submission_id, graded)
    assert (outcome.status, outcome.retry_in) == ("graded", None)
    with app.app_context():
        submission = db.session.get(Submission, submission_id)
        assert submission is not None and submission.status == "graded"
        assert submission.tries == 1 and submission.lease_owner is None
        evaluation = submission.evaluation
        assert evaluation is not None
        assert evaluation.score == 72.5 and evaluation.metrics["roc_auc"] == 0.8233
        assert evaluation.checks[0]["detail"] == "0.82 between 0.70 and 0.87"
        assert evaluation.run is not None and evaluation.run["peak_memory_mb"] == 181
        assert evaluation.challenge_version.startswith("sha256:")
    status = client.get(f"/a/{attempt}/submissions/{submission_id}").json
    assert status is not None
    assert status["status"] == "graded" and status["final"] and status["score"] == 72.5
    # The scratch copy of the files is gone.
    assert list((Path(app.config["HELDOUT_DATA_DIR"]) / "runs").glob("*")) == []


def test_a_graded_submission_is_not_graded_again(app: Flask, submission_id: int) -> None:
    grade(app, submission_id, graded)
    assert grade(app, submission_id, graded).status == "skipped"


@pytest.mark.parametrize("evaluate", [broken, crashing])
def test_platform_errors_are_retried_never_a_score(app: Flask, client: FlaskClient, attempt: str,
                                                   submission_id: int,
                                                   evaluate: Callable[..., GradedResult]) -> None:
    clock = FakeClock()
    outcome = grade(app, submission_id, evaluate, clock)
    assert outcome.status == "internal_error" and outcome.retry_in == jobs.backoff(1)
    with app.app_context():
        submission = db.session.get(Submission, submission_id)
        assert submission is not None
        assert submission.retry_at is not None and submission.evaluation is None
    status = client.get(f"/a/{attempt}/submissions/{submission_id}").json
    assert status is not None
    assert status["score"] is None and not status["final"]
    assert "retried automatically" in status["message"]

    clock.advance(jobs.backoff(1))
    assert grade(app, submission_id, evaluate, clock).status == "internal_error"
    clock.advance(jobs.backoff(2))
    last = grade(app, submission_id, evaluate, clock)
    assert last.status == "internal_error"
    assert last.retry_in is None  # three tries: final
    with app.app_context():
        submission = db.session.get(Submission, submission_id)
        assert submission is not None and submission.tries == 3 and submission.retry_at is None
        assert submission.evaluation is not None and submission.evaluation.score is None
        assert submission.evaluation.status == "internal_error"
    status = client.get(f"/a/{attempt}/submissions/{submission_id}").json
    assert status is not None and status["final"] and status["score"] is None
    assert "not counted against you" in status["message"]
    # A later successful re-run is possible only by staff (not automatic): nothing claims it.
    clock.advance(3600)
    assert grade(app, submission_id, graded, clock).status == "skipped"


def test_a_retry_is_not_claimed_before_retry_at(app: Flask, submission_id: int) -> None:
    clock = FakeClock()
    assert grade(app, submission_id, broken, clock).status == "internal_error"
    with app.app_context():
        row = db.session.get(Submission, submission_id)
        assert row is not None and row.retry_at == clock.now + timedelta(seconds=jobs.backoff(1))
        retry_at = row.retry_at

    clock.advance(jobs.backoff(1) - 1)
    early = grade(app, submission_id, graded, clock)
    assert (early.status, early.retry_in) == ("not_due", 1.0)
    with app.app_context():
        # The claim itself refuses it too (another worker racing past the first check).
        assert not jobs.claim(Submission, submission_id, "w:l:1", 60, clock.now)
        row = db.session.get(Submission, submission_id)
        assert row is not None and (row.status, row.tries) == ("internal_error", 1)

    clock.now = retry_at
    assert grade(app, submission_id, graded, clock).status == "graded"
    with app.app_context():
        row = db.session.get(Submission, submission_id)
        assert row is not None and (row.status, row.tries) == ("graded", 2)


def test_the_task_schedules_its_retry(app: Flask, submission_id: int,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grading, "graders_evaluate", broken)
    with app.app_context():
        queue = get_queue()
        huey = queue.huey
        task = huey.dequeue()  # the job the submit queued
        assert task is not None and task.args == (submission_id,)
        huey.execute(task)
        waiting = [*huey.pending(), *huey.scheduled()]
        assert [t.args for t in waiting] == [(submission_id,)]
        assert queue.waiting(grading.SUBMISSIONS.kind) == {submission_id}
        row = db.session.get(Submission, submission_id)
        assert row is not None and row.retry_at is not None
        # Huey keeps naive UTC: the job is due when the row's back-off ends, not before.
        eta = waiting[0].eta.replace(tzinfo=UTC)
        assert abs((eta - row.retry_at).total_seconds()) < 2

        # A copy run early (a clock skew, an operator) leaves it alone: no second chain.
        huey.execute(queue.tasks.job(grading.SUBMISSIONS.kind).s(submission_id))
        db.session.refresh(row)
        assert (row.status, row.tries) == ("internal_error", 1)
        assert [t.args for t in [*huey.pending(), *huey.scheduled()]] == [(submission_id,)]

        # Run early with nothing else waiting: it is scheduled again for when it is due.
        assert huey.dequeue() is not None and queue.waiting(grading.SUBMISSIONS.kind) == set()
        huey.execute(queue.tasks.job(grading.SUBMISSIONS.kind).s(submission_id))
        db.session.refresh(row)
        assert (row.status, row.tries) == ("internal_error", 1)
        again = [*huey.pending(), *huey.scheduled()]
        assert [t.args for t in again] == [(submission_id,)] and again[0].eta is not None
        assert abs((again[0].eta.replace(tzinfo=UTC) - row.retry_at).total_seconds()) < 2


def test_the_task_runs_through_the_queue(app: Flask, submission_id: int,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grading, "graders_evaluate", graded)
    with app.app_context():
        huey = get_queue().huey
        huey.execute(huey.dequeue())
        submission = db.session.get(Submission, submission_id)
        assert submission is not None and submission.status == "graded"
        # Graded: its similarity check is queued behind it, and runs through the queue too.
        check = db.session.scalars(select(SimilarityCheck)).one()
        assert check.submission_id == submission_id
        assert get_queue().waiting(similarity.SIMILARITY.kind) == {check.id}
        assert huey.pending_count() == 1
        huey.execute(huey.dequeue())
        assert huey.pending_count() == 0
        db.session.refresh(check)
        assert check.status == "graded" and check.fingerprints is not None


def test_a_result_after_the_lease_was_lost_is_discarded(app: Flask, submission_id: int) -> None:
    def slow(bundle: Bundle, submission: Path) -> GradedResult:
        # Meanwhile the watchdog decided this worker was dead and another took the job.
        with app.app_context():
            row = db.session.get(Submission, submission_id)
            assert row is not None
            row.lease_owner = "elsewhere:1:abcd"
            db.session.commit()
        return graded(bundle, submission)

    assert grade(app, submission_id, slow).status == "skipped"
    with app.app_context():
        assert db.session.scalars(select(EvaluationRecord)).all() == []


def test_only_one_worker_claims_a_job(app: Flask, submission_id: int) -> None:
    now = utcnow()
    with app.app_context():
        assert jobs.claim(Submission, submission_id, "a:1:x", 60, now)
        assert not jobs.claim(Submission, submission_id, "b:2:y", 60, now)
        # Past the lease the job is claimable again.
        assert jobs.claim(Submission, submission_id, "b:2:y", 60, now + timedelta(seconds=61))


def _set(app: Flask, submission_id: int, **values: object) -> None:
    with app.app_context():
        row = db.session.get(Submission, submission_id)
        assert row is not None
        for key, value in values.items():
            setattr(row, key, value)
        db.session.commit()


def _recover(app: Flask, **kwargs: object) -> recovery.RecoveryReport:
    with app.app_context():
        return recovery.recover(grading.SUBMISSIONS, get_queue(), now=utcnow(), tries_allowed=3,
                                **kwargs)  # type: ignore[arg-type]


def _drain(app: Flask) -> None:
    with app.app_context():
        huey = get_queue().huey
        while huey.dequeue() is not None:
            pass


def test_watchdog_requeues_a_job_whose_worker_died(app: Flask, submission_id: int) -> None:
    _drain(app)
    _set(app, submission_id, status="running", tries=1, lease_owner="gone:1:x",
         lease_expires_at=utcnow() - timedelta(seconds=1))
    report = _recover(app)
    assert report.stale == (submission_id,) and report.requeued == (submission_id,)
    with app.app_context():
        assert get_queue().waiting(grading.SUBMISSIONS.kind) == {submission_id}
        row = db.session.get(Submission, submission_id)
        assert row is not None and row.status == "queued"
    # Already waiting in the queue: not queued twice.
    assert _recover(app).requeued == ()


def test_watchdog_requeues_a_lost_queued_job(app: Flask, submission_id: int) -> None:
    _drain(app)
    assert _recover(app).requeued == ()  # too fresh: the web app is about to enqueue it
    _set(app, submission_id, created_at=utcnow() - timedelta(minutes=5))
    assert _recover(app).requeued == (submission_id,)


def test_watchdog_gives_up_after_the_last_try(app: Flask, client: FlaskClient, attempt: str,
                                              submission_id: int) -> None:
    _set(app, submission_id, status="running", tries=3, lease_owner="gone:1:x",
         lease_expires_at=utcnow() - timedelta(seconds=1))
    report = _recover(app)
    assert report.given_up == (submission_id,)
    status = client.get(f"/a/{attempt}/submissions/{submission_id}").json
    assert status is not None and status["status"] == "internal_error" and status["final"]


def test_startup_reclaims_jobs_of_an_earlier_life(app: Flask, submission_id: int) -> None:
    _drain(app)
    now_holding = recovery.Previous("worker-a", "life2")
    _set(app, submission_id, status="running", tries=1, lease_owner="worker-a:life1:x",
         lease_expires_at=utcnow() + timedelta(minutes=10))
    assert _recover(app).stale == ()  # a live lease is respected by the watchdog
    assert _recover(app, previous=recovery.Previous("worker-b", "life9")).stale == ()
    assert _recover(app, previous=now_holding).stale == (submission_id,)
    _set(app, submission_id, status="running", lease_owner="worker-a:life2:x",
         lease_expires_at=utcnow() + timedelta(minutes=10))
    assert _recover(app, previous=now_holding).stale == ()  # this life's own job


def test_a_missing_bundle_is_a_platform_error(app: Flask, submission_id: int,
                                              monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    # Neither the bundle store nor the challenges directory has the submitted version.
    with app.app_context():
        _set(app, submission_id, challenge_version="sha256:" + "0" * 64)
    outcome = grade(app, submission_id, graded)
    assert outcome.status == "internal_error"
    assert "bundle unavailable" in outcome.detail


@pytest.mark.docker
def test_real_grading_of_the_reference_solution(app: Flask, client: FlaskClient, attempt: str,
                                                sandbox_image: str) -> None:
    code = REFERENCE.read_text()
    response = client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": code})
    assert response.status_code == 302
    with app.app_context():
        submission_id = db.session.scalars(select(Submission.id)).one()
        huey = get_queue().huey
        huey.execute(huey.dequeue())  # the real task, the real graders, the real sandbox
        submission = db.session.get(Submission, submission_id)
        assert submission is not None
        assert submission.status == "graded", submission.error
        assert submission.evaluation is not None
        assert submission.evaluation.score is not None and submission.evaluation.score >= 85
        assert "roc_auc" in submission.evaluation.metrics
