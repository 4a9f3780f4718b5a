"""The job queue: one Huey instance chosen by ``HELDOUT_QUEUE_URL``, made on first use."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, urlsplit

from flask import current_app
from huey import Huey, MemoryHuey, PostgresHuey, RedisHuey, SqliteHuey

from heldout.platform.errors import ConfigError

if TYPE_CHECKING:
    from heldout.platform.tasks import Tasks

QUEUE_NAME = "heldout"
EXTENSION_KEY = "heldout.queue"
SCHEMES = ("sqlite", "redis", "rediss", "postgresql", "memory")


def make_huey(url: str) -> Huey:
    """A Huey for ``url``; results are kept in our database, never in the queue.

    ``sqlite:///path`` (one host), ``redis://host:port/db``, ``postgresql://…`` (several
    hosts), ``memory://`` (tests; ``memory://?immediate=1`` runs tasks on enqueue).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0]
    common: dict[str, Any] = {"results": False, "utc": True}
    if scheme == "sqlite":
        path = Path(url.split(":///", 1)[1]) if ":///" in url else Path()
        if not path.name:
            raise ConfigError(f"HELDOUT_QUEUE_URL={url!r}: give a file, e.g. sqlite:///var/queue.db")
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(QUEUE_NAME, filename=str(path), fsync=True, timeout=30, **common)
    if scheme in ("redis", "rediss"):
        return RedisHuey(QUEUE_NAME, url=url, **common)
    if scheme == "postgresql":
        dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
        return PostgresHuey(QUEUE_NAME, dsn=dsn, **common)
    if scheme == "memory":
        immediate = parse_qs(parts.query).get("immediate", ["0"])[0] in ("1", "true")
        return MemoryHuey(QUEUE_NAME, immediate=immediate, **common)
    raise ConfigError(f"HELDOUT_QUEUE_URL={url!r}: unknown scheme {parts.scheme!r}; "
                      f"known: {', '.join(SCHEMES)}")


class JobQueue:
    """The queue of one app: every kind of job goes on it and is seen waiting through it.

    Opening the backend waits for the first use, not the factory.
    """

    def __init__(self, url: str, app_context: Callable[[], AbstractContextManager[Any]]) -> None:
        self.url = url
        self._app_context = app_context
        self._lock = threading.Lock()
        self._tasks: Tasks | None = None

    @property
    def huey(self) -> Huey:
        return self.tasks.huey

    @property
    def tasks(self) -> Tasks:
        with self._lock:
            if self._tasks is None:
                # Deferred to the first enqueue: creating the app imports no grader code.
                from heldout.platform.tasks import register_tasks

                self._tasks = register_tasks(make_huey(self.url), self._app_context, self)
            return self._tasks

    def enqueue(self, kind: str, job_id: int, *, delay: float | None = None) -> None:
        """Put a job of ``kind`` on the queue, ``delay`` seconds from now (raises if the
        backend can't be reached)."""
        task = self.tasks.job(kind)
        if delay:
            task.schedule(args=(job_id,), delay=delay)
        else:
            task(job_id)

    def waiting(self, kind: str) -> set[int]:
        """The jobs of ``kind`` waiting in the queue (pending or scheduled)."""
        name = self.tasks.job(kind).name
        huey = self.huey
        return {int(task.args[0]) for task in [*huey.pending(), *huey.scheduled()]
                if task.name == name and task.args}

    def depth(self) -> int:
        return int(self.huey.pending_count()) + int(self.huey.scheduled_count())


def get_queue() -> JobQueue:
    """The queue of the current app."""
    return cast(JobQueue, current_app.extensions[EXTENSION_KEY])
