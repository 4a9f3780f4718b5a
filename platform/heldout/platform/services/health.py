"""System health for admins: engine, image, queue, workers, oldest waiting submission.

Each check is ok, warn or fail with what to do. A probe that could block (the sandbox's
engine, a remote queue) runs in a thread with a deadline, so a dead engine makes the page
say so instead of hanging it; the sandbox backend is loaded there, never by the web
process at start-up.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal, TypeVar

from sqlalchemy import func, select

from heldout.platform.extensions import db
from heldout.platform.models import FollowupQuestion, IntegrityRun, PublicRun, Submission
from heldout.sandbox import Finding, SandboxHealth, SandboxSettings

Level = Literal["ok", "warn", "fail"]
T = TypeVar("T")

PROBE_TIMEOUT_S = 4.0
QUEUE_WARN_DEPTH = 20
OLDEST_WARN = timedelta(minutes=5)
OLDEST_FAIL = timedelta(minutes=30)
PROC_LOCKS = Path("/proc/locks")


@dataclass(frozen=True)
class HealthCheck:
    name: str
    level: Level
    detail: str
    action: str = ""


class ProbeTimeout(Exception):
    pass


def _with_deadline(probe: Callable[[], T], seconds: float) -> T:
    """``probe()``'s result, or ProbeTimeout after ``seconds`` (the thread is left to end
    on its own: a daemon, so it never holds the process open)."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = probe()
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="health-probe", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise ProbeTimeout(f"no answer within {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def _sandbox_health(settings: SandboxSettings) -> SandboxHealth:
    from heldout.sandbox import get_sandbox

    sandbox = get_sandbox(settings)
    try:
        return sandbox.health()
    finally:
        sandbox.close()


def _unanswered(detail: str) -> list[HealthCheck]:
    return [HealthCheck("engine", "fail", detail,
                        "Check that the sandbox's engine runs and that its settings name it "
                        "(`heldout doctor` says more)."),
            HealthCheck("image", "fail", "Unknown: the engine did not answer.",
                        "Fix the engine first.")]


def _row(name: str, finding: Finding, detail: str) -> HealthCheck:
    if finding.ok:
        return HealthCheck(name, "ok", detail)
    return HealthCheck(name, "fail", detail, finding.fix or "Run `heldout doctor`.")


def sandbox_checks(settings: SandboxSettings, timeout: float = PROBE_TIMEOUT_S
                   ) -> list[HealthCheck]:
    """The engine and the image jobs run in, from the sandbox backend's own health."""
    try:
        state = _with_deadline(lambda: _sandbox_health(settings), timeout)
    except ProbeTimeout as exc:
        return _unanswered(f"The sandbox backend `{settings.backend}` did not answer: {exc}.")
    except Exception as exc:
        return _unanswered(f"{type(exc).__name__}: {exc}")
    engine = state.engine.detail
    if state.engine.ok and state.warm is not None:
        engine += f"; {state.warm} pre-started sandbox container(s) alive"
    return [_row("engine", state.engine, engine), _row("image", state.image, state.image.detail)]


def queue_check(depth: Callable[[], int], url: str,
                timeout: float = PROBE_TIMEOUT_S) -> HealthCheck:
    try:
        waiting = _with_deadline(depth, timeout)
    except Exception as exc:
        return HealthCheck("queue", "fail", f"{url}: unreachable ({type(exc).__name__}: {exc})",
                           "Check HELDOUT_QUEUE_URL and that Redis or PostgreSQL runs, if used.")
    if waiting > QUEUE_WARN_DEPTH:
        return HealthCheck("queue", "warn", f"{waiting} job(s) waiting",
                           "Grading is falling behind: start more workers.")
    return HealthCheck("queue", "ok", f"{waiting} job(s) waiting")


def _held_locks() -> set[tuple[int, int]]:
    """(device, inode) of every file lock the kernel holds, whichever process holds it."""
    try:
        lines = PROC_LOCKS.read_text().splitlines()
    except OSError:
        return set()
    held = set()
    for line in lines:
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" ("->" marks a waiter)
        if len(fields) < 6 or "->" in fields:
            continue
        try:
            major, minor, inode = fields[5].split(":")
            held.add((os.makedev(int(major, 16), int(minor, 16)), int(inode)))
        except ValueError:
            continue
    return held


def local_workers(data_dir: Path) -> list[str]:
    """Workers alive on this host: each holds the lock of its identity while it runs.
    Read from the kernel's lock table, so looking never takes a lock a worker wants."""
    locks = data_dir / "worker-locks"
    try:
        files = sorted(locks.glob("*.lock"))
    except OSError:
        return []
    held = _held_locks()
    alive = []
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            continue
        if (stat.st_dev, stat.st_ino) in held:
            alive.append(path.stem)
    return alive


def leasing_workers(now: datetime) -> list[str]:
    """Workers holding a live lease on a job right now (from any host)."""
    owners: set[str] = set()
    for model in (Submission, PublicRun, IntegrityRun, FollowupQuestion):
        for owner in db.session.scalars(select(model.lease_owner).where(
                model.lease_owner.is_not(None), model.lease_expires_at > now).distinct()):
            if owner:
                owners.add(owner.split(":")[0])
    return sorted(owners)


def oldest_queued(now: datetime) -> timedelta | None:
    created = db.session.scalar(select(func.min(Submission.created_at))
                                .where(Submission.status == "queued"))
    if created is None:
        return None
    if created.tzinfo is None:  # SQLite's min() bypasses the column's UTC type
        created = created.replace(tzinfo=UTC)
    return max(now - created, timedelta(0))


def _minutes(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def worker_and_backlog_checks(data_dir: Path, now: datetime) -> list[HealthCheck]:
    workers = sorted(set(local_workers(data_dir)) | set(leasing_workers(now)))
    age = oldest_queued(now)
    if workers:
        worker = HealthCheck("workers", "ok", f"{len(workers)} alive: {', '.join(workers)}")
    elif age is not None:
        worker = HealthCheck("workers", "fail", "No worker is alive and submissions wait.",
                             "Start one: `heldout worker` (or the compose worker service).")
    else:
        worker = HealthCheck("workers", "warn", "No worker seen on this host or holding a job.",
                             "Start `heldout worker` before candidates submit; workers on "
                             "other hosts show here only while they grade.")
    if age is None:
        backlog = HealthCheck("oldest queued submission", "ok", "Nothing is waiting.")
    elif age >= OLDEST_FAIL:
        backlog = HealthCheck("oldest queued submission", "fail",
                              f"Waiting for {_minutes(age)}.",
                              "Check the workers' logs and the engine; start more workers.")
    elif age >= OLDEST_WARN:
        backlog = HealthCheck("oldest queued submission", "warn",
                              f"Waiting for {_minutes(age)}.",
                              "Grading is slow: check the workers or start more.")
    else:
        backlog = HealthCheck("oldest queued submission", "ok", f"Waiting for {_minutes(age)}.")
    return [worker, backlog]


@dataclass(frozen=True)
class HealthReport:
    checks: tuple[HealthCheck, ...]
    checked_at: datetime

    @property
    def level(self) -> Level:
        levels = {c.level for c in self.checks}
        return "fail" if "fail" in levels else "warn" if "warn" in levels else "ok"


def system_health(*, data_dir: Path, sandbox: SandboxSettings, queue_depth: Callable[[], int],
                  queue_url: str, now: datetime, timeout: float = PROBE_TIMEOUT_S) -> HealthReport:
    # The queue is asked while the engine is: a page waits for the slower, not the sum.
    queue: list[HealthCheck] = []
    asking = threading.Thread(target=lambda: queue.append(queue_check(queue_depth, queue_url,
                                                                      timeout)),
                              name="health-queue", daemon=True)
    asking.start()
    engine = sandbox_checks(sandbox, timeout)
    asking.join(timeout + 1)
    checks = [*engine, queue[0] if queue else HealthCheck(
        "queue", "fail", f"{queue_url}: no answer", "Check HELDOUT_QUEUE_URL."),
        *worker_and_backlog_checks(data_dir, now)]
    return HealthReport(tuple(checks), now)
