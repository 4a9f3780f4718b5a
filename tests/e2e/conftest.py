"""Fixtures of the browser tests: Debian's Chromium, and a served stack with a worker.

Chromium is the system's (never a downloaded one), driven by Playwright for Python. A
missing browser or Playwright skips locally and fails under CI or HELDOUT_REQUIRE_DOCKER=1.
Each fixture lives for one test module.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e.live_server import (
    CHROMIUM,
    CHROMIUM_ARGS,
    REPO,
    SLUG,
    STACK_SECRET,
    Stack,
    environment,
    free_port,
    heldout,
    required,
    spawn,
    stop,
    tail,
    wait_healthy,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture(scope="module")
def chromium_path() -> Path:
    """Debian's Chromium. Missing: skip locally, fail under CI or HELDOUT_REQUIRE_DOCKER=1."""
    if not CHROMIUM.is_file():
        reason = f"{CHROMIUM} is missing (install it with: apt-get install -y chromium)"
        if required():
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[Browser]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        reason = f"Playwright is not installed ({exc}); pip install -e '.[dev]'"
        if required():
            pytest.fail(reason)
        pytest.skip(reason)

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(chromium_path),
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, sandbox_image: str) -> Iterator[Stack]:
    """Migrate, load the challenge, create the demo accounts; run a worker and the web server."""
    root = tmp_path_factory.mktemp("stack")
    challenges = root / "challenges"
    shutil.copytree(REPO / "challenges" / SLUG, challenges / SLUG)
    data = root / "var"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = environment({"HELDOUT_ENV": "development", "HELDOUT_DATA_DIR": str(data),
                       "HELDOUT_SECRET_KEY": STACK_SECRET, "HELDOUT_BASE_URL": base_url,
                       "HELDOUT_CHALLENGES_DIR": str(challenges), "HELDOUT_WORKERS": "1",
                       "HELDOUT_SANDBOX_WARM": "1"})
    logs = root / "logs"
    logs.mkdir()
    worker_log, server_log = logs / "worker.log", logs / "server.log"

    def run(*args: str) -> None:
        done = subprocess.run(heldout(*args), env=env, cwd=REPO, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, f"heldout {' '.join(args)} failed:\n{done.stdout}{done.stderr}"

    # Each command takes seconds to import; the server and the worker start while the
    # next one runs (each only needs what the steps before it made).
    run("db", "upgrade")
    server = spawn(server_log, env, "serve", "--dev", "--host", "127.0.0.1", "--port", str(port))
    worker: subprocess.Popen[bytes] | None = None
    try:
        run("load-challenges")
        worker = spawn(worker_log, env, "worker")
        run("demo")
        logins = json.loads((data / "demo-logins.json").read_text(encoding="utf-8"))
        wait_healthy(base_url, server, server_log)
        yield Stack(base_url, logins, challenges, logs)
        assert worker is not None and worker.poll() is None, f"the worker died:\n{tail(worker_log)}"
    finally:
        stop(server, signal.SIGTERM)
        if worker is not None:
            stop(worker, signal.SIGINT)
