"""The engine dying mid-run is the platform's fault: internal_error, never a score.

Restarts the Docker engine, so it runs after every other test (see tests/conftest.py). It
restarts the engine the way this machine runs it: with systemd, or as the background
dockerd scripts/lib.sh starts; elsewhere (not root, a remote engine) it fails, never skips.
"""

from __future__ import annotations

import gc
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from heldout.graders.bundle import resolve_bundle
from heldout.graders.evaluate import evaluate
from heldout.sandbox import engine, scratch
from heldout.sandbox.errors import EngineUnavailable
from heldout.sandbox.settings import SandboxSettings

pytestmark = [
    pytest.mark.docker,
    pytest.mark.disruptive,
    pytest.mark.filterwarnings("ignore::ResourceWarning",
                               "ignore::pytest.PytestUnraisableExceptionWarning"),
]

PIDFILE = Path("/var/run/docker.pid")
REPO = Path(__file__).resolve().parents[2]


def _dockerd_pid() -> int | None:
    try:
        pid = int(PIDFILE.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def _systemd_manages_docker() -> bool:
    return shutil.which("systemctl") is not None and subprocess.run(
        ["systemctl", "is-active", "--quiet", "docker"], check=False, capture_output=True).returncode == 0


@dataclass(frozen=True)
class Background:
    """A dockerd started by hand or by scripts/lib.sh: stopped by signal, started again
    exactly as it was (its command line, environment and log file)."""

    pid: int
    argv: tuple[str, ...]
    env: dict[str, str]
    log: Path

    @classmethod
    def of(cls, pid: int) -> Background:
        proc = Path(f"/proc/{pid}")
        argv = tuple(arg.decode() for arg in (proc / "cmdline").read_bytes().split(b"\0") if arg)
        env = dict(item.decode().partition("=")[::2]
                   for item in (proc / "environ").read_bytes().split(b"\0") if b"=" in item)
        out = Path(os.readlink(proc / "fd" / "1"))
        log = out if out.is_file() else Path(os.environ.get("TMPDIR", "/tmp")) / "heldout-dockerd-restart.log"
        return cls(pid, argv, env, log)

    def stop(self) -> None:
        os.kill(self.pid, signal.SIGTERM)

    def start(self) -> None:
        _wait_exit(self.pid, timeout=60)
        with open(self.log, "ab") as log:
            # setsid -f: the new engine is nobody's child here, as it was before.
            subprocess.run(["setsid", "-f", *self.argv], stdout=log, stderr=log,
                           stdin=subprocess.DEVNULL, env=self.env, check=True)


@dataclass(frozen=True)
class Systemd:
    """A dockerd that systemd runs: systemd stops it and starts it again."""

    def stop(self) -> None:
        # The socket unit (where there is one) would start the engine again at the first
        # client call: the engine must stay down while the run notices it is gone.
        subprocess.run(["systemctl", "stop", "docker.socket"], check=False, capture_output=True)
        subprocess.run(["systemctl", "stop", "docker.service"], check=True, capture_output=True)

    def start(self) -> None:
        subprocess.run(["systemctl", "start", "docker.service"], check=True, capture_output=True)
        subprocess.run(["systemctl", "start", "docker.socket"], check=False, capture_output=True)


def engine_manager() -> Background | Systemd:
    """How this machine runs its engine; fails (never skips) where it can't be restarted."""
    if os.geteuid() != 0:
        pytest.fail("restarting the Docker engine needs root")
    if _systemd_manages_docker():
        return Systemd()
    pid = _dockerd_pid()
    if pid is None:
        pytest.fail(f"no dockerd of this machine to restart (no live pid in {PIDFILE}; "
                    "a remote DOCKER_HOST can't be restarted from here)")
    return Background.of(pid)


def _wait_engine(up: bool, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            engine.get_client()
            if up:
                return
        except EngineUnavailable:
            if not up:
                return
        time.sleep(0.2)
    raise AssertionError(f"the engine did not come {'up' if up else 'down'} within {timeout} s")


def _wait_exit(pid: int, timeout: float) -> None:
    """The old engine must be gone (and its pid file with it) before a new one starts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            if not PIDFILE.exists():
                return
        time.sleep(0.1)
    raise AssertionError(f"dockerd (pid {pid}) did not exit within {timeout} s")


def test_engine_restart_mid_run_is_an_internal_error(tmp_path: Path, docker_client: Any,
                                                     sandbox_image: str,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    manager = engine_manager()
    bundle = resolve_bundle(REPO / "challenges" / "churn-prediction")
    submission = tmp_path / "solution.py"
    submission.write_text("import time\ntime.sleep(60)\n")
    results: list[Any] = []
    grading = threading.Thread(target=lambda: results.append(evaluate(bundle, submission)))
    grading.start()
    time.sleep(3)  # the job is running in its container

    manager.stop()
    try:
        grading.join(120)
        assert not grading.is_alive(), "grading hung when the engine went away"
    finally:
        manager.start()
        _wait_engine(up=True, timeout=90)
        # Connections the dead engine dropped leave sockets only the garbage collector closes.
        engine.close_clients()
        gc.collect()

    # What a restarted worker's sweep does: the interrupted run's container, left behind
    # because the engine was gone when the runner tried to remove it, goes now.
    mine = [f"{engine.LABEL}=1", f"{engine.LABEL_OWNER_PID}={os.getpid()}"]
    for container in engine.get_client().containers.list(all=True, filters={"label": mine}):
        container.remove(force=True)
        scratch.discard(Path(container.labels[engine.LABEL_RUNDIR]),
                        SandboxSettings.from_environment().run_dir)

    (evaluation,) = results
    assert evaluation.status == "internal_error"
    assert evaluation.score is None
    assert "sandbox" in (evaluation.error or "")

    # And once the engine is back, the same bundle grades normally.
    again = evaluate(bundle, REPO / "challenges" / "churn-prediction" / "solutions" / "starter")
    assert again.status == "graded", again.error

    # The captured log records hold the engine errors, and through them the dead engine's
    # sockets: let them go while this test's warning filters still apply.
    caplog.clear()
    results.clear()
    del evaluation
    engine.close_clients()
    gc.collect()
