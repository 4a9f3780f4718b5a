"""The practice page: no login, nothing stored against an attempt, rate limited, the real
sandbox behind it."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from heldout.graders.bundle import Bundle, load_bundle
from heldout.graders.checks import TESTS
from heldout.graders.result import Check, Evaluation, Split
from heldout.platform.extensions import db
from heldout.platform.models import (
    Challenge,
    Draft,
    EditorEvent,
    PracticeRun,
    PublicRun,
    Submission,
    utcnow,
)
from heldout.platform.queue import get_queue
from heldout.platform.services import catalogue, practice
from heldout.platform.tasks import grading_settings
from tests.platform.conftest import CHURN, NewInvite, make_app, start_attempt

REPO = Path(__file__).resolve().parents[2]
SLUG = "warm-up"
BUNDLE = REPO / "challenges" / SLUG
REFERENCE = (BUNDLE / "solutions" / "reference" / "solution.py").read_text()
CODE = "def median(values):\n    return 2\n"


@pytest.fixture(scope="module")
def challenges(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("challenges")
    shutil.copytree(CHURN, root / "churn-prediction")
    shutil.copytree(BUNDLE, root / SLUG)
    return root


@pytest.fixture
def app(tmp_path: Path, challenges: Path, request: pytest.FixtureRequest) -> Iterator[Flask]:
    overrides: dict[str, Any] = getattr(request, "param", {})
    app = make_app(tmp_path, challenges, **overrides)
    yield app
    with app.app_context():
        db.engine.dispose()


def _post(client: FlaskClient, what: str = "run", code: str = CODE,
          address: str = "192.0.2.1") -> Any:
    return client.post(f"/practice/{what}", data={"code": code},
                       environ_base={"REMOTE_ADDR": address})


def _runs(app: Flask) -> list[PracticeRun]:
    with app.app_context():
        rows = list(db.session.scalars(select(PracticeRun).order_by(PracticeRun.id)))
        db.session.expunge_all()
        return rows


def _finish_all(app: Flask) -> None:
    """Every waiting practice run graded (what the worker would do), so the next is taken."""
    with app.app_context():
        for run in db.session.scalars(select(PracticeRun)):
            run.status = "graded"  # type: ignore[assignment]
        db.session.commit()


def _count(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def _textarea(page: str) -> str:
    match = re.search(r'<textarea id="code"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, page
    return match.group(1)


class Evaluator:
    """Stands in for the graders: the split asked, and a graded result of that split."""

    def __init__(self, split: Split | None = None) -> None:
        self.calls: list[str] = []
        self.answer_split = split

    def __call__(self, bundle: Bundle, submission: Path, *, split: Split) -> Evaluation:
        self.calls.append(split)
        assert (submission / "solution.py").read_text() == CODE
        checks = (Check("run", "run", True, 0, 0, "finished in 0.1 s"),
                  TESTS.failed("1/3 cases passed; case 2: expected 4, got 2", score=33,
                               max_score=100, label="tests"))
        return Evaluation(bundle.slug, bundle.version, "graded", 33.0, checks=checks,
                          split=self.answer_split or split)


# --- the page ------------------------------------------------------------------------------

def test_the_page_needs_no_login_and_offers_the_sample(app: Flask, client: FlaskClient) -> None:
    page = client.get("/practice")
    assert page.status_code == 200
    assert "Warm-up: the median" in page.text and "This is practice." in page.text
    assert _textarea(page.text).startswith("def median(values):")  # the starter
    assert 'formaction="/practice/run"' in page.text and 'action="/practice/submit"' in page.text
    assert "4 per minute, 30 per hour" in page.text  # the declared default, in words
    assert "Back to your" not in page.text  # came from nowhere: no way back to offer
    with app.app_context():  # never offered to recruiters: no catalogue row
        assert db.session.scalars(select(Challenge.slug)).all() == ["churn-prediction"]


def test_landing_links_practice_and_practice_links_back(client: FlaskClient,
                                                        invite: NewInvite) -> None:
    landing = client.get(client.get(invite.url).headers["Location"]).text
    assert 'href="/practice"' in landing and "does not start the clock" in landing
    page = client.get("/practice").text
    assert '<a href="/invite">Back to your invitation</a>' in page


@pytest.mark.parametrize("app", [{"HELDOUT_PRACTICE_CHALLENGE": ""},
                                 {"HELDOUT_PRACTICE_CHALLENGE": "churn-prediction"}],
                         indirect=True, ids=["unset", "not-a-practice-bundle"])
def test_no_practice_page_without_a_practice_bundle(app: Flask, client: FlaskClient,
                                                    invite: NewInvite) -> None:
    # A real assessment's challenge is never served publicly, whatever the setting says.
    response = client.get("/practice")
    assert response.status_code == 404 and "no practice task" in response.text
    assert _post(client).status_code == 404
    assert _count(app, PracticeRun) == 0
    landing = client.get(client.get(invite.url).headers["Location"]).text
    assert ('href="/practice"' in landing) == bool(app.config["HELDOUT_PRACTICE_CHALLENGE"])


# --- nothing against the attempt ------------------------------------------------------------

def test_practice_during_an_attempt_stores_nothing_against_it(app: Flask, client: FlaskClient,
                                                              invite: NewInvite) -> None:
    attempt = start_attempt(client, invite)
    page = client.get("/practice").text
    assert f'<a href="/a/{attempt}/">Back to your assessment</a>' in page
    assert _post(client, "run").headers["Location"].endswith("/practice#public-checks")
    _finish_all(app)
    assert _post(client, "submit").headers["Location"].endswith("/practice#status")
    runs = _runs(app)
    assert [(r.split, r.status) for r in runs] == [("public", "graded"), ("hidden", "queued")]
    assert not hasattr(runs[0], "attempt_id")  # the row can't name an attempt at all
    for model in (Submission, PublicRun, Draft, EditorEvent):
        assert _count(app, model) == 0, model
    with app.app_context():
        tasks = get_queue().huey.pending()
        assert [(t.name, t.args) for t in tasks] == [
            (practice.PRACTICE_RUNS.kind, (runs[0].id,)),
            (practice.PRACTICE_RUNS.kind, (runs[1].id,))]
    # The attempt's own pages are as they were.
    workspace = client.get(f"/a/{attempt}/c/churn-prediction").text
    assert "Nothing submitted yet" in workspace and "Not run yet" in workspace


def test_a_graded_practice_run_shows_checks_and_a_score(app: Flask, client: FlaskClient) -> None:
    assert _post(client, "run").status_code == 302
    [checks] = _runs(app)
    evaluate = Evaluator()
    with app.app_context():
        assert practice.run_practice(checks.id, grading_settings(),
                                     evaluate=evaluate).status == "graded"
    status = client.get(f"/practice/runs/{checks.id}").json
    assert status is not None and status["final"] and "1 of 2</strong> public checks" in status["html"]
    assert _post(client, "submit").status_code == 302
    submitted = _runs(app)[-1]
    state = client.get("/practice/state").json
    assert state is not None and not state["final"]  # the page polls until it is graded
    with app.app_context():
        assert practice.run_practice(submitted.id, grading_settings(),
                                     evaluate=evaluate).status == "graded"
    assert evaluate.calls == ["public", "hidden"]  # checks, then graded as a submission
    state = client.get("/practice/state").json
    assert state is not None and state["final"]
    assert [(s["status"], s["score"]) for s in state["submissions"]] == [("graded", 33.0)]
    assert state["public_run"]["id"] == checks.id
    page = client.get("/practice").text
    assert "score 33" in page and "1 of 2</strong> public checks passed" in page
    assert _textarea(page) == CODE  # the editor opens what was run last
    assert "data-status-url" not in page and "data-public-run-url" not in page


def test_an_evaluator_answering_another_split_is_a_platform_error(app: Flask,
                                                                 client: FlaskClient) -> None:
    assert _post(client, "run").status_code == 302
    [run] = _runs(app)
    with app.app_context():  # hidden checks' details must never reach a public run's page
        outcome = practice.run_practice(run.id, grading_settings(),
                                        evaluate=Evaluator(split="hidden"))
    assert outcome.status == "internal_error" and "public checks" in outcome.detail


def test_a_browser_sees_its_own_runs_only(app: Flask, client: FlaskClient) -> None:
    assert _post(client).status_code == 302
    [run] = _runs(app)
    other = app.test_client()
    assert other.get(f"/practice/runs/{run.id}").status_code == 404
    assert other.get("/practice/state").json == {"submissions": [], "public_run": None,
                                                 "final": True}
    assert _textarea(other.get("/practice").text).startswith("def median")
    assert client.get(f"/practice/runs/{run.id}").status_code == 200


# --- bad input and limits -------------------------------------------------------------------

def test_oversized_code_is_refused_and_kept_in_the_editor(app: Flask, client: FlaskClient) -> None:
    code = "x = 1\n" * 4000  # 24,000 bytes; the sample takes 16,384
    response = _post(client, "submit", code=code)
    assert response.status_code == 413
    assert "takes at most 16,384" in response.text and 'role="alert"' in response.text
    assert _textarea(response.text).count("x = 1") == 4000
    assert _count(app, PracticeRun) == 0


def test_empty_code_is_refused(app: Flask, client: FlaskClient) -> None:
    response = _post(client, code="   ")
    assert response.status_code == 400 and "The submission is empty" in response.text
    assert _count(app, PracticeRun) == 0


def test_one_run_at_a_time_per_browser(app: Flask, client: FlaskClient) -> None:
    assert _post(client).status_code == 302
    response = _post(client, "submit")
    assert response.status_code == 429 and response.headers["Retry-After"] == "30"
    assert "previous practice run has not finished" in response.text
    assert _textarea(response.text) == CODE
    assert app.test_client().post("/practice/run", data={"code": CODE}).status_code == 302


def test_a_crowd_of_visitors_finds_practice_busy(app: Flask, client: FlaskClient,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(practice, "MAX_PENDING_SITE_WIDE", 2)
    for address in ("192.0.2.7", "192.0.2.8"):
        assert _post(app.test_client(), address=address).status_code == 302
    response = _post(client, address="192.0.2.9")
    assert response.status_code == 429 and "Practice is busy" in response.text
    assert response.headers["Retry-After"] == str(practice.BUSY_RETRY_SECONDS)


@pytest.mark.parametrize("app", [{"HELDOUT_PRACTICE_LIMIT": "2 per minute"}], indirect=True)
def test_the_rate_limit_counts_per_address(app: Flask, client: FlaskClient) -> None:
    for _ in range(2):
        assert _post(client).status_code == 302
        _finish_all(app)
    response = _post(client, "submit")
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert "Practice runs are limited to 2 per minute" in response.text
    assert _textarea(response.text) == CODE
    assert _post(client, address="192.0.2.99").status_code == 302  # another address
    assert len(_runs(app)) == 3


def test_the_sample_is_stored_as_a_version_and_graded_at_it(app: Flask) -> None:
    with app.app_context():
        bundle = practice.practice_bundle(SLUG, catalogue.get_bundles())
        assert bundle.practice and bundle.kind == "function"
        run = practice.request_practice_run(
            visitor="v", split="hidden", files=[], pasted_code=CODE, slug=SLUG,
            blobs=grading_settings().blobs, queue=get_queue(), bundles=catalogue.get_bundles(),
            now=utcnow())
        assert (run.challenge_slug, run.challenge_version) == (SLUG, bundle.version)
        # The job finds that version in the bundle store, as a submission's does.
        assert catalogue.get_bundles().at_version(SLUG, bundle.version).practice


# --- the real worker task, graders and Docker sandbox -------------------------------------

@pytest.mark.docker
def test_a_practice_run_grades_in_the_real_sandbox(app: Flask, client: FlaskClient,
                                                   sandbox_image: str) -> None:
    with app.app_context():
        huey = get_queue().huey
    for what, anchor in (("run", "public-checks"), ("submit", "status")):
        assert _post(client, what, code=REFERENCE).headers["Location"].endswith(anchor)
        with app.app_context():
            task = huey.dequeue()
            assert task is not None and task.name == practice.PRACTICE_RUNS.kind
            huey.execute(task)  # the real task: the graders' evaluate in the sandbox
    checks, graded = _runs(app)
    assert checks.status == "graded" and graded.status == "graded", (checks.error, graded.error)
    assert checks.evaluation is not None and checks.evaluation["split"] == "public"
    assert all(c["passed"] for c in checks.evaluation["checks"])
    assert graded.evaluation is not None
    result = Evaluation.from_dict(graded.evaluation)
    assert (result.split, result.score) == ("hidden", 100)
    page = client.get("/practice").text
    assert "2 of 2</strong> public checks passed" in page and "3/3 cases passed" in page
    assert "score 100" in page
    assert _count(app, Submission) == 0 and _count(app, PublicRun) == 0


def test_retention_deletes_practice_runs_after_a_day(app: Flask, client: FlaskClient) -> None:
    from datetime import timedelta

    from heldout.platform.services import retention

    old_code, new_code = "def median(values):\n    return 1\n", CODE
    assert _post(client, code=old_code, address="192.0.2.3").status_code == 302
    _finish_all(app)
    assert _post(app.test_client(), code=new_code, address="192.0.2.4").status_code == 302
    old, recent = _runs(app)
    with app.app_context():
        row = db.session.get(PracticeRun, old.id)
        assert row is not None
        row.created_at = utcnow() - timedelta(days=2)
        db.session.commit()
        blobs = grading_settings().blobs
        counted = retention.apply(app.config, blobs=blobs, now=utcnow(), dry_run=True)
        assert counted.removed == {"practice runs": 1} and _count(app, PracticeRun) == 2
        done = retention.apply(app.config, blobs=blobs, now=utcnow())
        assert (dict(done.removed), done.blobs_removed) == ({"practice runs": 1}, 1)
        assert [r.id for r in db.session.scalars(select(PracticeRun))] == [recent.id]
        assert blobs.get(recent.files[0]["sha256"]).decode() == new_code  # still named


def test_the_worker_keeps_no_warm_sandbox_for_practice(app: Flask) -> None:
    from heldout.platform import worker
    from heldout.platform.tasks import SANDBOX_KEY
    from heldout.sandbox.profiles import DEFAULT_PROFILE
    from heldout.sandbox.spec import Limits

    primed: list[tuple[Limits, str]] = []

    class Recorder:
        def prime(self, limits: Limits, profile: str = DEFAULT_PROFILE) -> None:
            primed.append((limits, profile))

    app.extensions[SANDBOX_KEY] = Recorder()
    worker.prime_sandbox(app)
    churn = Path(app.config["HELDOUT_CHALLENGES_DIR"]) / "churn-prediction"
    churn_bundle = load_bundle(churn)
    assert primed == [(churn_bundle.limits, churn_bundle.profile)]  # the assessment's only
