"""A submission is graded against the bundle version it was made for, whatever changes later."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from heldout.graders.bundle import Bundle
from heldout.graders.result import Check
from heldout.graders.result import Evaluation as GradedResult
from heldout.platform.app import create_app
from heldout.platform.blobs import BlobStore, BundleStore, BundleVersionMissing
from heldout.platform.extensions import db
from heldout.platform.models import Challenge, ChallengeVersion, Submission, User, utcnow
from heldout.platform.queue import get_queue
from heldout.platform.services import assessments, attempts, catalogue, grading, invites, submissions
from heldout.platform.tasks import grading_settings

REPO = Path(__file__).resolve().parents[2]
SLUG = "churn-prediction"
PASSWORD = "correct horse battery"
REFERENCE = REPO / "challenges" / SLUG / "solutions" / "reference" / "solution.py"


@pytest.fixture
def live(tmp_path: Path) -> Path:
    """A challenges directory of our own: these tests edit its bundle."""
    root = tmp_path / "challenges"
    shutil.copytree(REPO / "challenges" / SLUG, root / SLUG)
    return root


@pytest.fixture
def app(tmp_path: Path, live: Path) -> Iterator[Flask]:
    app = create_app({"HELDOUT_ENV": "testing", "HELDOUT_SECRET_KEY": "versions-secret",
                      "HELDOUT_DATA_DIR": str(tmp_path / "var"),
                      "HELDOUT_CHALLENGES_DIR": str(live), "HELDOUT_QUEUE_URL": "memory://",
                      "WTF_CSRF_ENABLED": False})
    with app.app_context():
        db.create_all()
        catalogue.load_challenges(live)
    yield app
    with app.app_context():
        db.engine.dispose()


@dataclass(frozen=True)
class Candidate:
    attempt_public_id: str
    attempt_id: int


@pytest.fixture
def candidate(app: Flask) -> Candidate:
    with app.app_context():
        user = User(email="interviewer@example.com", name="Ivan", role="interviewer",
                    password_hash=generate_password_hash(PASSWORD, "pbkdf2:sha256:1000"))
        db.session.add(user)
        db.session.commit()
        assessment = assessments.create_assessment(
            name="versions", challenge_slugs=[SLUG], time_limit_minutes=600, instructions="",
            expires_at=None, show_scores=True, created_by_id=user.id)
        invite = invites.create_invite(
            assessment_id=assessment.id, candidate_name="Cara", candidate_email="c@example.org",
            created_by_id=user.id, secret="versions-secret", ttl_days=1, now=utcnow()).invite
        attempt = attempts.start_attempt(invite, consent=True, now=utcnow())
        return Candidate(attempt.public_id, attempt.id)


def submit(app: Flask, candidate: Candidate, code: str) -> int:
    with app.app_context():
        return submissions.submit(
            attempt_public_id=candidate.attempt_public_id, challenge_slug=SLUG, files=[],
            blobs=BlobStore(Path(app.config["HELDOUT_DATA_DIR"]) / "blobs"), queue=get_queue(),
            bundles=catalogue.get_bundles(), now=utcnow(), pasted_code=code).id


def flip_labels(bundle_dir: Path) -> None:
    """Edit the bundle's grading: every hidden label inverted (a new version)."""
    path = bundle_dir / "hidden" / "labels.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert rows and set(rows[0]) >= {"customer_id", "churn"}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow(row | {"churn": str(1 - int(row["churn"]))})
    path.write_text(out.getvalue())


@dataclass
class Seen:
    """What the grader was given: the bundle's version, its root and its hidden labels."""

    version: str
    root: Path
    labels: bytes


Evaluator = Callable[[Bundle, Path], GradedResult]


def recording(seen: list[Seen]) -> Evaluator:
    def evaluate(bundle: Bundle, submission: Path) -> GradedResult:
        # The version's committed labels (hidden_dir is the attempt's variant's).
        seen.append(Seen(bundle.version, bundle.root,
                         (bundle.root / "hidden" / "labels.csv").read_bytes()))
        return GradedResult(challenge=bundle.slug, version=bundle.version, status="graded",
                            score=50.0, checks=(Check("run", "run", True, 0, 0, "exit 0"),))
    return evaluate


def grade(app: Flask, submission_id: int, evaluate: Evaluator) -> grading.GradingOutcome:
    with app.app_context():
        return grading.grade_submission(submission_id, grading_settings(), evaluate=evaluate)


def challenge_version(app: Flask) -> str:
    with app.app_context():
        return db.session.scalars(select(Challenge.version).where(Challenge.slug == SLUG)).one()


def test_an_edited_bundle_never_changes_how_earlier_submissions_are_graded(
        app: Flask, live: Path, candidate: Candidate) -> None:
    v1 = challenge_version(app)
    v1_labels = (live / SLUG / "hidden" / "labels.csv").read_bytes()
    first = submit(app, candidate, "print('v1')\n")

    flip_labels(live / SLUG)
    (live / SLUG / "challenge.toml").write_text(
        (live / SLUG / "challenge.toml").read_text().replace("baseline = 0.70", "baseline = 0.75"))
    with app.app_context():
        report = catalogue.load_challenges(live)
    assert report.updated == (SLUG,)
    v2 = challenge_version(app)
    assert v2 != v1 and v1.startswith("sha256:") and v2.startswith("sha256:")
    with app.app_context():
        history = db.session.scalars(select(ChallengeVersion.version)
                                     .order_by(ChallengeVersion.id)).all()
        assert history == [v1, v2]
        row = db.session.get(Submission, first)
        assert row is not None and (row.status, row.challenge_version) == ("queued", v1)

    seen: list[Seen] = []
    assert grade(app, first, recording(seen)).status == "graded"
    assert seen[0].version == v1
    assert seen[0].labels == v1_labels  # the labels it was submitted against, not the edit
    store = Path(app.config["HELDOUT_DATA_DIR"]) / "bundles"
    assert seen[0].root == store / v1.removeprefix("sha256:") / SLUG
    with app.app_context():
        row = db.session.get(Submission, first)
        assert row is not None and row.evaluation is not None
        assert row.evaluation.challenge_version == v1

    second = submit(app, candidate, "print('v2')\n")
    assert grade(app, second, recording(seen)).status == "graded"
    assert seen[1].version == v2
    assert seen[1].labels == (live / SLUG / "hidden" / "labels.csv").read_bytes() != v1_labels
    with app.app_context():
        row = db.session.get(Submission, second)
        assert row is not None and row.challenge_version == v2

    # Even with the bundle gone from the challenges directory, v1 is still gradeable.
    shutil.rmtree(live / SLUG)
    third_bundles = catalogue.make_catalogue(live, Path(app.config["HELDOUT_DATA_DIR"]))
    assert third_bundles.at_version(SLUG, v1).version == v1


def test_the_report_shows_the_version_graded(app: Flask, live: Path,
                                             candidate: Candidate) -> None:
    first = submit(app, candidate, "print('v1')\n")
    assert grade(app, first, recording([])).status == "graded"
    v1 = challenge_version(app)
    flip_labels(live / SLUG)
    with app.app_context():
        catalogue.load_challenges(live)
    client = app.test_client()
    assert client.post("/login", data={"email": "interviewer@example.com",
                                       "password": PASSWORD}).status_code == 302
    page = client.get(f"/attempts/{candidate.attempt_id}/report")
    assert page.status_code == 200
    html = page.text
    start = html.index('class="muted small graded-version"')
    element = html[start:html.index("</p>", start)]
    short = v1.removeprefix("sha256:")[:12]
    assert f'title="{v1}"' in element and f">{short}</code>" in element
    assert challenge_version(app) != v1  # the catalogue moved on; the report did not


def test_stored_versions_are_content_addressed_and_checked(tmp_path: Path, live: Path) -> None:
    store = BundleStore(tmp_path / "bundles")
    version = store.add(live / SLUG)
    assert store.add(live / SLUG) == version  # idempotent
    directory = store.materialise(SLUG, version)
    assert directory == tmp_path / "bundles" / version.removeprefix("sha256:") / SLUG
    assert [p.name for p in (tmp_path / "bundles").iterdir()] == [version.removeprefix("sha256:")]
    assert (directory / "hidden" / "labels.csv").stat().st_mode & 0o222 == 0  # read-only

    bundles = catalogue.BundleCatalogue(live, store)
    assert bundles.at_version(SLUG, version).version == version
    with pytest.raises(BundleVersionMissing):
        store.materialise(SLUG, "sha256:" + "1" * 64)

    # A stored copy that no longer hashes to its version is refused, not graded.
    labels = directory / "hidden" / "labels.csv"
    labels.chmod(0o644)
    labels.write_text(labels.read_text() + "x,1\n")
    with pytest.raises(BundleVersionMissing, match="not churn-prediction"):
        catalogue.BundleCatalogue(live, store).at_version(SLUG, version)


def test_a_version_from_before_the_store_is_taken_from_the_challenges_dir(
        app: Flask, live: Path, candidate: Candidate) -> None:
    first = submit(app, candidate, "print('old')\n")
    version = challenge_version(app)
    store = Path(app.config["HELDOUT_DATA_DIR"]) / "bundles"
    shutil.rmtree(store)  # as after upgrading from a release without a bundle store
    with app.app_context():
        fresh = catalogue.make_catalogue(live, Path(app.config["HELDOUT_DATA_DIR"]))
        app.extensions[catalogue.EXTENSION_KEY] = fresh
    seen: list[Seen] = []
    assert grade(app, first, recording(seen)).status == "graded"
    assert seen[0].version == version and (store / version.removeprefix("sha256:")).is_dir()


@pytest.mark.docker
def test_real_grading_uses_the_submitted_version(app: Flask, live: Path, candidate: Candidate,
                                                 sandbox_image: str) -> None:
    code = REFERENCE.read_text()
    before_edit = submit(app, candidate, code)
    flip_labels(live / SLUG)
    with app.app_context():
        catalogue.load_challenges(live)
    after_edit = submit(app, candidate, code)
    scores = {}
    for submission_id in (before_edit, after_edit):
        with app.app_context():
            outcome = grading.grade_submission(submission_id, grading_settings())
            assert outcome.status == "graded", outcome.detail
            row = db.session.get(Submission, submission_id)
            assert row is not None and row.evaluation is not None
            assert row.evaluation.score is not None
            scores[submission_id] = row.evaluation.score
    assert scores[before_edit] >= 85  # the reference, graded on the labels it was written for
    assert scores[after_edit] == 0  # the same code against inverted labels
