"""Neither gunicorn's access log nor the error log ever repeats an invite link's token."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from heldout.platform.processes import stop_processes
from heldout.platform.redaction import mask_invite_tokens
from tests.platform.conftest import make_app

REPO = Path(__file__).resolve().parents[2]
TOKEN = "InJ2ZXJ5LXNlY3JldC1pbnZpdGUi.ZzQ1.k8Vq3n9Xw2"


def test_the_mask_covers_request_lines_paths_and_referers() -> None:
    assert mask_invite_tokens(f"GET /i/{TOKEN} HTTP/1.1") == "GET /i/… HTTP/1.1"
    assert mask_invite_tokens(f"/i/{TOKEN}") == "/i/…"
    assert mask_invite_tokens(f"https://heldout.example/i/{TOKEN}?x=1") == \
        "https://heldout.example/i/…?x=1"
    assert mask_invite_tokens(f"POST /%69/{TOKEN} HTTP/1.1") == "POST /i/… HTTP/1.1"
    # Other pages keep their paths: the log stays useful.
    assert mask_invite_tokens("GET /a/Xy12/c/churn HTTP/1.1") == "GET /a/Xy12/c/churn HTTP/1.1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_served_access_log_masks_the_token(tmp_path: Path) -> None:
    port = _free_port()
    log_path = tmp_path / "server.log"
    env = {**os.environ, "HELDOUT_ENV": "testing", "HELDOUT_DATA_DIR": str(tmp_path / "var"),
           "HELDOUT_SECRET_KEY": "log-test-secret", "HELDOUT_QUEUE_URL": "memory://",
           "HELDOUT_CHALLENGES_DIR": str(tmp_path / "none")}
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "heldout.platform", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--threads", "2"],
            env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    _get(f"{base}/login", {})
                    break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise AssertionError(log_path.read_text(errors="replace")) from None
                    time.sleep(0.2)
            status = _get(f"{base}/i/{TOKEN}", {"Referer": f"{base}/i/{TOKEN}"})
            assert status in (400, 404, 410)  # a made-up token: refused, but logged
            deadline = time.monotonic() + 10
            while "/i/…" not in log_path.read_text(errors="replace") \
                    and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            stop_processes([(process, signal.SIGTERM)], timeout=10)
    logged = log_path.read_text(errors="replace")
    assert "GET /i/… HTTP/1.1" in logged, logged
    assert "/login" in logged  # the log is there, and other paths are kept as they are
    assert TOKEN not in logged
    assert TOKEN[:12] not in logged


@pytest.mark.parametrize("error", [
    RuntimeError(f"failed while opening /i/{TOKEN}"),
    OperationalError("SELECT 1", {}, Exception("the database went away")),
], ids=["a bug", "the database away"])
def test_the_error_log_never_repeats_the_token(tmp_path: Path, challenges_dir: Path,
                                               caplog: pytest.LogCaptureFixture,
                                               monkeypatch: pytest.MonkeyPatch,
                                               error: Exception) -> None:
    """A failure while opening a link logged the request's path, token and all (Flask's
    own line, ours, and the traceback)."""
    from heldout.platform.services import invites

    def fail(*_args: object, **_kwargs: object) -> None:
        raise error

    monkeypatch.setattr(invites, "find_invite", fail)
    app = make_app(tmp_path, challenges_dir, TESTING=False)  # errors answered, and logged
    with caplog.at_level(logging.WARNING):
        response = app.test_client().get(f"/i/{TOKEN}")
    assert response.status_code in (500, 503)
    logged = caplog.text + "".join(
        logging.Formatter().formatException(r.exc_info) if r.exc_info and not r.exc_text
        else (r.exc_text or "") for r in caplog.records)
    assert "/i/…" in logged, logged
    assert TOKEN not in logged and TOKEN[:12] not in logged, logged
