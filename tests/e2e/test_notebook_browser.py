"""A notebook challenge in a real browser through the real queue and sandbox: upload the
reference notebook and run the public checks (it is kept as the draft, shown read-only);
edit it in the cell editor, run again and see the new cell's output; submit with no file
chosen again and see the graded result.

A `heldout serve` and a `heldout worker` over a temporary data directory; Debian's
Chromium. Screenshots go to var/screenshots/notebook/.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e.axe_check import report, serious_violations
from tests.e2e.live_server import (
    REPO,
    SHOTS,
    environment,
    invited_site,
    new_page,
    serving,
    spawn,
    stop,
    tail,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SECRET = "notebook-browser-secret-key-not-for-production"
SLUG = "churn-eda-notebook"
REFERENCE = REPO / "challenges" / SLUG / "solutions" / "reference" / "analysis.ipynb"
RUN_TIMEOUT_MS = 240_000
NB_SHOTS = SHOTS / "notebook"


@dataclass(frozen=True)
class Served:
    base_url: str
    invite_path: str
    worker_log: Path


@pytest.fixture
def served(tmp_path: Path, sandbox_image: str) -> Iterator[Served]:
    site = invited_site(tmp_path, SECRET, [SLUG], assessment="Notebook check",
                        candidate=("Nia Notebook", "nia@example.org"),
                        recruiter_password="notebook browser horse")
    settings = {**site.settings, "HELDOUT_WORKERS": "1"}
    worker_log = tmp_path / "worker.log"
    worker = spawn(worker_log, environment(settings), "worker")
    try:
        with serving(settings, tmp_path / "server.log", site.port) as base_url:
            yield Served(base_url, f"/i/{site.token}", worker_log)
        assert worker.poll() is None, f"the worker died:\n{tail(worker_log)}"
    finally:
        stop(worker, signal.SIGINT)


def test_edit_run_and_submit_a_notebook_in_the_page(served: Served, browser: Browser) -> None:
    from playwright.sync_api import expect

    NB_SHOTS.mkdir(parents=True, exist_ok=True)
    page = new_page(browser, served.base_url, 1440, 1000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(served.invite_path)
    page.get_by_label(re.compile("I have read how my data is used")).check()
    page.get_by_role("button", name="Start the assessment").click()
    page.get_by_role("link", name=re.compile("Explore churn in a notebook")).click()

    # The starter opens as cells, each an editor; no file to download and upload.
    cells = page.locator(".nb-cell")
    expect(cells.first).to_be_visible()
    starter_cells = cells.count()
    assert starter_cells >= 5, starter_cells

    # Upload the reference notebook and run the public checks with it.
    page.get_by_text("Or upload a notebook instead").click()
    page.set_input_files("#files", str(REFERENCE))
    page.get_by_role("button", name="Run public checks").click()
    expect(page.locator(".public-run-summary")).to_contain_text("public checks passed",
                                                                timeout=RUN_TIMEOUT_MS)
    # Kept as the draft, shown read-only, with its outputs under the cells.
    status = page.locator(".nb-status")
    expect(status).to_contain_text("the notebook you uploaded, shown read-only")
    expect(page.get_by_role("button", name="+ Code cell")).to_have_count(0)   # hidden
    expect(page.locator(".nb-add")).to_be_hidden()
    expect(page.locator(".nb-outputs:not([hidden])").first).to_be_visible(timeout=30_000)
    page.screenshot(path=str(NB_SHOTS / "uploaded-read-only.png"))

    # Edit it here: one more cell, typed in the page.
    page.get_by_role("button", name="Edit it here").click()
    page.get_by_role("button", name="+ Code cell").click()
    page.keyboard.type("print('typed in the page', 6 * 7)")
    expect(page.locator(".js-save-state")).to_have_text(re.compile(r"^Saved "), timeout=15_000)
    # The cells scroll in their pane; the page itself never grows past the window.
    assert page.evaluate("document.documentElement.scrollHeight <= innerHeight")
    page.get_by_role("button", name="Run public checks").click()
    last = page.locator(".nb-cell").last
    expect(last.locator(".nb-outputs")).to_contain_text("typed in the page 42",
                                                        timeout=RUN_TIMEOUT_MS)
    page.screenshot(path=str(NB_SHOTS / "edited-and-run.png"))
    found = serious_violations(page, "notebook workspace after a run")

    # Submit from the page: no file chosen again.
    page.get_by_role("button", name="Submit", exact=True).click()
    submission = page.locator(".submission").first
    expect(submission.locator(".badge")).to_have_text("graded", timeout=RUN_TIMEOUT_MS)
    score = submission.locator(".js-status-score").inner_text()
    assert float(score.split()[-1]) >= 95, score
    page.screenshot(path=str(NB_SHOTS / "submitted-graded.png"))
    assert not found, report(found)
    assert not errors, errors
    page.context.close()
