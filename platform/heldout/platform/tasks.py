"""The queue's tasks. They carry a submission id only; results live in our database."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from flask import current_app
from huey import Huey, crontab
from huey.api import TaskWrapper
from huey.exceptions import RetryTask

from heldout.graders.evaluate import evaluate as graders_evaluate
from heldout.platform.errors import DATABASE_UNAVAILABLE
from heldout.platform.identity import IDENTITY_KEY, WorkerIdentity
from heldout.platform.models import utcnow
from heldout.platform.remote_files import EXTENSION_KEY as FILES_KEY
from heldout.platform.remote_files import blob_store
from heldout.platform.services import drafts, grading, public_runs, recovery
from heldout.platform.services.catalogue import get_bundles

log = logging.getLogger(__name__)

# The name jobs carry in the queue; kept from earlier releases so queued jobs still run.
GRADE_TASK_NAME = "grade_submission"
PUBLIC_TASK_NAME = "run_public_checks"
DEADLINE_TASK_NAME = "submit_at_deadline"
# Huey takes higher priorities first: a public run waits behind every queued submission.
PUBLIC_RUN_PRIORITY = -10
# Where the worker keeps its sandbox (and warm pool) among the app's extensions.
SANDBOX_KEY = "heldout.sandbox"


# Seconds before a job that found the database away runs again.
DATABASE_RETRY_SECONDS = 5.0


@contextmanager
def retried_while_database_unavailable(job: str) -> Iterator[None]:
    """Run a job again shortly when the database can't be reached (restart, fail-over).

    Its submission keeps its state in the database meanwhile; if the retry is lost too
    (the queue down as well), the watchdog queues the submission again.
    """
    try:
        yield
    except DATABASE_UNAVAILABLE as exc:
        log.warning("%s: database unavailable, retrying in %ss (%s)", job,
                    DATABASE_RETRY_SECONDS, str(exc).splitlines()[0] if str(exc) else "")
        raise RetryTask(delay=DATABASE_RETRY_SECONDS) from exc


@dataclass(frozen=True)
class GradingTasks:
    """The tasks of one Huey instance; also what recovery re-queues through."""

    huey: Huey
    grade_submission_task: TaskWrapper
    watchdog: TaskWrapper
    public_run_task: TaskWrapper
    deadline_job: TaskWrapper

    def enqueue_grading(self, submission_id: int, *, delay: float | None = None) -> None:
        """Put a grading job on the queue (raises if the backend can't be reached)."""
        if delay:
            self.grade_submission_task.schedule(args=(submission_id,), delay=delay)
        else:
            self.grade_submission_task(submission_id)

    def waiting_submission_ids(self) -> set[int]:
        """Submissions with a grading job waiting in the queue (pending or scheduled)."""
        return self._waiting(GRADE_TASK_NAME)

    def enqueue_public_run(self, run_id: int, *, delay: float | None = None) -> None:
        """Put a public run on the queue, behind the submissions (raises if it is down)."""
        if delay:
            self.public_run_task.schedule(args=(run_id,), delay=delay)
        else:
            self.public_run_task(run_id)

    def waiting_public_run_ids(self) -> set[int]:
        return self._waiting(PUBLIC_TASK_NAME)

    def _waiting(self, name: str) -> set[int]:
        waiting: set[int] = set()
        for task in [*self.huey.pending(), *self.huey.scheduled()]:
            if task.name == name and task.args:
                waiting.add(int(task.args[0]))
        return waiting


def grading_settings() -> grading.GradingSettings:
    """Grading settings from the current app's config (and its worker identity, if any)."""
    config = current_app.config
    data_dir = Path(config["HELDOUT_DATA_DIR"])
    identity = current_app.extensions.get(IDENTITY_KEY)
    if isinstance(identity, WorkerIdentity):
        worker_id, life = identity.worker_id, identity.life
    else:  # grading outside `heldout worker` (tests, benchmarks): this process alone
        worker_id = config["HELDOUT_WORKER_ID"] or socket.gethostname()[:40]
        life = f"p{os.getpid()}"
    return grading.GradingSettings(
        bundles=get_bundles(),
        # On a worker of another host, a cache in front of the web app's store.
        blobs=blob_store(data_dir / "blobs", current_app.extensions.get(FILES_KEY)),
        runs_dir=data_dir / "runs",
        variants_dir=data_dir / "variants",
        tries=int(config["HELDOUT_GRADING_TRIES"]),
        lease_margin_seconds=int(config["HELDOUT_LEASE_MARGIN_SECONDS"]),
        worker_id=worker_id,
        worker_life=life,
    )


def register_tasks(huey: Huey, app_context: Callable[[], AbstractContextManager[Any]]
                   ) -> GradingTasks:
    """Define the tasks on ``huey``; each runs inside a fresh app context."""

    # Huey is untyped: name the decorators' types so the tasks stay typed.
    as_task: Callable[[Callable[[int], None]], TaskWrapper] = huey.task(name=GRADE_TASK_NAME)
    # Redis's plain list storage has no priorities (it refuses one): there, public runs
    # simply take their turn.
    priority = PUBLIC_RUN_PRIORITY if getattr(huey.storage, "priority", False) else None
    as_public_task: Callable[[Callable[[int], None]], TaskWrapper] = huey.task(
        name=PUBLIC_TASK_NAME, priority=priority)
    as_periodic: Callable[[Callable[[], None]], TaskWrapper] = huey.periodic_task(
        crontab(minute="*"), name="watchdog")
    as_deadline_job: Callable[[Callable[[], None]], TaskWrapper] = huey.periodic_task(
        crontab(minute="*"), name=DEADLINE_TASK_NAME)

    @as_task
    def grade_submission_task(submission_id: int) -> None:
        with retried_while_database_unavailable(f"submission {submission_id}"), app_context():
            sandbox = current_app.extensions.get(SANDBOX_KEY)
            evaluate = None if sandbox is None else partial(graders_evaluate, sandbox=sandbox)
            outcome = grading.grade_submission(submission_id, grading_settings(), evaluate=evaluate)
        log.info("submission %s: %s %s", submission_id, outcome.status, outcome.detail)
        if outcome.retry_in is None:
            return
        if outcome.status == "not_due" and submission_id in tasks.waiting_submission_ids():
            return  # run early while its scheduled job still waits: that one will do
        # Run no earlier than the retry_at just recorded (the claim refuses it before).
        # Lost if the queue is down; the watchdog queues it again once retry_at passes.
        tasks.enqueue_grading(submission_id, delay=max(outcome.retry_in, 0.001))

    @as_public_task
    def public_run_task(run_id: int) -> None:
        with retried_while_database_unavailable(f"public run {run_id}"), app_context():
            sandbox = current_app.extensions.get(SANDBOX_KEY)
            evaluate = None if sandbox is None else partial(graders_evaluate, sandbox=sandbox)
            outcome = public_runs.run_public_checks(run_id, grading_settings(),
                                                    evaluate=evaluate)
        log.info("public run %s: %s %s", run_id, outcome.status, outcome.detail)
        if outcome.retry_in is None:
            return
        if outcome.status == "not_due" and run_id in tasks.waiting_public_run_ids():
            return
        tasks.enqueue_public_run(run_id, delay=max(outcome.retry_in, 0.001))

    @as_periodic
    def watchdog() -> None:
        with app_context():
            tries = int(current_app.config["HELDOUT_GRADING_TRIES"])
            recovery.recover(tasks, now=utcnow(), tries_allowed=tries)
            public_runs.recover_public_runs(tasks, now=utcnow(), tries_allowed=tries)

    @as_deadline_job
    def submit_at_deadline() -> None:
        # The server, not the browser, submits the last saved work once time is up; a
        # minute's tick at most after the deadline. Safe to run twice or on two workers.
        with app_context():
            outcomes = drafts.submit_due_drafts(blobs=grading_settings().blobs, queue=tasks,
                                                bundles=get_bundles(), now=utcnow())
        for outcome in outcomes:
            log.info("deadline: attempt %s challenge %s: submission %s %s", outcome.attempt_id,
                     outcome.challenge_id, outcome.submission_id, outcome.note)

    tasks = GradingTasks(huey, grade_submission_task, watchdog, public_run_task,
                         submit_at_deadline)
    return tasks
