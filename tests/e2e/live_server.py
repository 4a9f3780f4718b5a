"""A `heldout serve` (and worker) in subprocesses, for the browser tests to drive.

Imported by tests/e2e/conftest.py and the browser tests (``from tests.e2e.live_server
import ...``); the fixtures themselves are in conftest.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import flask_migrate
import pytest

from heldout.platform.processes import stop_processes

if TYPE_CHECKING:
    from flask import Flask
    from playwright.sync_api import Browser, Page

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "var" / "screenshots"
# The page-by-page sweeps (axe at two widths, the phone layout) picture every page they
# check only when asked: some three hundred full-page PNGs cost CI about a minute and
# nobody reads them there. The single pictures of a flow are always taken.
SWEEP_SHOTS = os.environ.get("HELDOUT_TEST_SCREENSHOTS") == "1"
SLUG = "churn-prediction"
# The practice page's sample (HELDOUT_PRACTICE_CHALLENGE's default): every site serves it.
PRACTICE_SLUG = "warm-up"
CHALLENGE_TITLE = "Predict customer churn"
STACK_SECRET = "browser-e2e-secret-key-not-for-production"
MIN_SCORE = 85   # the challenge's reference solution, graded by the real sandbox, at least
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
STARTUP_TIMEOUT_S = 30
# Settings a developer's shell may carry that would point a server at their own data.
INHERITED_SETTINGS = ("HELDOUT_DATABASE_URL", "HELDOUT_QUEUE_URL", "HELDOUT_ORG_NAME",
                      "HELDOUT_INVITE_TTL_DAYS", "HELDOUT_MAX_UPLOAD_MB")


def required() -> bool:
    """Under CI (or HELDOUT_REQUIRE_DOCKER=1) a missing browser fails instead of skipping."""
    return os.environ.get("CI") == "true" or os.environ.get("HELDOUT_REQUIRE_DOCKER") == "1"


@dataclass(frozen=True)
class Stack:
    """A running web server and worker, and what a person needs to use them."""

    base_url: str
    logins: dict[str, str]
    challenges_dir: Path
    logs: Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def heldout(*args: str) -> list[str]:
    """The `heldout` command line, run by this interpreter."""
    return [sys.executable, "-m", "heldout.platform", *args]


def environment(settings: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without the inherited settings, plus ``settings``."""
    env = {key: value for key, value in os.environ.items() if key not in INHERITED_SETTINGS}
    env.update(settings)
    return env


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def spawn(log: Path, env: Mapping[str, str], *args: str) -> subprocess.Popen[bytes]:
    """`heldout ARGS` in the background, its output in ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen(heldout(*args), env=dict(env), cwd=REPO, stdout=out,
                                stderr=subprocess.STDOUT)


def wait_healthy(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the web server exited with {server.returncode}:\n{tail(log)}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    pytest.fail(f"the web server did not answer /healthz within {STARTUP_TIMEOUT_S} s:\n{tail(log)}")


def site_settings(root: Path, secret: str, **extra: str) -> tuple[dict[str, str], Path, int]:
    """For a `heldout serve` over a new data directory in ``root`` with a copy of the
    churn bundle and the practice sample: its settings (``extra`` added), its challenges
    directory, a free port."""
    challenges_dir = root / "challenges"
    for slug in (SLUG, PRACTICE_SLUG):
        shutil.copytree(REPO / "challenges" / slug, challenges_dir / slug)
    port = free_port()
    settings = {"HELDOUT_ENV": "development", "HELDOUT_SECRET_KEY": secret,
                "HELDOUT_DATA_DIR": str(root / "var"),
                "HELDOUT_CHALLENGES_DIR": str(challenges_dir),
                "HELDOUT_BASE_URL": f"http://127.0.0.1:{port}", **extra}
    return settings, challenges_dir, port


@dataclass(frozen=True)
class InvitedSite:
    """A data directory ready to serve: its settings, port and one candidate's invite token."""

    settings: dict[str, str]
    port: int
    token: str
    app: Flask


def invited_site(root: Path, secret: str, slugs: Sequence[str], *, assessment: str,
                 candidate: tuple[str, str], recruiter_password: str,
                 time_limit_minutes: int = 60) -> InvitedSite:
    """Copies of ``slugs``' bundles (and the practice sample) in ``root``, the database
    migrated and the bundles loaded, a recruiter (rec@example.com), an assessment of the
    bundles showing scores and an invite for ``candidate`` (name, e-mail)."""
    from heldout.platform.app import create_app
    from heldout.platform.extensions import db
    from heldout.platform.models import utcnow
    from heldout.platform.services import accounts, assessments, catalogue, invites

    challenges_dir = root / "challenges"
    for slug in {*slugs, PRACTICE_SLUG}:
        shutil.copytree(REPO / "challenges" / slug, challenges_dir / slug)
    port = free_port()
    settings = {"HELDOUT_ENV": "development", "HELDOUT_SECRET_KEY": secret,
                "HELDOUT_DATA_DIR": str(root / "var"),
                "HELDOUT_CHALLENGES_DIR": str(challenges_dir),
                "HELDOUT_BASE_URL": f"http://127.0.0.1:{port}"}
    app = create_app(settings)
    with app.app_context():
        flask_migrate.upgrade(revision="heads")  # every branch, while one is being re-chained
        catalogue.load_challenges(challenges_dir)
        user = accounts.create_user("rec@example.com", "Rita Recruiter", "recruiter",
                                    recruiter_password)
        made_assessment = assessments.create_assessment(
            name=assessment, challenge_slugs=list(slugs), time_limit_minutes=time_limit_minutes,
            instructions="", expires_at=None, show_scores=True, created_by_id=user.id)
        made = invites.create_invite(
            assessment_id=made_assessment.id, candidate_name=candidate[0],
            candidate_email=candidate[1], created_by_id=user.id, secret=secret, ttl_days=2,
            now=utcnow())
        db.engine.dispose()
    return InvitedSite(settings, port, made.token, app)


@contextmanager
def serving(settings: Mapping[str, str], log: Path, port: int) -> Iterator[str]:
    """`heldout serve` on ``port`` with ``settings``, healthy; its base URL. Stopped after."""
    base_url = f"http://127.0.0.1:{port}"
    server = spawn(log, environment(settings), "serve", "--host", "127.0.0.1", "--port", str(port))
    try:
        wait_healthy(base_url, server, log)
        yield base_url
    finally:
        stop_processes([(server, signal.SIGTERM)])


def stop(process: subprocess.Popen[bytes], stop_signal: signal.Signals) -> None:
    """The graceful signal, then SIGTERM, then SIGKILL; the worker removes its containers."""
    for sig, grace in ((stop_signal, 30.0), (signal.SIGTERM, 10.0)):
        if process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue
    process.kill()
    process.wait()


def new_page(browser: Browser, base_url: str, width: int = 1280, height: int = 860) -> Page:
    """A page of a context of its own (its own cookies: another person, another device)."""
    context = browser.new_context(base_url=base_url, accept_downloads=True,
                                  viewport={"width": width, "height": height})
    return context.new_page()


def paste_into_editor(page: Page, text: str) -> None:
    """Paste ``text`` into the workspace's editor as a person would: a ``paste`` event with
    the text on its clipboard data (CodeMirror inserts it, the page records the event)."""
    page.locator(".cm-content").first.evaluate("""(content, text) => {
        const data = new DataTransfer();
        data.setData("text/plain", text);
        content.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data,
            bubbles: true, cancelable: true, composed: true}));
    }""", text)


def sign_in(page: Page, email: str, password: str) -> None:
    """Fill the sign-in form the page shows and land on the assessments list."""
    from playwright.sync_api import expect

    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Assessments", level=1)).to_be_visible()


# The page's width, the window's, and the outermost elements reaching past the window
# (not those inside a box that scrolls sideways on its own).
WIDER_THAN_THE_PAGE = """() => {
  const limit = window.innerWidth, wide = [];
  // Clipped: inside a box that scrolls or hides its overflow, which also contains it for
  // layout (an absolutely placed element escapes a box that is not positioned).
  const clipped = el => {
    let free = getComputedStyle(el).position;
    for (let p = el.parentElement; p; p = p.parentElement) {
      const style = getComputedStyle(p);
      const contains = !['absolute', 'fixed'].includes(free) || style.position !== 'static';
      if (contains && ['auto', 'scroll', 'hidden', 'clip'].includes(style.overflowX)) return true;
      if (contains && free === 'absolute') free = style.position;
      if (free === 'fixed') return false;
    }
    return false; };
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.right > limit + 1 && !clipped(el) && !wide.some(w => w.el.contains(el)))
      wide.push({el, what: el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')
                 + ' ' + Math.round(box.right) + 'px'});
  }
  return [document.documentElement.scrollWidth, limit, wide.slice(0, 5).map(w => w.what)];
}"""
