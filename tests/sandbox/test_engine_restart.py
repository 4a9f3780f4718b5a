"""The engine dying mid-run is the platform's fault: internal_error, never a score.

Restarts the Docker engine, so it runs after every other test (see tests/conftest.py) and
only where this test process may restart it: as root, with a dockerd it can start again.
"""

from __future__ import annotations

import gc
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from heldout.graders.bundle import resolve_bundle
from heldout.graders.evaluate import evaluate
from heldout.sandbox import engine, scratch
from heldout.sandbox.errors import EngineUnavailable

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


def _restartable() -> str | None:
    if os.geteuid() != 0:
        return "not root"
    if shutil.which("dockerd") is None or _dockerd_pid() is None:
        return "no dockerd process of this machine to restart"
    systemd = shutil.which("systemctl") is not None and subprocess.run(
        ["systemctl", "is-active", "--quiet", "docker"], check=False, capture_output=True).returncode == 0
    if systemd:
        return "dockerd is managed by systemd: restart it with systemctl instead"
    return None


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
    reason = _restartable()
    if reason is not None:
        pytest.skip(f"can't restart the engine here: {reason}")
    bundle = resolve_bundle(REPO / "challenges" / "churn-prediction")
    submission = tmp_path / "solution.py"
    submission.write_text("import time\ntime.sleep(60)\n")
    results: list[Any] = []
    grading = threading.Thread(target=lambda: results.append(evaluate(bundle, submission)))
    grading.start()
    time.sleep(3)  # the job is running in its container

    pid = _dockerd_pid()
    assert pid is not None
    os.kill(pid, signal.SIGTERM)
    try:
        grading.join(120)
        assert not grading.is_alive(), "grading hung when the engine went away"
    finally:
        _wait_exit(pid, timeout=60)
        log_path = Path(os.environ.get("TMPDIR", "/tmp")) / "heldout-dockerd-restart.log"
        with open(log_path, "ab") as log:
            # setsid -f: the new engine is nobody's child here, as it was before.
            subprocess.run(["setsid", "-f", "dockerd"], stdout=log, stderr=log,
                           stdin=subprocess.DEVNULL, check=True)
        _wait_engine(up=True, timeout=90)
        # Connections the dead engine dropped leave sockets only the garbage collector closes.
        engine.close_clients()
        gc.collect()

    # What a restarted worker's sweep does: the interrupted run's container, left behind
    # because the engine was gone when the runner tried to remove it, goes now.
    mine = [f"{engine.LABEL}=1", f"{engine.LABEL_OWNER_PID}={os.getpid()}"]
    for container in engine.get_client().containers.list(all=True, filters={"label": mine}):
        container.remove(force=True)
        scratch.discard(Path(container.labels[engine.LABEL_RUNDIR]))

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
