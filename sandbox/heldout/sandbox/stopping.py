"""A process that runs sandboxes leaves none behind when it is told to stop."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Protocol

from heldout.sandbox.errors import SandboxError

STOPPED = "the run was interrupted: its process is stopping"


class Interruptible(Protocol):
    def interrupt(self) -> None:
        """End the run now, from another thread; its own thread then cleans up after it."""


class Runs:
    """The runs in flight of one sandbox. ``stop()`` ends them all and refuses new ones.

    A run's thread is blocked on the engine: no exception reaches it there, but ending its
    container wakes it, and it then fails the run as a platform error (``SandboxError``,
    retried, never a verdict) and removes its container and run directory in its own
    ``finally``, as on any other way out.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: set[Interruptible] = set()
        self._stopped = False

    @contextmanager
    def hold(self, run: Interruptible) -> Iterator[None]:
        with self._lock:
            if self._stopped:
                raise SandboxError(STOPPED)
            self._live.add(run)
        try:
            yield
        finally:
            with self._lock:
                self._live.discard(run)

    def stop(self) -> int:
        """Interrupt every run in flight; how many there were."""
        with self._lock:
            self._stopped = True
            live = list(self._live)
        for run in live:
            run.interrupt()
        return len(live)


def exit_on_sigterm() -> None:
    """Make SIGTERM end this process by an exception, as Ctrl-C does.

    By default SIGTERM ends a Python process on the spot: no ``finally`` runs, and a job's
    container and run directory outlive it until another process sweeps them. Raised as
    ``SystemExit`` (which no ``except Exception`` swallows), it unwinds the main thread
    through every clean-up on the way out. Only the main thread receives signals (a
    command run from another thread, as some tests do, keeps the handler it has).
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit)


def _exit(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)
