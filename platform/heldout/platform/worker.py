"""The grading worker: a Huey consumer whose tasks run inside the Flask app context."""

from __future__ import annotations

import logging
import re
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from flask import Flask
from huey.consumer import Consumer

from heldout.platform.config import sandbox_settings
from heldout.platform.errors import ConfigError
from heldout.platform.identity import (
    IDENTITY_KEY,
    IdentityLock,
    WorkerIdentity,
    claim_identity,
)
from heldout.platform.models import utcnow
from heldout.platform.queue import get_queue
from heldout.platform.remote_files import EXTENSION_KEY as FILES_KEY
from heldout.platform.remote_files import FilesClient, FilesUnavailable
from heldout.platform.services import recovery
from heldout.platform.tasks import JOBS, SANDBOX_KEY, STOPPING_KEY
from heldout.sandbox import Sandbox, SandboxError, SweepReport, exit_on_sigterm, get_sandbox

log = logging.getLogger(__name__)

# How long a stopping worker waits for its jobs to clean up after the runs it cut short.
STOP_SECONDS = 30.0


def sweep_sandboxes(sandbox: Sandbox, identity: WorkerIdentity) -> SweepReport:
    """Remove what earlier lives of our identity and dead processes left in the sandbox
    (sandboxes, run directories, cgroups); a sandbox that can't be reached is only logged.

    Holding our identity exclusively, everything labelled with it is an earlier life's (a
    restarted worker container gets a new host name and may even get the same process
    id, so neither tells lives apart).
    """
    try:
        return sandbox.sweep(identity.worker_id, owner_gone=identity.exclusive)
    except SandboxError as exc:
        log.warning("could not sweep orphan sandbox containers: %s", str(exc))
        return SweepReport(())


def sweep_work_dirs(data_dir: Path, identity: WorkerIdentity) -> list[Path]:
    """Remove the work directories earlier lives of our identity left in ``<data_dir>/runs``.

    A job works in ``<kind's prefix><id>-<worker>-<life>-<claim>`` (see ``jobs.run``) and
    removes it when done; a worker killed mid-run leaves it, the candidate's files inside.
    Only the holder of the identity removes them: another worker on the same data
    directory runs under an id of its own, and its directories don't match.
    """
    runs = data_dir / "runs"
    if not identity.exclusive or not runs.is_dir():
        return []
    prefixes = "|".join(re.escape(kind.workdir_prefix) for kind in JOBS)
    name = re.compile(rf"(?:{prefixes})\d+-{re.escape(identity.worker_id)}"
                      r"-(?P<life>[0-9a-f]{12})-[0-9a-f]{8}")
    removed: list[Path] = []
    for entry in runs.iterdir():
        match = name.fullmatch(entry.name)
        if match and match["life"] != identity.life and not entry.is_symlink() \
                and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def take_identity(app: Flask) -> tuple[WorkerIdentity, IdentityLock]:
    """Claim this worker's identity and open the sandbox (the backend the settings name)
    that labels what it starts with it; the tasks find the sandbox among the app's
    extensions."""
    identity, lock = claim_identity(Path(app.config["HELDOUT_DATA_DIR"]),
                                    app.config["HELDOUT_WORKER_ID"] or None)
    try:
        sandbox = get_sandbox(sandbox_settings(app.config, owner=identity.worker_id))
    except SandboxError:
        lock.close()
        raise
    app.extensions[IDENTITY_KEY] = identity
    app.extensions[SANDBOX_KEY] = sandbox
    log.info("worker identity %s (life %s%s)", identity.worker_id, identity.life,
             "" if identity.exclusive else ", not persisted: the persisted one is in use")
    return identity, lock


def prepare(app: Flask, identity: WorkerIdentity) -> dict[str, recovery.RecoveryReport]:
    """Start-up duties: clean the sandbox, then re-queue whatever a dead worker left.

    What was recovered, by kind of job.
    """
    swept = sweep_sandboxes(app.extensions[SANDBOX_KEY], identity)
    if swept.containers:
        log.warning("removed %d orphan sandbox container(s)", len(swept.containers))
    left = sweep_work_dirs(Path(app.config["HELDOUT_DATA_DIR"]), identity)
    if left:
        log.warning("removed %d work directory(ies) of earlier lives: %s", len(left),
                    ", ".join(path.name for path in left))
    previous = recovery.Previous(identity.worker_id, identity.life) if identity.exclusive \
        else None
    with app.app_context():
        tries = int(app.config["HELDOUT_GRADING_TRIES"])
        return {kind.kind: recovery.recover(kind, get_queue(), now=utcnow(), tries_allowed=tries,
                                            previous=previous)
                for kind in JOBS}


def make_consumer(app: Flask, workers: int | None = None, **options: Any) -> Consumer:
    """A consumer for the app's queue: thread workers, periodic watchdog on."""
    with app.app_context():
        huey = get_queue().huey
    settings: dict[str, Any] = {
        "workers": workers or int(app.config["HELDOUT_WORKERS"]),
        "worker_type": "thread",
        "periodic": True,
        "initial_delay": 0.1,
        "backoff": 1.15,
        "max_delay": 0.5,  # an idle worker notices a new submission within half a second
        "check_worker_health": True,
    }
    settings.update(options)
    return huey.create_consumer(**settings)


def prime_sandbox(app: Flask) -> None:
    """Prime the worker's sandbox for every challenge's limits.

    With ``HELDOUT_SANDBOX_WARM`` > 0 the backend keeps that many sandboxes per profile
    started, with the scientific stack imported, before a submission exists; each serves
    one job. Without an engine the worker still starts, and every run simply goes cold (and
    reports the engine's state).
    """
    from heldout.graders.bundle import scan_bundles

    sandbox: Sandbox = app.extensions[SANDBOX_KEY]
    try:
        for bundle in scan_bundles(Path(app.config["HELDOUT_CHALLENGES_DIR"])).bundles:
            if not bundle.practice:  # anonymous practice runs go cold: no pool kept for them
                sandbox.prime(bundle.limits, bundle.profile)
    except SandboxError as exc:
        log.warning("no warm sandbox containers: %s", str(exc))


def stop_jobs(app: Flask, consumer: Consumer | None, seconds: float = STOP_SECONDS) -> None:
    """End the jobs still running once the consumer has stopped taking new ones.

    After SIGINT the consumer has waited for them; after SIGTERM (or a second SIGINT, or
    a failure) they still run, in threads no exception can reach. Closing the sandbox cuts
    their runs short; each job's own clean-up then removes its container, run directory
    and work directory, and puts the job back on the queue (see ``jobs.run``). The
    sandbox stays the tasks' until then: a job taken at the last moment is refused a run
    rather than given a sandbox nobody closes.
    """
    threads = [] if consumer is None else [thread for _, thread in consumer.worker_threads]
    if consumer is not None:
        consumer.stop_flag.set()
    stopping = app.extensions.get(STOPPING_KEY)
    if isinstance(stopping, threading.Event):
        stopping.set()
    sandbox: Sandbox | None = app.extensions.get(SANDBOX_KEY)
    if sandbox is not None:
        sandbox.close()
    deadline = time.monotonic() + seconds
    for thread in threads:
        if thread.ident is not None:  # started
            thread.join(max(0.0, deadline - time.monotonic()))
    left = [thread.name for thread in threads if thread.is_alive()]
    if left:
        log.error("jobs still cleaning up after %.0f s, left to the next start: %s", seconds,
                  ", ".join(left))


def check_files_endpoint(app: Flask) -> None:
    """With ``HELDOUT_FILES_URL`` set, one authenticated request to the web app's internal
    endpoint; ``ConfigError`` saying what is wrong if it does not answer with the token."""
    client = app.extensions.get(FILES_KEY)
    if not isinstance(client, FilesClient):
        return
    try:
        client.ping()
    except FilesUnavailable as exc:
        raise ConfigError(f"HELDOUT_FILES_URL={client.base_url}: the web app's internal "
                          f"endpoint is not usable, so this worker could not fetch submitted "
                          f"files: {exc}") from exc
    log.info("files from %s (internal endpoint answers)", client.base_url)


class Duties:
    """The worker's own clock for its periodic duties, every ``HELDOUT_DUTIES_SECONDS``.

    The deadline submitter and the watchdog, run more often than the queue's minute tick
    (still registered as a safety net): time-up drafts are submitted within seconds of the
    deadline, and a dead worker's job is queued again soon after its lease runs out. Both
    are safe to run twice or on several workers at once.
    """

    def __init__(self, app: Flask, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="heldout-duties", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=30)

    def run_once(self) -> None:
        with self.app.app_context():
            tasks = get_queue().tasks
        for duty in (tasks.deadline_job, tasks.watchdog):
            if self._stop.is_set():
                return
            try:
                duty.call_local()  # each opens its own app context
            except Exception as exc:  # the database or queue away: next time, then
                log.warning("worker duty %s failed: %s: %s", duty.name, type(exc).__name__,
                            str(exc).splitlines()[0] if str(exc) else "")

    def _loop(self) -> None:
        while not self._stop.wait(self.seconds):
            self.run_once()


def run(app: Flask, workers: int | None = None) -> None:
    """Run until SIGINT (running jobs finish) or SIGTERM (running jobs end now, queued
    again); either way no sandbox container, run directory or work directory of this
    process is left behind."""
    exit_on_sigterm()  # until the consumer takes SIGTERM over: start-up unwinds too
    try:
        check_files_endpoint(app)
    except ConfigError as exc:
        raise SystemExit(f"heldout worker: {exc.message}") from exc
    try:
        identity, lock = take_identity(app)
    except SandboxError as exc:
        raise SystemExit(f"heldout worker: {exc}") from exc
    try:
        for kind, report in prepare(app, identity).items():
            log.info("worker starting, %s: re-queued %d, stale %d, given up %d", kind,
                     len(report.requeued), len(report.stale), len(report.given_up))
        count = workers or int(app.config["HELDOUT_WORKERS"])
        app.extensions[STOPPING_KEY] = threading.Event()
        prime_sandbox(app)
        duties = Duties(app, float(app.config["HELDOUT_DUTIES_SECONDS"]))
        consumer: Consumer | None = None
        try:
            consumer = make_consumer(app, count)
            duties.start()
            consumer.run()
        finally:
            duties.stop()
            stop_jobs(app, consumer)
    finally:
        sandbox: Sandbox | None = app.extensions.pop(SANDBOX_KEY, None)
        if sandbox is not None:
            sandbox.close()
        lock.close()
