"""Public checks while working: the workspace button, the queue, the worker, the page."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select

from heldout.graders.bundle import Bundle
from heldout.graders.checks import RUN, TESTS
from heldout.graders.result import Check, Evaluation, RunStats
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, PublicRun, Submission, utcnow
from heldout.platform.queue import get_queue
from heldout.platform.services import assessments, public_runs, recovery
from heldout.platform.services.grading import SUBMISSIONS
from heldout.platform.services.jobs import JobOutcome
from heldout.platform.services.public_runs import PUBLIC_RUNS
from heldout.platform.tasks import grading_settings
from tests.platform.conftest import CHURN, NewInvite, Users, make_app, start_attempt

REPO = Path(__file__).resolve().parents[2]
SLUG = "metrics-from-scratch"
BUNDLE = REPO / "challenges" / SLUG
REFERENCE = BUNDLE / "solutions" / "reference" / "solution.py"
# Only in hidden/: a public run's job must never see them.
HIDDEN_ONLY = ("auc_big_s.npy", "auc_big_y.npy", "split_big_y.npy")
CODE = "def roc_auc(y, s):\n    return 0.5\n"


@pytest.fixture(scope="module")
def both_challenges(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("challenges")
    shutil.copytree(CHURN, root / "churn-prediction")
    shutil.copytree(BUNDLE, root / SLUG)
    return root


@pytest.fixture
def app(tmp_path: Path, both_challenges: Path, request: pytest.FixtureRequest) -> Iterator[Flask]:
    overrides: dict[str, Any] = getattr(request, "param", {})
    app = make_app(tmp_path, both_challenges, **overrides)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def assessment_id(app: Flask, users: Users) -> int:
    with app.app_context():
        return assessments.create_assessment(
            name="Metrics", challenge_slugs=[SLUG], time_limit_minutes=60, instructions="",
            expires_at=None, show_scores=True, created_by_id=users.recruiter).id


def _run(client: FlaskClient, attempt: str, code: str = CODE) -> Any:
    return client.post(f"/a/{attempt}/c/{SLUG}/public-run", data={"code": code})


def _runs(app: Flask) -> list[PublicRun]:
    with app.app_context():
        rows = list(db.session.scalars(select(PublicRun).order_by(PublicRun.id)))
        db.session.expunge_all()
        return rows


def _set(app: Flask, run_id: int, **values: object) -> None:
    with app.app_context():
        row = db.session.get(PublicRun, run_id)
        assert row is not None
        for key, value in values.items():
            setattr(row, key, value)
        db.session.commit()


def _textarea(page: str) -> str:
    match = re.search(r'<textarea id="code"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, page
    return match.group(1)


# --- over HTTP ---------------------------------------------------------------------------

def test_the_button_queues_a_public_run_never_a_submission(app: Flask, client: FlaskClient,
                                                           attempt: str) -> None:
    page = client.get(f"/a/{attempt}/c/{SLUG}").text
    assert f'formaction="/a/{attempt}/c/{SLUG}/public-run"' in page
    assert "Run public checks" in page and "Not run yet" in page

    response = _run(client, attempt)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/a/{attempt}/c/{SLUG}#public-checks")
    [run] = _runs(app)
    assert run.status == "queued" and run.challenge_slug == SLUG
    assert [f["name"] for f in run.files] == ["solution.py"]
    with app.app_context():
        assert db.session.scalars(select(Submission)).all() == []
        blob = (Path(app.config["HELDOUT_DATA_DIR"]) / "blobs")
        assert any(blob.rglob(run.files[0]["sha256"]))  # content-addressed, like submissions
        tasks = get_queue().huey.pending()
        assert [(t.name, t.args) for t in tasks] == [(PUBLIC_RUNS.kind, (run.id,))]

    page = client.get(f"/a/{attempt}/c/{SLUG}").text
    assert f'data-public-run-url="/a/{attempt}/public-runs/{run.id}"' in page
    assert "submissions go first" in page
    assert "Nothing submitted yet" in page  # the submissions list is untouched
    status = client.get(f"/a/{attempt}/public-runs/{run.id}").json
    assert status is not None
    assert (status["status"], status["final"]) == ("queued", False)
    assert "public-run" in status["html"]


def test_uploaded_files_are_checked_like_a_submission(app: Flask, client: FlaskClient,
                                                      attempt: str) -> None:
    from io import BytesIO

    response = client.post(f"/a/{attempt}/c/{SLUG}/public-run",
                           data={"code": CODE, "files": [(BytesIO(b"x = 1\n"), "notes.txt")]},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "notes.txt is not a file this challenge accepts" in response.text
    assert _textarea(response.text) == CODE.replace("'", "&#39;")
    assert _runs(app) == []


def test_only_the_attempts_browser_reaches_it(app: Flask, client: FlaskClient, attempt: str,
                                              make_invite: Any, users: Users) -> None:
    assert _run(client, attempt).status_code == 302
    [run] = _runs(app)
    stranger = app.test_client()
    assert _run(stranger, attempt).status_code == 404
    assert stranger.get(f"/a/{attempt}/public-runs/{run.id}").status_code == 404
    staff = app.test_client()
    staff.post("/login", data={"email": "interviewer@example.com",
                               "password": "correct horse battery"})
    assert _run(staff, attempt).status_code == 404
    assert staff.get(f"/a/{attempt}/public-runs/{run.id}").status_code == 404
    # Another candidate, bound to their own attempt, can't read this one's run by its id.
    other = app.test_client()
    other_attempt = start_attempt(other, make_invite("Olga", "olga@example.org"))
    assert other.get(f"/a/{other_attempt}/public-runs/{run.id}").status_code == 404
    assert len(_runs(app)) == 1


def test_refused_after_the_deadline_with_the_code_kept(app: Flask, client: FlaskClient,
                                                       attempt: str) -> None:
    with app.app_context():
        row = db.session.scalars(select(Attempt)).one()
        row.deadline = utcnow() - timedelta(seconds=1)
        db.session.commit()
    response = _run(client, attempt, code="print('late')\n")
    assert response.status_code == 409
    assert "print(&#39;late&#39;)" in _textarea(response.text)
    assert _runs(app) == []


def test_one_pending_run_per_attempt(app: Flask, client: FlaskClient, attempt: str) -> None:
    assert _run(client, attempt).status_code == 302
    response = _run(client, attempt, code="# second try\n")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) == 90  # the challenge's time limit
    assert "has not finished yet" in response.text
    assert _textarea(response.text) == "# second try\n"
    [run] = _runs(app)
    _set(app, run.id, status="graded", evaluation=Evaluation(
        SLUG, run.challenge_version, "graded", 0.0, split="public").as_dict())
    assert _run(client, attempt).status_code == 302


@pytest.mark.parametrize("app", [{"HELDOUT_PUBLIC_RUN_LIMIT": "2 per minute"}], indirect=True)
def test_rate_limited_per_attempt(app: Flask, client: FlaskClient, attempt: str) -> None:
    for _ in range(2):
        assert _run(client, attempt).status_code == 302
        run = _runs(app)[-1]
        _set(app, run.id, status="graded")  # out of the way of the pending cap
    response = _run(client, attempt, code="# third\n")
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    assert "limited to 2 per minute" in response.text
    assert _textarea(response.text) == "# third\n"
    assert len(_runs(app)) == 2
    # Submitting is counted apart: the public limit does not block a submission.
    assert client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": CODE}).status_code == 302


@pytest.mark.parametrize("queue", ["sqlite", "memory"])
def test_a_queued_submission_is_taken_before_a_public_run(
        tmp_path: Path, both_challenges: Path, users: Any, queue: str) -> None:
    url = f"sqlite:///{tmp_path / 'queue.db'}" if queue == "sqlite" else "memory://"
    app = make_app(tmp_path / "prio", both_challenges, HELDOUT_QUEUE_URL=url)
    with app.app_context():
        recruiter = _staff(app)
        assessment = assessments.create_assessment(
            name="Prio", challenge_slugs=[SLUG], time_limit_minutes=60, instructions="",
            expires_at=None, show_scores=True, created_by_id=recruiter).id
    invite = _invite(app, assessment)
    client = app.test_client()
    attempt = start_attempt(client, invite)
    assert _run(client, attempt).status_code == 302  # the public run is queued first
    assert client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": CODE}).status_code == 302
    with app.app_context():
        huey = get_queue().huey
        assert huey.pending_count() == 2
        first, second = huey.dequeue(), huey.dequeue()
        assert (first.name, second.name) == (SUBMISSIONS.kind, PUBLIC_RUNS.kind)
        db.engine.dispose()


def _staff(app: Flask) -> int:
    from werkzeug.security import generate_password_hash

    from heldout.platform.models import User

    user = User(email="rec@example.com", name="Rec", role="recruiter",
                password_hash=generate_password_hash("x", "pbkdf2:sha256:1000"))
    db.session.add(user)
    db.session.commit()
    return user.id


def _invite(app: Flask, assessment_id: int) -> NewInvite:
    from heldout.platform.services import invites
    from tests.platform.conftest import SECRET

    with app.app_context():
        created = invites.create_invite(
            assessment_id=assessment_id, candidate_name="P", candidate_email="p@example.org",
            created_by_id=1, secret=SECRET, ttl_days=14, now=utcnow())
        return NewInvite(created.invite.id, created.token)


# --- the worker's side, with a stand-in evaluator ---------------------------------------

def _run_stats(**values: Any) -> RunStats:
    base: dict[str, Any] = {"exit_code": 0, "timed_out": False, "oom_killed": False,
                            "wall_seconds": 1.2, "peak_memory_mb": 80, "output_bytes": 10,
                            "stdout_tail": "<b>hello</b> from the candidate",
                            "stderr_tail": ""}
    base.update(values)
    return RunStats(**base)


class Evaluator:
    """Stands in for the graders; records how it was called."""

    def __init__(self, result: Evaluation | None = None, **run: Any) -> None:
        self.calls: list[str] = []
        self.result = result
        self.run = run

    def __call__(self, bundle: Bundle, submission: Path, *, split: str) -> Evaluation:
        self.calls.append(split)
        assert (submission / "solution.py").read_text() == CODE
        if self.result is not None:
            return self.result
        checks = (Check("run", "run", True, 0, 0, "finished in 1.2 s"),
                  TESTS.failed("1/3 cases passed; case 2 (a tie): expected 0.875, got 0.5",
                               score=10, max_score=30, label="tests: roc_auc ties"))
        return Evaluation(bundle.slug, bundle.version, "graded", 10.0, checks=checks,
                          run=_run_stats(**self.run), split="public")


def _work(app: Flask, run_id: int, evaluate: Any) -> JobOutcome:
    with app.app_context():
        return public_runs.run_public_checks(run_id, grading_settings(), evaluate=evaluate)


@pytest.fixture
def run_id(app: Flask, client: FlaskClient, attempt: str) -> int:
    assert _run(client, attempt).status_code == 302
    return _runs(app)[0].id


def test_results_show_each_check_with_its_explanation_and_output(
        app: Flask, client: FlaskClient, attempt: str, run_id: int) -> None:
    evaluate = Evaluator()
    assert _work(app, run_id, evaluate).status == "graded"
    assert evaluate.calls == ["public"]  # always the public checks
    status = client.get(f"/a/{attempt}/public-runs/{run_id}").json
    assert status is not None and status["final"] and status["status"] == "graded"
    for page in (status["html"], client.get(f"/a/{attempt}/c/{SLUG}").text):
        assert "1 of 2</strong> public checks passed" in page
        assert "tests: roc_auc ties" in page and "expected 0.875, got 0.5" in page
        # The registry's explanations, worded for what ran: the public cases.
        assert escape(TESTS.explained(to_candidate=True).replace("hidden", "public")) in page
        assert "candidate&#39;s" not in page  # addressed to the candidate (issue 19)
        assert "hidden test cases" not in page.split('id="public-checks"')[-1].split('id="status"')[0]
        assert escape(RUN.explained(to_candidate=True)) in page
        assert "&lt;b&gt;hello&lt;/b&gt; from the candidate" in page  # escaped, never HTML
        assert "data-public-run-url" not in page  # final: no more polling
    with app.app_context():
        assert db.session.scalars(select(Submission)).all() == []


@pytest.mark.parametrize(("run", "title", "advice"), [
    ({"timed_out": True, "limit": "time", "exit_code": None}, "Time limit reached",
     "endless loop"),
    ({"oom_killed": True, "limit": "memory", "exit_code": 137, "peak_memory_mb": 1024},
     "Out of memory", "smaller dtypes"),
    ({"exit_code": 1, "stderr_tail": 'Traceback (most recent call last):\n  File "solution.py",'
      ' line 2\nZeroDivisionError: division by zero'}, "Your program crashed",
     "name the exception"),
])
def test_failures_are_said_plainly_with_what_to_try(app: Flask, client: FlaskClient,
                                                    attempt: str, run_id: int,
                                                    run: dict[str, Any], title: str,
                                                    advice: str) -> None:
    _work(app, run_id, Evaluator(**run))
    page = client.get(f"/a/{attempt}/c/{SLUG}").text
    assert f"<strong>{title}.</strong>" in page and advice in page
    if "stderr_tail" in run:
        assert "ZeroDivisionError: division by zero" in page  # the whole traceback is shown
        assert "line 2" in page


def test_a_bad_output_file_is_explained(app: Flask, client: FlaskClient, attempt: str,
                                        run_id: int) -> None:
    [run] = _runs(app)
    checks = (Check("run", "run", True, 0, 0, "finished"),
              Check("predictions", "test", False, 0, 0, "predictions.csv: no column 'id'"))
    _work(app, run_id, Evaluator(Evaluation(SLUG, run.challenge_version, "graded", 0.0,
                                            checks=checks, run=_run_stats(), split="public")))
    page = client.get(f"/a/{attempt}/c/{SLUG}").text
    assert "The output file could not be used" in page and "no column &#39;id&#39;" in page


def test_a_platform_error_says_it_will_be_retried(app: Flask, client: FlaskClient,
                                                  attempt: str, run_id: int) -> None:
    [run] = _runs(app)
    broken = Evaluation.internal_error(SLUG, run.challenge_version, "sandbox: engine went away")
    outcome = _work(app, run_id, Evaluator(broken))
    assert outcome.status == "internal_error" and outcome.retry_in == 15
    status = client.get(f"/a/{attempt}/public-runs/{run_id}").json
    assert status is not None and not status["final"]
    assert "will be retried automatically" in status["message"]
    assert "engine went away" not in status["html"]  # the platform's detail stays with staff
    [row] = _runs(app)
    assert row.retry_at is not None and row.evaluation is None


def test_a_hidden_evaluation_is_never_shown(app: Flask, client: FlaskClient, attempt: str,
                                            run_id: int) -> None:
    [run] = _runs(app)
    leak = Check("tests", "test", False, 0, 100, "case 7: expected 0.61803, got 0.5")
    hidden = Evaluation(SLUG, run.challenge_version, "graded", 0.0, checks=(leak,))
    assert _work(app, run_id, Evaluator(hidden)).status == "internal_error"
    assert "0.61803" not in client.get(f"/a/{attempt}/c/{SLUG}").text


def test_a_run_left_by_a_dead_worker_is_run_again_or_fails_clearly(app: Flask,
                                                                   run_id: int) -> None:
    with app.app_context():
        huey = get_queue().huey
        while huey.dequeue() is not None:
            pass
    _set(app, run_id, status="running", tries=1, lease_owner="gone:1:x",
         lease_expires_at=utcnow() - timedelta(seconds=1))
    with app.app_context():
        report = recovery.recover(PUBLIC_RUNS, get_queue(), now=utcnow(), tries_allowed=3)
        assert report.stale == (run_id,) and report.requeued == (run_id,)
        assert get_queue().waiting(PUBLIC_RUNS.kind) == {run_id}
    assert _work(app, run_id, Evaluator()).status == "graded"

    _set(app, run_id, status="running", tries=3, lease_owner="gone:1:y",
         lease_expires_at=utcnow() - timedelta(seconds=1))
    with app.app_context():
        report = recovery.recover(PUBLIC_RUNS, get_queue(), now=utcnow(), tries_allowed=3)
    assert report.given_up == (run_id,)
    [row] = _runs(app)
    assert row.status == "internal_error" and "interrupted 3 times" in (row.error or "")


def test_the_watchdog_task_queues_a_lost_public_run(app: Flask, run_id: int) -> None:
    with app.app_context():
        huey = get_queue().huey
        while huey.dequeue() is not None:
            pass
    _set(app, run_id, created_at=utcnow() - timedelta(minutes=5))
    with app.app_context():
        huey = get_queue().huey
        huey.execute(get_queue().tasks.watchdog.s())
        assert get_queue().waiting(PUBLIC_RUNS.kind) == {run_id}


# --- the real worker task, graders and Docker sandbox -----------------------------------

SNOOP = '''
import os

for root in ("/data", "/harness", "/workspace"):
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            print("SEEN", os.path.join(folder, name))
with open("/harness/cases.json") as given:
    print("CASES", given.read())
'''


def _distinctive_numbers(cases: Path) -> set[str]:
    """Floats with six decimals from the cases' inputs: each names its case."""
    found: set[str] = set()
    for line in cases.read_text().splitlines():
        if line.strip():
            found.update(re.findall(r"-?\d\.\d{6}\b", json.dumps(json.loads(line)["args"])))
    return found


def _execute_next(app: Flask) -> None:
    with app.app_context():
        huey = get_queue().huey
        task = huey.dequeue()
        assert task is not None and task.name == PUBLIC_RUNS.kind
        huey.execute(task)  # the real task: graders' evaluate(split="public"), real sandbox


@pytest.mark.docker
def test_real_public_run_of_the_function_challenge(app: Flask, client: FlaskClient,
                                                   attempt: str, sandbox_image: str) -> None:
    code = REFERENCE.read_text() + "\nprint('reference module imported')\n"
    assert _run(client, attempt, code).status_code == 302
    _execute_next(app)
    [run] = _runs(app)
    assert run.status == "graded", run.error
    assert run.evaluation is not None and run.evaluation["split"] == "public"
    names = [c["name"] for c in run.evaluation["checks"]]
    assert names[0] == "run" and any(n.startswith("tests") for n in names)
    assert all(c["passed"] for c in run.evaluation["checks"]), run.evaluation["checks"]
    page = client.get(f"/a/{attempt}/c/{SLUG}").text
    assert "cases passed" in page and escape(public_runs.explanation("tests", "test")) in page
    assert "reference module imported" in page
    with app.app_context():
        assert db.session.scalars(select(Submission)).all() == []


@pytest.mark.docker
def test_a_public_run_mounts_no_hidden_file(app: Flask, client: FlaskClient, attempt: str,
                                            sandbox_image: str) -> None:
    assert _run(client, attempt, SNOOP + CODE).status_code == 302
    _execute_next(app)
    [run] = _runs(app)
    assert run.status == "graded", run.error
    assert run.evaluation is not None
    stdout = run.evaluation["run"]["stdout_tail"]
    seen = [line.split(" ", 1)[1] for line in stdout.splitlines() if line.startswith("SEEN ")]
    assert "/data/cases.jsonl" in seen and "/workspace/solution.py" in seen  # the listing ran
    assert any(path.startswith("/harness/") for path in seen)
    for name in HIDDEN_ONLY:
        assert not any(name in path for path in seen), (name, seen)
    # The inputs the harness was given are the public cases' only: a hidden case's
    # distinctive inputs appear nowhere in what the candidate's code could read.
    given = stdout.split("CASES ", 1)[1]
    assert "0.35" in given and "0.875" not in given  # public inputs, and no answers at all
    hidden_inputs = _distinctive_numbers(BUNDLE / "hidden" / "cases.jsonl")
    assert len(hidden_inputs) > 20
    assert not [number for number in hidden_inputs if number in given]
    page = client.get(f"/a/{attempt}/c/{SLUG}").text
    assert not any(name in page for name in HIDDEN_ONLY)
