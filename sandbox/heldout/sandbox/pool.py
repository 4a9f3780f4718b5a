"""Warm containers: created, started and with the scientific stack imported before a job exists.

Each warm container serves exactly one job and is then removed, so nothing a submission
did can reach the next one. The pool refills in the background while jobs run.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import docker.errors

from heldout.sandbox import engine
from heldout.sandbox.accounting import parent_cgroup, release_parent
from heldout.sandbox.errors import SandboxError
from heldout.sandbox.image import default_image, job_image, profile_image
from heldout.sandbox.options import JOB_CPU_SHARES, container_options
from heldout.sandbox.profiles import PROFILES
from heldout.sandbox.scratch import RunDir
from heldout.sandbox.settings import SandboxSettings, or_environment
from heldout.sandbox.spec import LAUNCHER, JobSpec, Limits

log = logging.getLogger(__name__)

_CREATE_ERRORS: tuple[type[Exception], ...] = (SandboxError, OSError, *engine.ENGINE_ERRORS)

# lightgbm and xgboost add about 1 MB each to an idle warm container; statsmodels.api
# would add 26 MB to every one of them to save its users under a second, so it stays out.
# A runtime profile's image also preloads its heavy modules (see ``preload_for``).
DEFAULT_PRELOAD = ("numpy", "pandas", "scipy", "sklearn", "sklearn.linear_model",
                   "sklearn.ensemble", "sklearn.model_selection", "sklearn.metrics",
                   "sklearn.preprocessing", "sklearn.pipeline", "lightgbm", "xgboost")

def profile_of(limits: Limits, image: str) -> tuple[str, Limits]:
    """Jobs whose profiles are equal can use the same warm container.

    Wall time, log and output-file caps are enforced by the host after the job starts, so
    they don't shape the container.
    """
    return image, replace(limits, wall_seconds=1.0, log_bytes=1, output_files=1)


@dataclass
class WarmContainer:
    container: Any
    rundir: RunDir
    pipe: Path
    cgroup_parent: str | None = None

    def is_ready(self) -> bool:
        """True once the launcher has finished importing and waits on the pipe."""
        try:
            fd = os.open(self.pipe, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # no reader yet: still importing
                return False
            raise
        os.close(fd)
        return True

    def send(self, argv: tuple[str, ...], env: Mapping[str, str]) -> None:
        """Hand the job to the launcher; from here on candidate code runs."""
        payload = json.dumps({"argv": list(argv), "env": dict(env), "cwd": "/workspace"}).encode()
        try:
            fd = os.open(self.pipe, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            raise SandboxError(f"the warm container's launcher is not listening: {exc}") from exc
        try:
            os.set_blocking(fd, True)
            os.write(fd, payload + b"\n")
        finally:
            os.close(fd)

    def discard(self) -> None:
        with contextlib.suppress(docker.errors.NotFound, *engine.ENGINE_ERRORS):
            self.container.remove(force=True, v=True)
        release_parent(self.cgroup_parent)
        self.rundir.close()


class WarmPool:
    """Keeps ``size`` warm containers ready for each profile it has been asked for.

    Settings default to the environment's."""

    def __init__(self, client: Any | None = None, *, size: int = 1,
                 preload: tuple[str, ...] = DEFAULT_PRELOAD,
                 settings: SandboxSettings | None = None) -> None:
        self.settings = or_environment(settings)
        self.client = client or engine.get_client(self.settings)
        self.size = size
        self.preload = preload
        self._ready: dict[tuple[str, Limits], deque[WarmContainer]] = {}
        self._lock = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._refill_loop, name="heldout-warm-pool", daemon=True)
        self._thread.start()

    def prime(self, limits: Limits, image: str | None = None) -> None:
        """Start keeping containers warm for this profile (before the first job)."""
        key = profile_of(limits, image or default_image(self.settings))
        with self._lock:
            self._ready.setdefault(key, deque())
            self._lock.notify_all()

    def take(self, spec: JobSpec) -> WarmContainer | None:
        """A ready container for ``spec``'s profile, or None (then the job runs cold).

        A container still importing is left to finish in the background: waiting for it
        would cost a job more than starting cold.
        """
        key = profile_of(spec.limits, job_image(spec, self.settings))
        with self._lock:
            queue = self._ready.setdefault(key, deque())
            warm = None
            for candidate in list(queue):
                try:
                    ready = candidate.is_ready()
                except OSError:
                    ready = False
                if ready:
                    queue.remove(candidate)
                    warm = candidate
                    break
            self._lock.notify_all()
        if warm is None:
            return None
        try:
            # Warm containers import at the lowest CPU weight, on cycles jobs don't use;
            # the one that gets a job competes like any other.
            warm.container.update(cpu_shares=JOB_CPU_SHARES)
        except engine.ENGINE_ERRORS as exc:
            log.warning("warm container %s unusable: %s", warm.container.short_id, str(exc))
            warm.discard()
            return None
        return warm

    def container_ids(self, settle_timeout: float = 60.0) -> set[str]:
        """Ids of the containers the pool holds, once it has finished refilling."""
        deadline = time.monotonic() + settle_timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._missing() is None:
                    return {w.container.id for queue in self._ready.values() for w in queue}
            time.sleep(0.05)
        raise TimeoutError("the warm pool did not finish refilling")

    def wait_warm(self, count: int, timeout: float = 120.0, *, limits: Limits | None = None,
                  image: str | None = None) -> bool:
        """Block until ``count`` containers (of one profile, if given) are warm and ready."""
        key = (profile_of(limits, image or default_image(self.settings)) if limits is not None
               else None)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                items = [w for k, queue in self._ready.items() if key in (None, k) for w in queue]
            if len(items) >= count and all(w.is_ready() for w in items):
                return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        with self._lock:
            self._closed = True
            items = [w for queue in self._ready.values() for w in queue]
            self._ready.clear()
            self._lock.notify_all()
        self._thread.join(timeout=30)
        for warm in items:
            warm.discard()

    def _missing(self) -> tuple[str, Limits] | None:
        for key, queue in self._ready.items():
            if len(queue) < self.size:
                return key
        return None

    def _refill_loop(self) -> None:
        while True:
            with self._lock:
                while not self._closed and self._missing() is None:
                    self._lock.wait()
                if self._closed:
                    return
                key = self._missing()
            if key is None:
                continue
            try:
                warm = self._create(*key)
            except _CREATE_ERRORS as exc:
                log.error("could not pre-start a sandbox container: %s", str(exc))
                time.sleep(2)
                continue
            with self._lock:
                if self._closed or key not in self._ready:
                    keep = False
                else:
                    self._ready[key].append(warm)
                    keep = True
            if not keep:
                warm.discard()

    def preload_for(self, image: str) -> tuple[str, ...]:
        """What a warm container of ``image`` imports ahead of its job: the pool's list, plus
        what the layered runtime profile ``image`` is the image of imports ahead (torch in
        the deep-learning image, where its import is most of a job's cold start)."""
        extra = [module for name, profile in PROFILES.items() if profile.context is not None
                 and profile_image(name, self.settings) == image
                 for module in profile.ahead]
        return (*self.preload, *extra)

    def _create(self, image: str, limits: Limits) -> WarmContainer:
        rundir = RunDir(limits.output_mb, self.settings.run_dir)
        parent = parent_cgroup(rundir.root.name, engine.cgroup_driver(self.client))
        try:
            pipe = rundir.make_pipe()
            spec = JobSpec(command=LAUNCHER, workspace=rundir.workspace, limits=limits, image=image,
                           env={"HELDOUT_PRELOAD": ",".join(self.preload_for(image))})
            options = container_options(spec, rundir, self.settings, warm=True,
                                        cgroup_parent=parent)
            container = self.client.containers.create(image, **options)
            try:
                container.start()
            except BaseException:
                container.remove(force=True)
                raise
        except BaseException:
            release_parent(parent)
            rundir.close()
            raise
        return WarmContainer(container=container, rundir=rundir, pipe=pipe, cgroup_parent=parent)
