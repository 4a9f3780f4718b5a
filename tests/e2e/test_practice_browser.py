"""The practice page in a real browser, with no login: the editor, the public checks, Submit
and a graded result from a real worker and sandbox, followed live; axe-clean.

A `heldout serve` and a `heldout worker` over a temporary data directory with the practice
sample; Debian's Chromium driven by Playwright (never a downloaded browser).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import flask_migrate
import pytest

from heldout.platform.app import create_app
from heldout.platform.extensions import db
from heldout.platform.services import catalogue
from tests.e2e.axe_check import report, serious_violations
from tests.e2e.live_server import (
    PRACTICE_SLUG,
    REPO,
    SHOTS,
    environment,
    paste_into_editor,
    serving,
    site_settings,
    spawn,
    stop,
    tail,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.slow, pytest.mark.docker]

SECRET = "practice-browser-secret-key-not-for-production"
REFERENCE = (REPO / "challenges" / PRACTICE_SLUG / "solutions" / "reference"
             / "solution.py").read_text()
# The code editor is checked by the workspace's own browser tests.
NOT_THE_PAGE = (".cm-mount",)


@pytest.fixture
def base_url(tmp_path: Path, sandbox_image: str) -> Iterator[str]:
    settings, challenges_dir, port = site_settings(tmp_path, SECRET, HELDOUT_WORKERS="1")
    app = create_app(settings)
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
        catalogue.load_challenges(challenges_dir)
        db.engine.dispose()
    worker_log = tmp_path / "worker.log"
    worker = spawn(worker_log, environment(settings), "worker")
    try:
        with serving(settings, tmp_path / "server.log", port) as url:
            yield url
        assert worker.poll() is None, f"the worker died:\n{tail(worker_log)}"
    finally:
        stop(worker, signal.SIGINT)


def test_practice_checks_then_submit_to_a_graded_score(browser: Browser, base_url: str) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto("/practice")
        expect(page.locator(".cm-content")).to_be_visible()  # the workspace's editor
        violations = serious_violations(page, "practice", NOT_THE_PAGE)
        page.locator(".cm-content").click()
        page.keyboard.press("Control+a")
        paste_into_editor(page, REFERENCE)

        # Keyboard only: the button is reached and pressed without the mouse.
        page.get_by_role("button", name="Run public checks").focus()
        page.keyboard.press("Enter")
        checks = page.locator(".public-run[data-run-status=graded]")
        expect(checks).to_contain_text("2 of 2", timeout=120_000)  # followed live, no reload
        expect(checks).to_contain_text("3/3 cases passed")

        page.get_by_role("button", name="Submit", exact=True).focus()
        page.keyboard.press("Enter")
        page.get_by_role("tab", name="Submissions (1)").click()
        expect(page.locator(".js-submissions .js-status-score")).to_have_text(
            "score 100", timeout=120_000)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "practice-graded.png"), full_page=True)
        violations += serious_violations(page, "practice: graded", NOT_THE_PAGE)
        assert not violations, report(violations)
    finally:
        context.close()
