"""The queue's tasks. They carry a submission id only; results live in our database."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from huey import Huey, crontab
from huey.api import TaskWrapper

from heldout.platform.blobs import BlobStore
from heldout.platform.models import utcnow
from heldout.platform.queue import get_queue
from heldout.platform.services import grading, recovery

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GradingTasks:
    huey: Huey
    grade_submission: TaskWrapper
    watchdog: TaskWrapper


def grading_settings() -> grading.GradingSettings:
    """Grading settings from the current app's config."""
    config = current_app.config
    data_dir = Path(config["HELDOUT_DATA_DIR"])
    return grading.GradingSettings(
        challenges_dir=Path(config["HELDOUT_CHALLENGES_DIR"]),
        blobs=BlobStore(data_dir / "blobs"),
        runs_dir=data_dir / "runs",
        tries=int(config["HELDOUT_GRADING_TRIES"]),
        lease_margin_seconds=int(config["HELDOUT_LEASE_MARGIN_SECONDS"]),
    )


def register_tasks(huey: Huey, app_context: Callable[[], AbstractContextManager[Any]]
                   ) -> GradingTasks:
    """Define the tasks on ``huey``; each runs inside a fresh app context."""

    # Huey is untyped: name the decorators' types so the tasks stay typed.
    as_task: Callable[[Callable[[int], None]], TaskWrapper] = huey.task(name="grade_submission")
    as_periodic: Callable[[Callable[[], None]], TaskWrapper] = huey.periodic_task(
        crontab(minute="*"), name="watchdog")

    @as_task
    def grade_submission(submission_id: int) -> None:
        with app_context():
            outcome = grading.grade_submission(submission_id, grading_settings())
        log.info("submission %s: %s %s", submission_id, outcome.status, outcome.detail)
        if outcome.retry_in is not None:
            # Lost if the queue is down; the watchdog queues it again once retry_at passes.
            grade_submission.schedule(args=(submission_id,), delay=outcome.retry_in)

    @as_periodic
    def watchdog() -> None:
        with app_context():
            recovery.recover(get_queue(), now=utcnow(),
                             tries_allowed=int(current_app.config["HELDOUT_GRADING_TRIES"]))

    return GradingTasks(huey, grade_submission, watchdog)
