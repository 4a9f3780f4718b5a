"""A worker killed mid-run loses nothing: the next worker removes its container and re-runs.

Told to stop (SIGTERM) mid-run, a worker or ``heldout grade`` leaves nothing behind in the
first place: not the next worker's sweep, the process itself removes its sandbox
containers, their run directories and its work directories on the way out. Those tests
start the real command on the real engine, wait until the submission runs in its
container, send SIGTERM, and look for what is left of that process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from flask import Flask

from heldout.platform.app import create_app
from heldout.platform.blobs import BlobStore
from heldout.platform.extensions import db
from heldout.platform.models import Submission, utcnow
from heldout.platform.processes import stop_processes
from heldout.platform.queue import get_queue
from heldout.platform.services import accounts, assessments, attempts, catalogue, invites, submissions
from heldout.platform.services.grading import SUBMISSIONS
from heldout.sandbox.engine import LABEL, LABEL_OWNER_PID
from heldout.sandbox.scratch import discard

REPO = Path(__file__).resolve().parents[2]
SLUG = "churn-prediction"

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def settings(tmp_path: Path, challenges_dir: Path) -> dict[str, str]:
    return {"HELDOUT_ENV": "testing", "HELDOUT_SECRET_KEY": "crash-secret",
            "HELDOUT_DATA_DIR": str(tmp_path / "var"), "HELDOUT_CHALLENGES_DIR": str(challenges_dir),
            "HELDOUT_WORKERS": "1", "HELDOUT_SANDBOX_WARM": "0"}


@pytest.fixture
def app(settings: dict[str, str]) -> Iterator[Flask]:
    app = create_app(settings)
    with app.app_context():
        flask_migrate.upgrade()
        catalogue.load_challenges(Path(settings["HELDOUT_CHALLENGES_DIR"]))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def start_worker(settings: dict[str, str], sandbox_image: str
                 ) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen([sys.executable, "-m", "heldout.platform", "worker"],
                                   env={**os.environ, **settings}, cwd=REPO)
        started.append(process)
        return process

    yield start
    stop_processes([(process, signal.SIGINT) for process in started])


def submit(app: Flask, settings: dict[str, str], code: str) -> int:
    with app.app_context():
        user = accounts.create_user("rec@example.com", "Rec", "recruiter", "correct horse battery")
        assessment = assessments.create_assessment(
            name="crash", challenge_slugs=[SLUG], time_limit_minutes=60, instructions="",
            expires_at=None, show_scores=True, created_by_id=user.id)
        invite = invites.create_invite(
            assessment_id=assessment.id, candidate_name="Cara", candidate_email="c@example.org",
            created_by_id=user.id, secret=settings["HELDOUT_SECRET_KEY"], ttl_days=1, now=utcnow()).invite
        attempt = attempts.start_attempt(invite, consent=True, now=utcnow())
        submission = submissions.submit(
            attempt_public_id=attempt.public_id, challenge_slug=SLUG, files=[],
            blobs=BlobStore(Path(settings["HELDOUT_DATA_DIR"]) / "blobs"), queue=get_queue(),
            bundles=catalogue.get_bundles(), now=utcnow(), pasted_code=code)
        return submission.id


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_killed_worker_is_recovered(app: Flask, settings: dict[str, str], challenges_dir: Path,
                                    docker_client: Any,
                                    start_worker: Callable[[], subprocess.Popen[bytes]]) -> None:
    code = (challenges_dir / SLUG / "solutions" / "reference" / "solution.py").read_text()
    submission_id = submit(app, settings, "import time\ntime.sleep(6)\n" + code)

    def row() -> Submission:
        with app.app_context():
            found = db.session.get(Submission, submission_id)
            assert found is not None
            db.session.expunge(found)
            return found

    first = start_worker()
    wait_for(lambda: row().status == "running", 60, "the first worker to start the job")
    labels = [f"{LABEL}=1", f"{LABEL_OWNER_PID}={first.pid}"]
    orphan = wait_for(lambda: docker_client.containers.list(filters={"label": labels}), 30,
                      "the job's sandbox container")[0]

    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert docker_client.containers.list(all=True, filters={"id": orphan.id}), \
        "the container outlived its worker, as after a real crash"
    assert row().status == "running"

    start_worker()
    graded = wait_for(lambda: row() if row().status in ("graded", "internal_error") else None, 180,
                      "the second worker to re-run the submission")
    assert graded.status == "graded", graded.error
    assert graded.tries == 2
    assert docker_client.containers.list(all=True, filters={"id": orphan.id}) == []
    with app.app_context():
        evaluation = db.session.get(Submission, submission_id).evaluation  # type: ignore[union-attr]
        assert evaluation is not None and evaluation.score is not None and evaluation.score >= 85


# Long enough to be mid-run when the signal comes, whatever the machine's load.
SLOW = "import time\ntime.sleep(600)\n"


class Leftovers:
    """What a process of the test leaves: containers labelled with its pid, run directories."""

    def __init__(self, root: Path, docker_client: Any) -> None:
        self.sandbox_runs = root / "sandbox-runs"
        self.tmp = root / "tmp"
        self.sandbox_runs.mkdir()
        self.tmp.mkdir()
        self.docker = docker_client
        self.pids: list[int] = []

    def env(self, **settings: str) -> dict[str, str]:
        return {**os.environ, **settings, "HELDOUT_RUN_DIR": str(self.sandbox_runs),
                "TMPDIR": str(self.tmp)}

    def containers(self, pid: int, *, running: bool = False) -> list[Any]:
        labels = [f"{LABEL}=1", f"{LABEL_OWNER_PID}={pid}"]
        return list(self.docker.containers.list(all=not running, filters={"label": labels}))

    def job_running(self, pid: int) -> bool:
        """The submission is staged in a run directory and a container of ``pid`` runs (a
        warm container waits with an empty workspace until a job takes it)."""
        staged = any((rundir / "workspace" / "solution.py").is_file()
                     for rundir in self.sandbox_runs.iterdir())
        return staged and bool(self.containers(pid, running=True))

    def clean(self) -> None:
        """A failed run of this test must not litter the shared engine nor the host's mounts."""
        for pid in self.pids:
            for container in self.containers(pid):
                container.remove(force=True)
        for rundir in self.sandbox_runs.iterdir():
            discard(rundir, self.sandbox_runs)  # unmounts its capped /output first


@pytest.fixture
def leftovers(tmp_path: Path, docker_client: Any, sandbox_image: str) -> Iterator[Leftovers]:
    found = Leftovers(tmp_path, docker_client)
    yield found
    found.clean()


def terminate_mid_run(process: subprocess.Popen[bytes], leftovers: Leftovers) -> None:
    """SIGTERM once the process's submission runs in its own sandbox container."""
    leftovers.pids.append(process.pid)
    try:
        wait_for(lambda: process.poll() is not None or leftovers.job_running(process.pid),
                 240, "the submission's sandbox run")
        assert process.poll() is None, "the process ended before its run started"
        time.sleep(1)  # into the run itself
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_heldout_grade_leaves_nothing_when_terminated(tmp_path: Path, challenges_dir: Path,
                                                      leftovers: Leftovers) -> None:
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "solution.py").write_text(SLOW)
    process = subprocess.Popen(
        [sys.executable, "-m", "heldout.platform", "grade", SLUG, str(submission), "--json",
         "--challenges-dir", str(challenges_dir)],
        env=leftovers.env(), cwd=REPO, stdout=subprocess.DEVNULL)
    terminate_mid_run(process, leftovers)

    assert process.returncode != 0
    assert leftovers.containers(process.pid) == []
    assert list(leftovers.sandbox_runs.iterdir()) == []
    assert list(leftovers.tmp.iterdir()) == []


def test_the_worker_leaves_nothing_when_terminated(app: Flask, settings: dict[str, str],
                                                   leftovers: Leftovers) -> None:
    submission_id = submit(app, settings, SLOW)
    # The warm pool on, as in production: its containers are the process's too.
    process = subprocess.Popen([sys.executable, "-m", "heldout.platform", "worker"],
                               env=leftovers.env(**{**settings, "HELDOUT_SANDBOX_WARM": "1",
                                                    "HELDOUT_WORKERS": "2"}), cwd=REPO)
    terminate_mid_run(process, leftovers)

    assert leftovers.containers(process.pid) == []  # the job's and the warm pool's
    assert list(leftovers.sandbox_runs.iterdir()) == []
    work_dirs = Path(settings["HELDOUT_DATA_DIR"]) / "runs"
    assert not work_dirs.is_dir() or list(work_dirs.iterdir()) == []
    assert list(leftovers.tmp.iterdir()) == []
    with app.app_context():
        row = db.session.get(Submission, submission_id)
        assert row is not None
        # Not lost, and never scored for the stop: the run is a platform interruption,
        # its job queued again at once.
        assert (row.status, row.lease_owner, row.tries) == ("queued", None, 1)
        assert row.evaluation is None
        assert get_queue().waiting(SUBMISSIONS.kind) == {submission_id}
