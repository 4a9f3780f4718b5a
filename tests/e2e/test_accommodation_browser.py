"""An accommodated candidate in a real browser: x1.5 time and a break allowance; they hide
the timer, take a break (the work hidden, the clock paused), come back, and at the extended
deadline the server submits their saved work.

No waiting for time to pass: the test moves the attempt's times back (as if minutes went
by) and runs the deadline job itself. Screenshots go to var/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from sqlalchemy import select

from heldout.platform.blobs import BlobStore
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, DeadlineSubmission, Invite, User, utcnow
from heldout.platform.queue import get_queue
from heldout.platform.services import clock, drafts
from heldout.platform.services.catalogue import get_bundles
from tests.e2e.live_server import SHOTS, invited_site, serving

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.slow]

SECRET = "accommodation-browser-secret-key-not-for-production"
LIMIT = 40  # minutes: x1.5 is 60


@dataclass(frozen=True)
class Served:
    base_url: str
    invite_path: str
    app: Flask


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    site = invited_site(tmp_path, SECRET, ["churn-prediction"], assessment="Paced check",
                        candidate=("Pat Paced", "pat@example.org"),
                        recruiter_password="p" * 14, time_limit_minutes=LIMIT)
    with site.app.app_context():
        invite = db.session.scalars(select(Invite)).one()
        recruiter = db.session.scalars(select(User)).one()
        clock.set_accommodation(invite, clock.parse_accommodation("1.5", "", "15"),
                                actor=recruiter, now=utcnow())
        db.engine.dispose()
    with serving(site.settings, tmp_path / "server.log", site.port) as base_url:
        yield Served(base_url, f"/i/{site.token}", site.app)


def _move_clock(app: Flask, by: timedelta) -> None:
    """As if ``by`` went by: every time of the attempt moves back by it."""
    with app.app_context():
        attempt = db.session.scalars(select(Attempt)).one()
        attempt.started_at -= by
        attempt.consent_at -= by
        attempt.deadline -= by
        for taken in attempt.breaks:
            taken.started_at -= by
            taken.ends_by -= by
            if taken.ended_at is not None:
                taken.ended_at -= by
        db.session.commit()
        db.engine.dispose()


def test_a_break_pauses_the_clock_and_the_deadline_submits_at_the_extended_time(
        served: Served, browser: Browser) -> None:
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(served.base_url + served.invite_path)
    expect(page.locator(".facts")).to_contain_text("60 minutes, from when you press Start")
    expect(page.locator(".facts")).to_contain_text("up to 15 min 00 s in total")
    page.get_by_label(re.compile("I have read how my data is used")).check()
    page.get_by_role("button", name="Start the assessment").click()

    # The timer can be hidden; it stays hidden on the next page.
    toggle = page.get_by_role("button", name="Hide timer")
    toggle.click()
    expect(page.locator(".js-countdown")).to_be_hidden()
    expect(page.get_by_role("button", name="Show timer")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("link", name=re.compile("Predict customer churn")).click()
    expect(page.locator(".js-countdown")).to_be_hidden()
    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\n# saved before my break")
    expect(page.locator(".js-save-state")).to_have_text(re.compile(r"^Saved "), timeout=15_000)
    workspace_url = page.url

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=re.compile("Take a break")).click()
    expect(page.get_by_role("heading", name="You are on a break")).to_be_visible()
    expect(page.locator(".cm-editor")).to_have_count(0)
    page.goto(workspace_url)  # the work stays hidden
    assert page.url.endswith("/break"), page.url
    page.screenshot(path=str(SHOTS / "candidate-on-break.png"))

    _move_clock(served.app, timedelta(minutes=6))  # six minutes on the break
    page.get_by_role("button", name="End the break and continue").click()
    expect(page.get_by_role("heading", name="Your challenges")).to_be_visible()
    with served.app.app_context():
        attempt = db.session.scalars(select(Attempt)).one()
        (taken,) = attempt.breaks
        paused = taken.resumes_at - taken.started_at
        assert timedelta(minutes=6) <= paused < timedelta(minutes=7)
        assert attempt.deadline == attempt.started_at + timedelta(minutes=60) + paused
        left = attempt.deadline - utcnow()
        db.engine.dispose()
    expect(page.get_by_role("button", name=re.compile("Take a break"))).to_contain_text(
        re.compile(r"\((8|9) min \d\d s left\)"))

    # A hidden timer still warns: 100 seconds before the extended deadline.
    _move_clock(served.app, left - timedelta(seconds=100))
    page.reload()
    expect(page.locator(".js-countdown")).to_be_hidden()
    expect(page.locator(".js-countdown-note")).to_have_text(re.compile(r"^2 minutes left"))

    # The extended deadline comes: the server's job submits the saved work.
    _move_clock(served.app, timedelta(seconds=101))
    with served.app.app_context():
        outcomes = drafts.submit_due_drafts(
            blobs=BlobStore(Path(served.app.config["HELDOUT_DATA_DIR"]) / "blobs"),
            queue=get_queue(), bundles=get_bundles(), now=utcnow())
        assert [o.submission_id is not None for o in outcomes] == [True]
        attempt = db.session.scalars(select(Attempt)).one()
        claim = db.session.scalars(select(DeadlineSubmission)).one()
        assert attempt.finish_reason == "deadline"
        assert attempt.finished_at == attempt.deadline
        assert attempt.deadline == attempt.started_at + timedelta(minutes=60) + paused
        assert claim.submission is not None
        db.engine.dispose()
    page.goto(workspace_url)
    expect(page.get_by_role("heading", name="Time is up")).to_be_visible()
    expect(page.locator(".deadline-card")).to_contain_text(
        "Time is up: your last saved work was submitted at")
    page.screenshot(path=str(SHOTS / "done-after-break.png"))
    page.context.close()
