"""The queue's tasks. A job carries its row's id only; results live in our database."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from huey import Huey, crontab
from huey.api import TaskWrapper
from huey.exceptions import RetryTask

from heldout.platform.errors import DATABASE_UNAVAILABLE
from heldout.platform.identity import IDENTITY_KEY, WorkerIdentity
from heldout.platform.models import utcnow
from heldout.platform.remote_files import EXTENSION_KEY as FILES_KEY
from heldout.platform.remote_files import blob_store
from heldout.platform.services import (
    drafts,
    feedback,
    followups,
    grading,
    integrity,
    jobs,
    mail,
    practice,
    public_runs,
    recovery,
    retention,
    similarity,
    webhook_sending,
    webhooks,
)
from heldout.platform.services.catalogue import get_bundles
from heldout.platform.services.jobs import LeasedJob

log = logging.getLogger(__name__)

# Every kind of leased job the queue runs: a task of the kind's name each.
JOBS: tuple[LeasedJob[Any], ...] = (grading.SUBMISSIONS, public_runs.PUBLIC_RUNS,
                                    integrity.INTEGRITY_RUNS, similarity.SIMILARITY,
                                    followups.FOLLOWUPS, practice.PRACTICE_RUNS)
DEADLINE_TASK_NAME = "submit_at_deadline"
# Where the worker keeps its sandbox (and warm pool) among the app's extensions.
SANDBOX_KEY = "heldout.sandbox"
# Where the worker keeps the event it sets once it is stopping (see jobs.GradingSettings).
STOPPING_KEY = "heldout.stopping"
# Seconds before a job that found the database away runs again.
DATABASE_RETRY_SECONDS = 5.0


@contextmanager
def retried_while_database_unavailable(job: str) -> Iterator[None]:
    """Run a job again shortly when the database can't be reached (restart, fail-over).

    Its row keeps its state in the database meanwhile; if the retry is lost too (the
    queue down as well), the watchdog queues the job again.
    """
    try:
        yield
    except DATABASE_UNAVAILABLE as exc:
        log.warning("%s: database unavailable, retrying in %ss (%s)", job,
                    DATABASE_RETRY_SECONDS, str(exc).splitlines()[0] if str(exc) else "")
        raise RetryTask(delay=DATABASE_RETRY_SECONDS) from exc


@dataclass(frozen=True)
class Tasks:
    """The tasks of one Huey instance: one per kind of job, and the periodic duties."""

    huey: Huey
    by_kind: Mapping[str, TaskWrapper]
    watchdog: TaskWrapper
    deadline_job: TaskWrapper
    # Sends the candidates' feedback e-mails that are due (services/feedback.py).
    feedback_job: TaskWrapper

    def job(self, kind: str) -> TaskWrapper:
        try:
            return self.by_kind[kind]
        except KeyError:
            raise ValueError(f"unknown kind of job {kind!r}; known: "
                             f"{', '.join(sorted(self.by_kind))}") from None


def grading_settings() -> jobs.GradingSettings:
    """Grading settings from the current app's config (and its worker identity, if any)."""
    config = current_app.config
    data_dir = Path(config["HELDOUT_DATA_DIR"])
    identity = current_app.extensions.get(IDENTITY_KEY)
    if isinstance(identity, WorkerIdentity):
        worker_id, life = identity.worker_id, identity.life
    else:  # grading outside `heldout worker` (tests, benchmarks): this process alone
        worker_id = config["HELDOUT_WORKER_ID"] or socket.gethostname()[:40]
        life = f"p{os.getpid()}"
    stopping = current_app.extensions.get(STOPPING_KEY)
    return jobs.GradingSettings(
        bundles=get_bundles(),
        # On a worker of another host, a cache in front of the web app's store.
        blobs=blob_store(data_dir / "blobs", current_app.extensions.get(FILES_KEY)),
        runs_dir=data_dir / "runs",
        variants_dir=data_dir / "variants",
        tries=int(config["HELDOUT_GRADING_TRIES"]),
        lease_margin_seconds=int(config["HELDOUT_LEASE_MARGIN_SECONDS"]),
        worker_id=worker_id,
        worker_life=life,
        stopping=stopping if isinstance(stopping, threading.Event) else threading.Event(),
    )


def register_tasks(huey: Huey, app_context: Callable[[], AbstractContextManager[Any]],
                   queue: jobs.Queue) -> Tasks:
    """Define the tasks on ``huey``; each runs inside a fresh app context."""

    # Redis's plain list storage has no priorities (it refuses one): there, every kind
    # simply takes its turn.
    prioritised = bool(getattr(huey.storage, "priority", False))

    def job_task(kind: LeasedJob[Any]) -> TaskWrapper:
        # Huey is untyped: name the decorator's type so the task stays typed.
        as_task: Callable[[Callable[[int], None]], TaskWrapper] = huey.task(
            name=kind.kind, priority=kind.priority if prioritised and kind.priority else None)

        @as_task
        def run_job(job_id: int) -> None:
            with retried_while_database_unavailable(f"{kind.name} {job_id}"), app_context():
                sandbox = current_app.extensions.get(SANDBOX_KEY)
                job = kind if sandbox is None else kind.with_sandbox(sandbox)
                outcome = jobs.run(job, job_id, grading_settings())
            log.info("%s %s: %s %s", kind.name, job_id, outcome.status, outcome.detail)
            for then_kind, then_id in outcome.then:
                jobs.enqueue_committed(queue, then_kind, then_id)
            if outcome.retry_in is None:
                return
            if outcome.status == "not_due" and job_id in queue.waiting(kind.kind):
                return  # run early while its scheduled job still waits: that one will do
            # Run no earlier than the retry_at just recorded (the claim refuses it before).
            # Lost if the queue is down; the watchdog queues it again once retry_at passes.
            queue.enqueue(kind.kind, job_id, delay=max(outcome.retry_in, 0.001))

        return run_job

    as_periodic: Callable[[Callable[[], None]], TaskWrapper] = huey.periodic_task(
        crontab(minute="*"), name="watchdog")
    as_deadline_job: Callable[[Callable[[], None]], TaskWrapper] = huey.periodic_task(
        crontab(minute="*"), name=DEADLINE_TASK_NAME)

    as_delivery: Callable[[Callable[[int], None]], TaskWrapper] = huey.task(
        name=webhooks.QUEUE_KIND)

    @as_delivery
    def deliver_webhook(delivery_id: int) -> None:
        # Sent from the worker only: a receiver that hangs holds this task, never a page.
        with retried_while_database_unavailable(f"webhook delivery {delivery_id}"), \
                app_context():
            outcome = webhook_sending.deliver(delivery_id, now=utcnow())
        log.info("webhook delivery %s: %s %s", delivery_id, outcome.status, outcome.detail)
        if outcome.retry_in is not None:
            # Lost if the queue is down; the watchdog queues it again once it is due.
            queue.enqueue(webhooks.QUEUE_KIND, delivery_id, delay=outcome.retry_in)

    as_feedback: Callable[[Callable[[], None]], TaskWrapper] = huey.periodic_task(
        crontab(minute="*"), name="send_feedback")

    @as_feedback
    def send_feedback() -> None:
        # Candidates' feedback e-mails, a minute's tick at most after their feedback is
        # ready. A slow SMTP server holds this task, never a page; a database away, or a
        # run cut short, leaves the rows due for the next tick.
        with app_context():
            config = current_app.config
            run = feedback.send_due(mail.SmtpSettings.from_config(config),
                                    org_name=config["HELDOUT_ORG_NAME"], now=utcnow())
        if run.sent or run.failed or run.retrying:
            log.info("feedback e-mail: %s", run)

    as_daily: Callable[[Callable[[], None]], TaskWrapper] = huey.periodic_task(
        crontab(hour="3", minute="17"), name="retention")

    @as_daily
    def apply_retention() -> None:
        # Deletes what is past its HELDOUT_RETENTION_* period; nothing when all are 0.
        with app_context():
            run = retention.apply(current_app.config, blobs=grading_settings().blobs,
                                  now=utcnow())
        if run.total:
            log.info("retention: removed %s and %s file(s)", dict(run.removed),
                     run.blobs_removed)

    @as_periodic
    def watchdog() -> None:
        with app_context():
            tries = int(current_app.config["HELDOUT_GRADING_TRIES"])
            for kind in JOBS:
                recovery.recover(kind, queue, now=utcnow(), tries_allowed=tries)
            webhook_sending.requeue_due(queue.waiting(webhooks.QUEUE_KIND),
                                 lambda delivery_id: queue.enqueue(webhooks.QUEUE_KIND,
                                                                   delivery_id),
                                 now=utcnow())

    @as_deadline_job
    def submit_at_deadline() -> None:
        # The server, not the browser, submits the last saved work once time is up; a
        # minute's tick at most after the deadline. Safe to run twice or on two workers.
        with app_context():
            outcomes = drafts.submit_due_drafts(blobs=grading_settings().blobs, queue=queue,
                                                bundles=get_bundles(), now=utcnow())
        for outcome in outcomes:
            log.info("deadline: attempt %s challenge %s: submission %s %s", outcome.attempt_id,
                     outcome.challenge_id, outcome.submission_id, outcome.note)

    return Tasks(huey, {**{kind.kind: job_task(kind) for kind in JOBS},
                        webhooks.QUEUE_KIND: deliver_webhook}, watchdog, submit_at_deadline,
                 send_feedback)
