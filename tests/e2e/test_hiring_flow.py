"""The whole hiring workflow in a real browser, through the real web server, worker and sandbox.

A recruiter builds an assessment from a role template and invites three candidates from a
CSV (preview, confirm, the links downloaded once); a candidate types in the CodeMirror
editor, reloads and finds the draft, runs the public checks and lets the deadline pass: the
worker's deadline job submits the saved draft and grades it, and the done page says so; an
interviewer opens the report, reviews, compares two candidates and exports the table.
axe-core checks each step's page. Screenshots go to var/screenshots/flow-*.png.

The assessment uses the shortest time limit the builder takes (5 minutes); once the candidate
has worked, the test moves the attempt's clock forward so the deadline falls 15 s later
(its start moves by as much), instead of waiting out the rest.
"""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from heldout.platform.app import create_app
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, Invite, utcnow
from tests.e2e.axe_check import Violation, report, serious_violations
from tests.e2e.live_server import (
    CHALLENGE_TITLE,
    MIN_SCORE,
    REPO,
    SHOTS,
    SLUG,
    STACK_SECRET,
    Stack,
    new_page,
    paste_into_editor,
    sign_in,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TITLE = CHALLENGE_TITLE
ASSESSMENT = "ML engineer — flow check"
PEOPLE_CSV = ("name,email,note\n"
              "Erin Editor,erin.editor@example.org,referral\n"
              "Finn Second,finn.second@example.org,\n"
              "No Address,,\n"
              "Gail Third,gail.third@example.org,agency\n"
              "Erin again,ERIN.EDITOR@example.org,\n")
TYPED = "# typed by the candidate: keep this line"
PUBLIC_RUN_TIMEOUT_MS = 240_000
DEADLINE_AHEAD_S = 15
SUBMITTED_BY_SERVER_TIMEOUT_MS = 150_000   # the deadline, then a worker duty turn (a bound, not a wait)
GRADED_TIMEOUT_S = 240


def _editor_text(page: Page) -> str:
    return str(page.evaluate("HeldoutEditor.textOf(document.querySelector('.cm-mount'))"))


def _bring_deadline_forward(stack: Stack, email: str, seconds: int) -> None:
    app = create_app({"HELDOUT_ENV": "development", "HELDOUT_SECRET_KEY": STACK_SECRET,
                      "HELDOUT_DATA_DIR": str(stack.logs.parent / "var"),
                      "HELDOUT_CHALLENGES_DIR": str(stack.challenges_dir)})
    with app.app_context():
        attempt = db.session.scalars(select(Attempt).join(Invite).where(
            Invite.candidate_email == email)).one()
        shift = attempt.deadline - (utcnow() + timedelta(seconds=seconds))
        attempt.started_at -= shift
        attempt.deadline -= shift
        db.session.commit()
        db.engine.dispose()


def test_template_bulk_invites_deadline_submit_review_compare_export(
        browser: Browser, stack: Stack) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    found: list[Violation] = []
    started = time.monotonic()

    def step(page: Page, name: str) -> None:
        """axe on what the page shows now, and a screenshot of it."""
        found.extend(serious_violations(page, name))
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(SHOTS / f"flow-{name}.png"), full_page=True)

    def open_page() -> Page:
        return new_page(browser, stack.base_url)

    def sign_in_as(page: Page, email: str) -> None:
        page.goto("/login")
        sign_in(page, email, stack.logins[email])

    # The recruiter starts from the ML engineer template: its picks come chosen.
    recruiter = open_page()
    sign_in_as(recruiter, "recruiter@example.com")
    recruiter.goto("/assessments/new")
    recruiter.get_by_role("link", name=re.compile("ML engineer")).click()
    expect(recruiter.get_by_role("heading", name=re.compile(r"ML engineer: \d+ challenge"))).to_be_visible()
    pick = recruiter.get_by_role("checkbox", name=re.compile(TITLE))
    expect(pick).to_be_checked()
    recruiter.get_by_label("Name", exact=True).fill(ASSESSMENT)
    recruiter.get_by_label("Time limit (minutes)").fill("5")
    recruiter.get_by_label("Show scores to candidates").check()
    step(recruiter, "01-builder-template")
    recruiter.get_by_role("button", name="Create assessment").click()
    expect(recruiter.get_by_role("heading", name=ASSESSMENT, level=1)).to_be_visible()
    detail_url = recruiter.url

    # Bulk invites: the preview names the bad rows by line, the confirm hands the links once.
    recruiter.get_by_label("CSV file").set_input_files(
        {"name": "people.csv", "mimeType": "text/csv", "buffer": PEOPLE_CSV.encode()})
    recruiter.get_by_role("button", name="Preview").click()
    preview = recruiter.locator("#bulk-preview")
    expect(preview.get_by_role("heading", name="Check the list before inviting")).to_be_visible()
    left_out = preview.locator("table.bad-rows tbody tr")
    expect(left_out).to_have_count(2)
    assert [left_out.nth(i).locator("td").first.inner_text() for i in range(2)] == ["4", "6"]
    expect(preview.locator("table.good-rows tbody tr")).to_have_count(3)
    step(recruiter, "02-bulk-preview")
    with recruiter.expect_download() as downloading:
        recruiter.get_by_role("button", name=re.compile(r"Invite and download links \(3\)")).click()
    rows = list(csv.DictReader(io.StringIO(Path(downloading.value.path()).read_text("utf-8"))))
    assert [r["name"] for r in rows] == ["Erin Editor", "Finn Second", "Gail Third"]
    links = {r["email"]: r["link"] for r in rows}
    assert all(link.startswith(f"{stack.base_url}/i/") for link in links.values()), links
    recruiter.wait_for_url(detail_url)
    invites_table = recruiter.get_by_role("table").last
    for name in ("Erin Editor", "Finn Second", "Gail Third"):
        expect(invites_table.get_by_role("row", name=re.compile(name))).to_be_visible()
    # Handed over once: the links are nowhere on the page any more.
    assert not any(link in recruiter.content() for link in links.values())
    step(recruiter, "03-invites")

    # A second candidate pastes a whole solution (the one the first will also hand in),
    # submits it and finishes: someone to compare with, and integrity evidence to find.
    solution = (REPO / "challenges" / SLUG / "solutions" / "reference" / "solution.py").read_text()
    finn = open_page()
    finn.goto(links["finn.second@example.org"])
    finn.get_by_label(re.compile("I have read how my data is used")).check()
    finn.get_by_role("button", name="Start the assessment").click()
    expect(finn.get_by_role("heading", name="Your challenges")).to_be_visible()
    finn.get_by_role("link", name=re.compile(TITLE)).click()
    expect(finn.locator(".cm-editor")).to_be_visible()
    finn.get_by_role("textbox", name=re.compile(r"\.py$")).fill("")
    with finn.expect_response(lambda r: r.url.endswith("/editor-events")) as pasted:
        paste_into_editor(finn, solution)
    assert pasted.value.status == 200
    finn.get_by_role("button", name="Submit", exact=True).click()
    expect(finn.locator(".submission").first).to_be_visible()
    finn.get_by_role("link", name="All challenges").click()
    finn.once("dialog", lambda dialog: dialog.accept())
    finn.get_by_role("button", name="Finish assessment").click()
    expect(finn.get_by_role("heading", name="Assessment finished")).to_be_visible()
    finn.context.close()

    # The candidate: the editor, a reload, the public checks.
    erin = open_page()
    erin.goto(links["erin.editor@example.org"])
    erin.get_by_label(re.compile("I have read how my data is used")).check()
    erin.get_by_role("button", name="Start the assessment").click()
    erin.get_by_role("link", name=re.compile(TITLE)).click()
    expect(erin.locator(".cm-editor")).to_be_visible()
    erin.get_by_role("textbox", name=re.compile(r"\.py$")).fill(solution)
    erin.locator(".cm-content").click()
    erin.keyboard.press("Control+End")
    erin.keyboard.press("Enter")
    erin.keyboard.type(TYPED)
    expect(erin.locator(".js-save-state")).to_have_text(re.compile(r"^Saved "))
    erin.reload()
    expect(erin.locator(".cm-editor")).to_be_visible()
    text = _editor_text(erin)
    assert TYPED in text and "def " in text, text[:200]
    expect(erin.locator(".js-save-state")).to_have_text(re.compile(r"^(Draft saved at|Saved )"))
    step(erin, "04-workspace-draft-back")

    erin.get_by_role("button", name="Run public checks").click()
    summary = erin.locator(".public-run-summary")
    expect(summary).to_contain_text("public checks passed", timeout=PUBLIC_RUN_TIMEOUT_MS)
    passed, total = (int(n) for n in re.findall(r"\d+", summary.inner_text())[:2])
    assert total >= 1 and passed == total, summary.inner_text()
    expect(erin.locator(".public-check.passed").first).to_be_visible()
    step(erin, "05-public-checks")

    # The clock runs out: the page turns into the done page, the server submits the draft.
    _bring_deadline_forward(stack, "erin.editor@example.org", DEADLINE_AHEAD_S)
    erin.reload()
    expect(erin.get_by_role("heading", name="Time is up")).to_be_visible(
        timeout=(DEADLINE_AHEAD_S + 30) * 1000)
    expect(erin.locator(".deadline-card")).to_contain_text(
        "Time is up: your last saved work was submitted at",
        timeout=SUBMITTED_BY_SERVER_TIMEOUT_MS)
    step(erin, "06-done-deadline")

    # The interviewer: graded, reviewed, compared, exported.
    interviewer = open_page()
    sign_in_as(interviewer, "interviewer@example.com")
    interviewer.get_by_role("row", name=re.compile(ASSESSMENT)).get_by_role(
        "link", name="Candidates").click()
    candidates_url = interviewer.url
    row = interviewer.get_by_role("row", name=re.compile("Erin Editor"))
    limit = time.monotonic() + GRADED_TIMEOUT_S
    while not re.search(r"\d", row.locator("td.num").first.inner_text()):
        assert time.monotonic() < limit, "the deadline submission was not graded in time"
        time.sleep(3)
        interviewer.goto(candidates_url)
    score = float(re.findall(r"\d+(?:\.\d+)?", row.locator("td.num").first.inner_text())[0])
    assert score >= MIN_SCORE, score
    step(interviewer, "07-candidates")

    row.get_by_role("link", name="Report").click()
    expect(interviewer.get_by_role("heading", name="Erin Editor", level=1)).to_be_visible()
    section = interviewer.get_by_role("region", name=re.compile(TITLE))
    expect(section).to_contain_text(TYPED)  # the code the server submitted is the draft
    step(interviewer, "08-report")
    form = interviewer.locator("form.review-form")
    for name in sorted(set(form.locator("input[type=radio][name^=level-]").evaluate_all(
            "els => els.map(e => e.name)"))):
        form.locator(f"input[name='{name}'][value='3']").check()
    form.get_by_label("Notes").fill("Validates properly; the threshold is explained.")
    form.get_by_label("Yes", exact=True).check()
    form.get_by_role("button", name="Submit review").click()
    expect(interviewer.get_by_text(re.compile("Validates properly")).first).to_be_visible()
    step(interviewer, "09-report-reviewed")

    # Integrity evidence, made by the worker from what the two did in the browser: Erin's
    # code matches Finn's (the similarity job after grading), and Finn pasted a whole
    # solution into the editor. Each a "review suggested" line, never a score change.
    panel = interviewer.locator("#integrity")
    similar = panel.locator("li.signal[data-source=similarity]")
    limit = time.monotonic() + GRADED_TIMEOUT_S
    while similar.count() == 0:
        assert time.monotonic() < limit, "no similarity signal on Erin's report"
        time.sleep(3)
        interviewer.reload()
    expect(similar.first).to_contain_text("Finn Second")
    expect(similar.first).to_contain_text("review suggested")
    interviewer.get_by_role("region", name=re.compile(TITLE)).locator(
        ".similarity-line a").first.click()
    expect(interviewer.locator("body")).to_contain_text("Finn Second")
    step(interviewer, "09b-similar-pair")
    interviewer.goto(candidates_url)
    interviewer.get_by_role("row", name=re.compile("Finn Second")).get_by_role(
        "link", name="Report").click()
    expect(interviewer.get_by_role("heading", name="Finn Second", level=1)).to_be_visible()
    paste = interviewer.locator("#integrity li.signal[data-source=paste]")
    expect(paste).to_have_count(1)
    expect(paste).to_contain_text(re.compile(r"pasted [\d,]+ characters"))
    expect(interviewer.locator("#integrity li.signal[data-source=similarity]")).to_have_count(1)
    step(interviewer, "09c-report-signals")

    interviewer.goto(candidates_url)
    interviewer.get_by_label("Compare Erin Editor").check()
    interviewer.get_by_label("Compare Finn Second").check()
    interviewer.get_by_role("button", name="Compare selected").click()
    interviewer.wait_for_url(re.compile(r"/compare\?"))
    heads = [h.strip() for h in interviewer.locator("table.compare thead th").all_inner_texts()]
    assert {"Erin Editor", "Finn Second"} <= {h.splitlines()[0] for h in heads if h}, heads
    step(interviewer, "10-compare")

    interviewer.goto(candidates_url)
    with interviewer.expect_download() as downloading:
        interviewer.get_by_role("link", name="Export CSV").click()
    exported = list(csv.DictReader(io.StringIO(
        Path(downloading.value.path()).read_text("utf-8-sig"))))
    names = [next(iter(r.values())) for r in exported]
    assert len(exported) == 3 and "Erin Editor" in " ".join(str(v) for r in exported
                                                          for v in r.values()), names

    elapsed = time.monotonic() - started
    print(f"hiring flow: {elapsed:.0f} s in the browser")
    assert not found, report(found)
