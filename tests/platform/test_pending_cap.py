"""The pending caps hold under concurrent requests: counted and inserted under one lock.

Each thread submits through the service with its own app context (its own database
connection), all released at once, as simultaneous requests of one candidate (several
tabs, a double click, a script) reach several web threads. Runs on SQLite and, with
HELDOUT_TEST_DB=postgresql, on PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from heldout.platform.blobs import BlobStore
from heldout.platform.errors import TooManySubmissions
from heldout.platform.extensions import db
from heldout.platform.models import PublicRun, Submission, utcnow
from heldout.platform.queue import get_queue
from heldout.platform.services import catalogue, public_runs, submissions
from heldout.platform.services.submissions import SubmittedFile

SLUG = "churn-prediction"
CAP = 3
REQUESTS = 8


def race(app: Flask, request: Callable[[int], object]) -> tuple[int, int, list[str]]:
    """Run ``request`` in REQUESTS threads at once: (accepted, refused, other errors)."""
    barrier = threading.Barrier(REQUESTS)
    accepted: list[int] = []
    refused: list[int] = []
    errors: list[str] = []

    def one(index: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                request(index)
                accepted.append(index)
            except TooManySubmissions:
                refused.append(index)
            except Exception as exc:  # reported below: the test fails with the reason
                errors.append(f"{type(exc).__name__}: {exc}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=one, args=(index,)) for index in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return len(accepted), len(refused), errors


def files(index: int) -> list[SubmittedFile]:
    return [SubmittedFile("solution.py", f"print({index})\n".encode())]


def test_concurrent_submits_never_pass_the_pending_cap(app: Flask, attempt: str) -> None:
    blobs = BlobStore(Path(app.config["HELDOUT_DATA_DIR"]) / "blobs")

    def submit(index: int) -> None:
        submissions.submit(attempt_public_id=attempt, challenge_slug=SLUG, files=files(index),
                           blobs=blobs, queue=get_queue(), bundles=catalogue.get_bundles(),
                           now=utcnow(), max_pending=CAP)

    accepted, refused, errors = race(app, submit)
    assert errors == []
    with app.app_context():
        stored = db.session.scalar(select(func.count()).select_from(Submission))
    assert (accepted, refused, stored) == (CAP, REQUESTS - CAP, CAP)


def test_concurrent_public_runs_never_pass_their_cap(app: Flask, attempt: str) -> None:
    blobs = BlobStore(Path(app.config["HELDOUT_DATA_DIR"]) / "blobs")

    def run(index: int) -> None:
        public_runs.request_public_run(
            attempt_public_id=attempt, challenge_slug=SLUG, files=files(index), blobs=blobs,
            queue=get_queue(), bundles=catalogue.get_bundles(), now=utcnow())

    accepted, refused, errors = race(app, run)
    assert errors == []
    cap = public_runs.MAX_PENDING_PUBLIC_RUNS
    with app.app_context():
        stored = db.session.scalar(select(func.count()).select_from(PublicRun))
    assert (accepted, refused, stored) == (cap, REQUESTS - cap, cap)


@pytest.fixture(autouse=True)
def _queue_ready(app: Flask) -> None:
    """The queue's backend is made on first use: made here, not by racing threads."""
    with app.app_context():
        get_queue().tasks  # noqa: B018 - the property makes it
