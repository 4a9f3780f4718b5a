"""Every candidate page at a phone's width (390 px): no sideways scroll of the page (wide
tables and logs scroll in their own box), and axe-clean there and at 1280 px.

A `heldout serve` over a temporary data directory with every bundle of challenges/ in one
assessment (the practice sample on its own page); a graded public run (long lines in its
output) and a graded submission on the first challenge; Debian's Chromium. Screenshots go
to var/screenshots/phone/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from sqlalchemy import select

from heldout.graders.bundle import load_bundle
from heldout.graders.result import Check, Evaluation, RunStats
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, EvaluationRecord, PublicRun, Submission, utcnow
from heldout.platform.services import catalogue
from tests.e2e.axe_check import Violation, report, serious_violations
from tests.e2e.live_server import (
    REPO,
    SHOTS,
    SWEEP_SHOTS,
    WIDER_THAN_THE_PAGE,
    invited_site,
    new_page,
    serving,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.slow]

SECRET = "phone-layout-secret-key-not-for-production"
PHONE = (390, 844)
DESKTOP = (1280, 900)
PHONE_SHOTS = SHOTS / "phone"
# Every bundle an assessment can hold (the practice page's sample is not one of them).
SLUGS = sorted(p.parent.name for p in (REPO / "challenges").glob("*/challenge.toml")
               if not load_bundle(p.parent).practice)
LONG_LINE = "feature_" + "x" * 300   # a log line no phone can show whole


@dataclass(frozen=True)
class Site:
    base_url: str
    app: Flask
    token: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("phone")
    made = invited_site(
        root, SECRET, SLUGS, candidate=("Pia Phone", "pia@example.org"),
        assessment="A take-home with a rather long name to see how the top bar copes on a phone",
        recruiter_password="phone layout horse", time_limit_minutes=240)
    with serving(made.settings, root / "server.log", made.port) as base_url:
        yield Site(base_url, made.app, made.token)


def _graded_work(app: Flask, public_id: str, slug: str) -> None:
    """A graded public run whose output has long lines, and a graded submission."""
    with app.app_context():
        attempt = db.session.scalars(select(Attempt).where(Attempt.public_id == public_id)).one()
        challenge = next(c for c in catalogue.available_challenges() if c.slug == slug)
        at = utcnow() - timedelta(minutes=1)
        run = RunStats(exit_code=1, timed_out=False, oom_killed=False, wall_seconds=2.0,
                       peak_memory_mb=90.0, output_bytes=0, stdout_tail=LONG_LINE + "\n",
                       stderr_tail=f"Traceback (most recent call last):\n  {LONG_LINE}\n")
        checks = (Check("run", "run", False, 0, 0, f"exited with code 1: {LONG_LINE}"),
                  Check("predictions", "test", False, 0, 10, "no predictions file"))
        evaluation = Evaluation(challenge=slug, version=challenge.version, status="graded",
                                score=0.0, checks=checks, run=run, split="public")
        db.session.add(PublicRun(attempt_id=attempt.id, challenge_id=challenge.id,
                                 challenge_slug=slug, challenge_version=challenge.version,
                                 status="graded", created_at=at, finished_at=at,
                                 evaluation=evaluation.as_dict()))
        submission = Submission(attempt_id=attempt.id, challenge_id=challenge.id,
                                challenge_slug=slug, challenge_version=challenge.version,
                                status="graded", created_at=at, finished_at=at, tries=1)
        db.session.add(submission)
        db.session.flush()
        db.session.add(EvaluationRecord(
            submission_id=submission.id, status="graded", challenge_version=challenge.version,
            score=12.5, max_score=100.0, checks=[c.as_dict() for c in checks], metrics={},
            run=run.as_dict(), created_at=at))
        db.session.commit()
        db.engine.dispose()


def _measure(page: Page, name: str, found: list[Violation], widths: dict[str, Any]) -> None:
    page.wait_for_load_state("load")
    width = int(page.viewport_size["width"]) if page.viewport_size else 0
    label = f"{name} @{width}px"
    found.extend(serious_violations(page, label))
    shot = re.sub(r"[^a-z0-9-]+", "-", name.lower())
    if SWEEP_SHOTS:
        page.screenshot(path=str(PHONE_SHOTS / f"{shot}-{width}.png"), full_page=True)
    if width == PHONE[0]:
        page_width, _viewport, wide = page.evaluate(WIDER_THAN_THE_PAGE)
        widths[name] = (page_width, wide)


def test_no_candidate_page_scrolls_sideways_on_a_phone(site: Site, browser: Browser) -> None:
    PHONE_SHOTS.mkdir(parents=True, exist_ok=True)
    found: list[Violation] = []
    widths: dict[str, Any] = {}
    phone = new_page(browser, site.base_url, *PHONE)
    desktop = new_page(browser, site.base_url, *DESKTOP)

    def both(name: str, url: str) -> None:
        """The page on the phone (measured, axe) and at the desktop's width (axe)."""
        desktop.context.clear_cookies()
        desktop.context.add_cookies(phone.context.cookies())  # type: ignore[arg-type]
        for page in (phone, desktop):
            page.goto(url)
            _measure(page, name, found, widths)

    for name, path in (("invite link not valid", "/i/not-a-real-token"),
                       ("attempt not found", "/a/not-an-attempt/")):
        phone.goto(path)
        _measure(phone, name, found, widths)

    phone.goto(f"/i/{site.token}")
    welcome = phone.url
    both("welcome", welcome)
    both("practice", "/practice")  # linked from the welcome page, before Start
    phone.goto(welcome)
    phone.eval_on_selector("form:has(input[name=consent])", "f => { f.noValidate = true; }")
    phone.get_by_role("button", name=re.compile("Start")).click()
    phone.wait_for_selector(".field-error, .notice-error")
    _measure(phone, "welcome without consent", found, widths)
    phone.get_by_label(re.compile("I have read how my data is used")).check()
    phone.get_by_role("button", name=re.compile("Start")).click()
    phone.wait_for_url(re.compile("/a/"))
    public_id = phone.url.split("/a/")[1].split("/")[0]
    _graded_work(site.app, public_id, SLUGS[0])
    overview = phone.url
    both("overview", overview)
    for slug in SLUGS:
        both(f"workspace {slug}", f"/a/{public_id}/c/{slug}")
    phone.goto(overview)
    phone.once("dialog", lambda dialog: dialog.accept())
    phone.get_by_role("button", name="Finish assessment").click()
    phone.wait_for_url(re.compile("/done$"))
    both("done", phone.url)

    print("\nscrollWidth at 390 px:")
    for name, (page_width, wide) in widths.items():
        print(f"  {name}: {page_width}" + (f" (too wide: {wide})" if wide else ""))
    too_wide = {name: w for name, w in widths.items() if w[0] > PHONE[0]}
    assert not too_wide, f"pages that scroll sideways at {PHONE[0]} px: {too_wide}"
    assert len(widths) == 7 + len(SLUGS), sorted(widths)
    assert not found, report(found)
    phone.context.close()
    desktop.context.close()
