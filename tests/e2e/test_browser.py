"""A real browser through the real stack: recruiter, candidate and interviewer click through.

The web server and the grading worker run as the ``heldout`` command would run them, in
subprocesses over a temporary data directory; Chromium (Debian's, never a downloaded one)
drives the pages with Playwright. Screenshots of the main pages go to a temporary
directory (or ``HELDOUT_E2E_SCREENSHOTS``) for a person to look at.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e.axe_check import Violation, report, serious_violations
from tests.e2e.live_server import (
    CHALLENGE_TITLE,
    MIN_SCORE,
    REPO,
    SLUG,
    Stack,
    new_page,
    sign_in,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ASSESSMENT = "Browser take-home"
CANDIDATE = ("Erin Browser", "erin.browser@example.org")
GRADING_TIMEOUT_MS = 180_000


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    chosen = os.environ.get("HELDOUT_E2E_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _number(text: str) -> float:
    match = re.search(r"\d+(?:\.\d+)?", text)
    assert match, f"no number in {text!r}"
    return float(match.group(0))


def test_invite_to_report_in_a_browser(browser: Browser, stack: Stack, shots: Path) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)

    found: list[Violation] = []

    def snap(page: Page, name: str) -> None:
        found.extend(serious_violations(page, name))  # axe-core on each page shown
        page.evaluate("window.scrollTo(0, 0)")  # a sticky top bar mid-page confuses full-page shots
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    def open_page() -> Page:
        return new_page(browser, stack.base_url)

    def sign_in_as(page: Page, email: str) -> None:
        page.goto("/")
        expect(page).to_have_title(re.compile("Sign in"))
        snap(page, "00-sign-in")
        sign_in(page, email, stack.logins[email])

    # The recruiter builds an assessment and invites a candidate.
    recruiter = open_page()
    sign_in_as(recruiter, "recruiter@example.com")
    snap(recruiter, "01-assessments")
    recruiter.get_by_role("main").get_by_role("link", name="New assessment").click()
    expect(recruiter.get_by_role("heading", name="New assessment")).to_be_visible()
    recruiter.get_by_role("checkbox", name=re.compile(CHALLENGE_TITLE)).check()
    recruiter.get_by_label("Name", exact=True).fill(ASSESSMENT)
    recruiter.get_by_label("Time limit (minutes)").fill("90")
    recruiter.get_by_label("Show scores to candidates").check()
    snap(recruiter, "02-builder")
    recruiter.get_by_role("button", name="Create assessment").click()
    expect(recruiter.get_by_role("heading", name=ASSESSMENT, level=1)).to_be_visible()
    expect(recruiter.get_by_text("No invites yet")).to_be_visible()
    recruiter.get_by_label("Name", exact=True).fill(CANDIDATE[0])
    recruiter.get_by_label("E-mail", exact=True).fill(CANDIDATE[1])
    recruiter.get_by_role("button", name="Create invite link").click()
    expect(recruiter.get_by_role("heading", name=f"Link for {CANDIDATE[0]}")).to_be_visible()
    link = recruiter.get_by_label("Invite link").input_value()
    assert link.startswith(f"{stack.base_url}/i/"), link
    expect(recruiter.get_by_role("row", name=re.compile(CANDIDATE[0]))).to_contain_text("link created")
    snap(recruiter, "03-assessment-invited")

    # A changed link explains itself instead of opening anything.
    candidate = open_page()
    token = link.rsplit("/", 1)[-1]
    tampered = f"{stack.base_url}/i/{'A' if token[0] != 'A' else 'B'}{token[1:]}"
    response = candidate.goto(tampered)
    assert response is not None and 400 <= response.status < 500, response and response.status
    expect(candidate.get_by_role("heading", name="This link is not valid")).to_be_visible()
    expect(candidate.get_by_text("Copy the whole link")).to_be_visible()
    snap(candidate, "04-tampered-link")

    # The candidate reads the landing page, consents and starts.
    response = candidate.goto(link)
    assert response is not None and response.status == 200
    expect(candidate.get_by_role("heading", name=ASSESSMENT, level=1)).to_be_visible()
    expect(candidate.get_by_text("90 minutes")).to_be_visible()
    expect(candidate.get_by_role("heading", name="Your data")).to_be_visible()
    snap(candidate, "05-landing")
    candidate.get_by_label(re.compile("I have read how my data is used")).check()
    candidate.get_by_role("button", name="Start the assessment").click()
    expect(candidate.get_by_role("heading", name="Your challenges")).to_be_visible()
    expect(candidate.get_by_role("banner").get_by_role("timer")).to_contain_text(re.compile(r"\d+:\d\d"))
    snap(candidate, "06-overview")

    # The workspace: statement, data files, editor.
    candidate.get_by_role("link", name=re.compile(CHALLENGE_TITLE)).click()
    expect(candidate).to_have_title(re.compile(CHALLENGE_TITLE))
    expect(candidate.get_by_role("heading", name="Data", exact=True).first).to_be_visible()
    expect(candidate.get_by_role("banner").get_by_role("timer")).to_be_visible()
    for name in ("train.csv", "test.csv"):
        expect(candidate.get_by_role("link", name=name, exact=True)).to_be_visible()
    with candidate.expect_download() as downloading:
        candidate.get_by_role("link", name="train.csv", exact=True).click()
    downloaded = Path(downloading.value.path())
    first_line = downloaded.read_text(encoding="utf-8").splitlines()[0]
    expected = (stack.challenges_dir / SLUG / "public" / "train.csv").read_text(encoding="utf-8")
    assert first_line == expected.splitlines()[0]
    assert first_line.startswith("customer_id,") and first_line.endswith(",churn")
    snap(candidate, "07-workspace")

    solution = (REPO / "challenges" / SLUG / "solutions" / "reference" / "solution.py").read_text()
    editor = candidate.get_by_role("textbox", name=re.compile(r"\.py$"))
    editor.fill(solution)
    candidate.get_by_role("button", name="Submit", exact=True).click()
    submission = candidate.locator(".submission").first
    expect(submission).to_be_visible()
    # Rendered before grading finished, so only the page's own polling can show the result.
    assert submission.get_attribute("data-status-url"), "the submission was final on arrival"
    candidate.evaluate("window.heldoutSamePage = true")
    expect(submission.locator(".badge")).to_have_text("graded", timeout=GRADING_TIMEOUT_MS)
    assert candidate.evaluate("window.heldoutSamePage === true"), "the page was reloaded"
    score = _number(submission.locator(".js-status-score").inner_text())
    assert score >= MIN_SCORE, score
    snap(candidate, "08-workspace-graded")

    # Back to the overview, then finish (the confirmation is accepted).
    candidate.get_by_role("link", name="All challenges").click()
    card = candidate.get_by_role("link", name=re.compile(CHALLENGE_TITLE))
    expect(card).to_contain_text("submitted")
    expect(card).to_contain_text("last score")
    snap(candidate, "09-overview-submitted")
    candidate.once("dialog", lambda dialog: dialog.accept())
    candidate.get_by_role("button", name="Finish assessment").click()
    expect(candidate.get_by_role("heading", name="Assessment finished")).to_be_visible()
    expect(candidate.get_by_role("heading", name="What happens next")).to_be_visible()
    snap(candidate, "10-done")

    # The interviewer reads the candidates table and the report.
    interviewer = open_page()
    sign_in_as(interviewer, "interviewer@example.com")
    interviewer.get_by_role("row", name=re.compile(ASSESSMENT)).get_by_role(
        "link", name="Candidates").click()
    expect(interviewer.get_by_role("heading", name=re.compile(f"Candidates.*{ASSESSMENT}"))).to_be_visible()
    row = interviewer.get_by_role("row", name=re.compile(CANDIDATE[0]))
    expect(row).to_be_visible()
    # The page rounds in Python, the live status in JavaScript: equal to the last digit.
    assert abs(_number(row.locator("td.num.strong").inner_text()) - score) <= 0.1
    snap(interviewer, "11-candidates")
    row.get_by_role("link", name="Report").click()
    expect(interviewer.get_by_role("heading", name=CANDIDATE[0], level=1)).to_be_visible()
    assert abs(_number(interviewer.get_by_label("Total score").inner_text()) - score) <= 0.1
    section = interviewer.get_by_role("region", name=re.compile(CHALLENGE_TITLE))
    expect(section.get_by_role("heading", name="Checks", exact=True)).to_be_visible()
    checks = section.get_by_role("table").first
    expect(checks.locator("tbody tr").first).to_be_visible()
    expect(checks).to_contain_text("✓")
    expect(section.get_by_role("heading", name="Metrics")).to_be_visible()
    expect(section).to_contain_text("roc_auc")
    for stat in ("Wall time", "CPU time", "Peak memory", "Limit that ended it"):
        expect(section.get_by_text(stat, exact=True)).to_be_visible()
    snap(interviewer, "12-report")
    assert not found, report(found)
