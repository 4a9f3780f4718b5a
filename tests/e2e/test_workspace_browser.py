"""The workspace in a real browser: type in the CodeMirror editor, see it saved, reload and
find the draft back; leave with unsaved work and be warned, the work still saved.

A `heldout serve` over a temporary data directory; Debian's Chromium driven by Playwright
(never a downloaded browser). Screenshots go to var/screenshots/ for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from heldout.platform.app import create_app
from heldout.platform.blobs import BlobStore
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, utcnow
from heldout.platform.queue import get_queue
from heldout.platform.services import drafts
from heldout.platform.services.catalogue import get_bundles
from tests.e2e.live_server import (
    SHOTS,
    SLUG,
    invited_site,
    new_page,
    paste_into_editor,
    serving,
    sign_in,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Dialog, Page

pytestmark = [pytest.mark.slow]

SECRET = "workspace-browser-secret-key-not-for-production"
TYPED = "# typed in the browser: keep me"
RECRUITER_PASSWORD = "z" * 14


@dataclass(frozen=True)
class Served:
    base_url: str
    invite_path: str
    settings: dict[str, str]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    site = invited_site(tmp_path, SECRET, [SLUG], assessment="Workspace check",
                        candidate=("Wren Writer", "wren@example.org"),
                        recruiter_password=RECRUITER_PASSWORD, time_limit_minutes=45)
    with serving(site.settings, tmp_path / "server.log", site.port) as base_url:
        yield Served(base_url, f"/i/{site.token}", site.settings)


def _editor_text(page: Page) -> str:
    """The editor's whole document (CodeMirror draws only the lines in view)."""
    return str(page.evaluate(
        "HeldoutEditor.textOf(document.querySelector('.cm-mount'))"))


def test_type_autosave_reload_and_leave(served: Served, browser: Browser) -> None:
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Console errors (a refused style or script) and failed requests, but for the favicon
    # the app does not serve (the browser asks for it on its own).
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error"
            and not msg.text.startswith("Failed to load resource") else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400
            and not r.url.endswith("/favicon.ico") else None)

    page.goto(served.base_url + served.invite_path)
    page.get_by_label(re.compile("I have read how my data is used")).check()
    page.get_by_role("button", name="Start the assessment").click()
    page.get_by_role("link", name=re.compile("Predict customer churn")).click()
    expect(page.locator(".cm-editor")).to_be_visible()  # the editor replaced the textarea
    expect(page.locator("textarea#code")).to_be_hidden()
    expect(page.locator(".cm-lineNumbers")).to_be_visible()
    expect(page.locator(".js-save-state")).to_have_text("Starter code")
    expect(page.get_by_role("tab", name="Checks")).to_have_attribute("aria-selected", "true")

    # Type at the end of the starter, as a person would.
    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.type(TYPED)
    expect(page.locator(".js-save-state")).to_have_text(re.compile(r"^Saved "), timeout=15_000)
    page.screenshot(path=str(SHOTS / "workspace-saved.png"), full_page=False)

    # The page's own syntax colouring: Python keywords get a class of their own.
    assert page.locator(".cm-content span").count() > 5

    # A paste goes into the editor and is recorded as an editor event: its size and file,
    # never its text, in a batch sent soon after (never a request per keystroke).
    pasted = "x = 1\n" * 100
    with page.expect_response(lambda r: r.url.endswith("/editor-events")) as sent:
        paste_into_editor(page, pasted)
    assert sent.value.status == 200
    body = sent.value.request.post_data_json
    assert body is not None
    batch = body["events"]
    assert [{k: e[k] for k in ("kind", "file", "chars")} for e in batch
            if e["kind"] == "paste"] == [{"kind": "paste", "file": "solution.py", "chars": 600}]
    assert "x = 1" not in (sent.value.request.post_data or "")
    assert _editor_text(page).count("x = 1") == 100

    page.reload()
    expect(page.locator(".cm-editor")).to_be_visible()
    assert TYPED in _editor_text(page)
    expect(page.locator(".js-save-state")).to_have_text(re.compile(r"^(Draft saved at|Saved )"))

    # Unsaved work and a click away: the browser asks first, and the work is sent anyway.
    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\nLEFT_IN_A_HURRY = 1")
    asked: list[str] = []

    def answer(dialog: Dialog) -> None:
        asked.append(dialog.type)
        dialog.accept()

    page.on("dialog", answer)
    page.get_by_role("link", name="All challenges").click()
    expect(page.get_by_role("heading", name="Your challenges")).to_be_visible()
    card = page.get_by_role("link", name=re.compile("Predict customer churn"))
    expect(card).to_contain_text("draft saved")
    page.screenshot(path=str(SHOTS / "overview-draft-saved.png"))
    card.click()
    expect(page.locator(".cm-editor")).to_be_visible()
    assert "LEFT_IN_A_HURRY = 1" in _editor_text(page)
    assert asked in ([], ["beforeunload"])  # asked when the save had not landed yet
    page.remove_listener("dialog", answer)

    # The statement is reachable and scrollable with the keyboard.
    statement = page.locator("article.statement")
    statement.focus()
    before = statement.evaluate("el => el.scrollTop")
    page.keyboard.press("PageDown")
    page.wait_for_function("el => el.scrollTop > 0", arg=statement.element_handle())
    assert statement.evaluate("el => el.scrollTop") > before
    page.screenshot(path=str(SHOTS / "workspace-reloaded.png"))
    assert not errors, errors

    # The editor fills the pane: taller than the old fixed box (26rem) in this window, and
    # a taller window gives it more.
    def editor_height() -> float:
        return float(page.locator(".cm-editor").evaluate("el => el.getBoundingClientRect().height"))

    height = editor_height()
    assert height > 26 * 16, height
    # The workspace fits the window: statement, editor and results scroll in their panes.
    assert page.evaluate("document.documentElement.scrollHeight <= innerHeight")

    # The split between statement and editor moves with the keyboard and is remembered.
    split = page.get_by_role("separator", name=re.compile("Width of the statement"))
    assert split.get_attribute("aria-valuenow") == "45"
    split.focus()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    expect(split).to_have_attribute("aria-valuenow", "35")
    assert editor_height() >= height   # the editor got wider, never shorter
    page.set_viewport_size({"width": 1440, "height": 1300})
    assert editor_height() >= height + 200, (height, editor_height())
    page.set_viewport_size({"width": 1440, "height": 1000})

    # Soft wrap: off by default, switched on, remembered after a reload.
    wrap = page.get_by_label("Wrap long lines")
    expect(wrap).not_to_be_checked()
    wrap.check()
    expect(page.locator(".cm-content.cm-lineWrapping")).to_have_count(1)

    # A second file, where the challenge allows more than one: named inline, checked as typed.
    page.get_by_role("button", name="+ New file").click()
    name = page.get_by_label("New file name")
    expect(name).to_be_focused()
    name.type("helpers.txt")
    expect(page.locator("#file-name-hint")).to_have_text(
        "helpers.txt is not accepted here: names must match *.py.")
    expect(name).to_have_attribute("aria-invalid", "true")
    name.fill("solution.py")
    expect(page.locator("#file-name-hint")).to_have_text("There is a file called solution.py already.")
    name.fill("helpers.py")
    expect(name).to_have_attribute("aria-invalid", "false")
    name.press("Enter")
    expect(page.get_by_role("tab", name="helpers.py")).to_have_attribute("aria-selected", "true")
    page.keyboard.type("HELPER = 'second file'")
    expect(page.locator(".js-save-state")).to_have_text(re.compile(r"^Saved "), timeout=15_000)
    page.screenshot(path=str(SHOTS / "workspace-two-files.png"))
    page.reload()
    expect(page.get_by_role("separator", name=re.compile("Width of the statement"))
           ).to_have_attribute("aria-valuenow", "35")
    expect(page.get_by_label("Wrap long lines")).to_be_checked()
    expect(page.locator(".cm-content.cm-lineWrapping")).to_have_count(2)   # both files

    # Renamed inline (the draft follows), then deleted after an inline confirmation.
    page.get_by_role("tab", name="helpers.py").click()
    page.get_by_role("button", name="Rename helpers.py").click()
    page.get_by_label("New name for helpers.py").fill("utils.py")
    page.get_by_role("button", name="Rename", exact=True).click()
    expect(page.get_by_role("tab", name="utils.py")).to_have_attribute("aria-selected", "true")
    expect(page.locator(".js-save-state")).to_have_text(re.compile(r"^Saved "), timeout=15_000)
    page.reload()
    expect(page.get_by_role("tab", name="utils.py")).to_be_visible()
    expect(page.get_by_role("tab", name="helpers.py")).to_have_count(0)
    page.get_by_role("tab", name="utils.py").click()
    page.get_by_role("button", name="Delete utils.py").click()
    page.get_by_role("button", name="Delete utils.py").last.click()
    expect(page.get_by_role("tab", name="utils.py")).to_have_count(0)
    expect(page.locator(".js-save-state")).to_have_text(re.compile(r"^Saved "), timeout=15_000)
    page.reload()
    expect(page.get_by_role("tab", name="solution.py")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("tab")).to_have_count(4)   # solution.py and the three result tabs
    assert not errors, errors

    # Filling the editor as a whole (as the end-to-end test pastes the reference) works too.
    # (Chromium's own editing command styles the text it inserts, which the page's policy
    # refuses in the console; CodeMirror reads the text all the same.)
    editor = page.get_by_role("textbox", name=re.compile(r"\.py$"))
    editor.fill("print('filled in one go')\n")
    expect(page.locator(".js-save-state")).to_have_text(re.compile(r"^Saved "), timeout=15_000)
    assert _editor_text(page) == "print('filled in one go')\n"
    assert page.locator("textarea#code").input_value() == "print('filled in one go')\n"
    assert not [e for e in errors if not e.startswith("Applying inline style")], errors
    context.close()


def _start(page: Page, served: Served) -> None:
    page.goto(served.base_url + served.invite_path)
    page.get_by_label(re.compile("I have read how my data is used")).check()
    page.get_by_role("button", name="Start the assessment").click()
    page.get_by_role("link", name=re.compile("Predict customer churn")).click()


def test_a_short_attempt_warns_at_two_minutes_and_the_server_submits_at_zero(
        served: Served, browser: Browser) -> None:
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    _start(page, served)
    expect(page.locator(".cm-editor")).to_be_visible()
    # A 5-minute attempt with 15 s left: the 2-minute notice only, never "10 minutes left".
    app = create_app(served.settings)
    with app.app_context():
        attempt = db.session.scalars(select(Attempt)).one()
        attempt.started_at = utcnow() - timedelta(minutes=5) + timedelta(seconds=15)
        attempt.deadline = utcnow() + timedelta(seconds=15)
        db.session.commit()
    page.reload()
    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\n# my last line before the bell")
    expect(page.locator(".js-save-state")).to_have_text(re.compile(r"^Saved "), timeout=15_000)
    notice = page.locator(".js-countdown-note")
    expect(notice).to_have_text(re.compile(r"^2 minutes left"))
    expect(notice).to_have_attribute("role", "status")
    page.screenshot(path=str(SHOTS / "workspace-two-minutes.png"))

    # At zero the page reloads into the done page, which waits for the server's job.
    expect(page.get_by_role("heading", name="Time is up")).to_be_visible(timeout=60_000)
    expect(page.locator(".deadline-card")).to_contain_text("is being submitted for you")
    with app.app_context():
        outcomes = drafts.submit_due_drafts(blobs=BlobStore(Path(app.config["HELDOUT_DATA_DIR"])
                                                            / "blobs"),
                                            queue=get_queue(), bundles=get_bundles(), now=utcnow())
        assert [o.submission_id is not None for o in outcomes] == [True]
        db.engine.dispose()
    expect(page.locator(".deadline-card")).to_contain_text(
        "Time is up: your last saved work was submitted at", timeout=30_000)
    page.screenshot(path=str(SHOTS / "done-deadline.png"))


def test_a_resent_link_continues_the_attempt_on_another_device(
        served: Served, browser: Browser) -> None:
    """Device A types and autosaves; the recruiter resends; device B opens the new link and
    finds A's draft and the same deadline; A's next autosave says the session moved, and
    what A typed stays in its editor."""
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    device_a = new_page(browser, served.base_url, 1280, 900)
    _start(device_a, served)
    expect(device_a.locator(".cm-editor")).to_be_visible()
    device_a.locator(".cm-content").click()
    device_a.keyboard.press("Control+End")
    device_a.keyboard.type("\n# typed on device A")
    expect(device_a.locator(".js-save-state")).to_have_text(re.compile(r"^Saved "), timeout=15_000)
    deadline = device_a.locator(".countdown").get_attribute("data-deadline")
    assert deadline

    recruiter = new_page(browser, served.base_url)
    recruiter.goto("/login")
    sign_in(recruiter, "rec@example.com", RECRUITER_PASSWORD)
    recruiter.get_by_role("link", name="Workspace check").first.click()
    row = recruiter.get_by_role("row", name=re.compile("Wren Writer"))
    expect(row).to_contain_text("started")
    recruiter.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Resend").click()
    link = recruiter.get_by_label("Invite link").input_value()
    assert link.startswith(served.base_url + "/i/"), link
    recruiter.context.close()

    device_b = new_page(browser, served.base_url, 390, 844)
    device_b.goto(link)
    # Following the link takes nothing over (a mail scanner may follow it): the button does.
    expect(device_b.get_by_role("heading", name=re.compile("^Continue .* here$"))).to_be_visible()
    device_b.get_by_role("button", name="Continue here").click()
    expect(device_b.get_by_role("heading", name="Your challenges")).to_be_visible()
    assert device_b.locator(".countdown").get_attribute("data-deadline") == deadline
    device_b.get_by_role("link", name=re.compile("Predict customer churn")).click()
    expect(device_b.locator(".cm-editor")).to_be_visible()
    assert "# typed on device A" in _editor_text(device_b)
    device_b.screenshot(path=str(SHOTS / "another-device-b.png"), full_page=True)

    device_a.locator(".cm-content").click()
    device_a.keyboard.press("Control+End")
    device_a.keyboard.type("\n# typed on A after the move")
    state = device_a.locator(".js-save-state")
    expect(state).to_have_text(re.compile("moved to another device"), timeout=15_000)
    expect(state).to_be_visible()
    assert "# typed on A after the move" in _editor_text(device_a)   # nothing typed is lost
    device_a.screenshot(path=str(SHOTS / "another-device-a-moved.png"))
    device_a.reload()
    expect(device_a.get_by_role("heading", name="This session moved to another device")).to_be_visible()
    device_b.reload()   # the refused save changed nothing on the server
    expect(device_b.locator(".cm-editor")).to_be_visible()
    assert "# typed on device A" in _editor_text(device_b)
    assert "# typed on A after the move" not in _editor_text(device_b)
    device_a.context.close()
    device_b.context.close()
