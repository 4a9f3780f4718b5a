"""In a real browser, under "AI allowed with disclosure": the candidate reads the policy,
cannot finish without saying which AI tools they used (the browser's own check, then the
server's), finishes with it said, and the interviewer reads it on the report.

A `heldout serve` over a fresh data directory (no worker: nothing is graded here); Debian's
Chromium through Playwright; axe on the overview with the form, with its error, and on the
report.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import flask_migrate
import pytest

from heldout.platform.app import create_app
from heldout.platform.extensions import db
from heldout.platform.models import utcnow
from heldout.platform.services import accounts, assessments, catalogue, invites
from heldout.platform.statuses import AiPolicy
from tests.e2e.axe_check import Violation, report, serious_violations
from tests.e2e.live_server import SHOTS, SLUG, new_page, serving, sign_in, site_settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.slow]

SECRET = "ai-disclosure-browser-secret-not-for-production"
PASSWORD = "disclose horse battery staple"
ASSESSMENT = "Disclosed take-home"
SAID = "A chat assistant to recall the pandas groupby syntax; none for the model itself."


@dataclass(frozen=True)
class Site:
    base_url: str
    token: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("ai-disclosure")
    settings, challenges_dir, port = site_settings(root, SECRET)
    app = create_app(settings)
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
        catalogue.load_challenges(challenges_dir)
        recruiter = accounts.create_user("recruiter@example.com", "Rita", "recruiter", PASSWORD)
        accounts.create_user("interviewer@example.com", "Ivan", "interviewer", PASSWORD)
        assessment = assessments.create_assessment(
            name=ASSESSMENT, challenge_slugs=[SLUG], time_limit_minutes=60, instructions="",
            expires_at=None, show_scores=False, created_by_id=recruiter.id,
            ai_policy=AiPolicy.DISCLOSURE)
        token = invites.create_invite(
            assessment_id=assessment.id, candidate_name="Dana Disclose",
            candidate_email="dana@example.org", created_by_id=recruiter.id, secret=SECRET,
            ttl_days=3, now=utcnow()).token
        db.engine.dispose()
    with serving(settings, root / "server.log", port) as base_url:
        yield Site(base_url, token)


def test_finishing_asks_what_ai_was_used_and_the_report_shows_it(site: Site,
                                                                 browser: Browser) -> None:
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    found: list[Violation] = []
    candidate = new_page(browser, site.base_url)
    candidate.goto(f"/i/{site.token}")
    policy = candidate.locator(".ai-policy-note")  # the policy, read before starting
    expect(policy).to_have_attribute("data-ai-policy", "disclosure")
    expect(policy).to_contain_text("you say which ones you used")
    candidate.check("input[name=consent]")
    candidate.get_by_role("button", name="Start the assessment").click()
    candidate.wait_for_url(lambda url: "/a/" in url)
    form = candidate.locator("#finish")
    expect(form.get_by_label("Which AI tools did you use, and for what?")).to_be_visible()
    found += serious_violations(candidate, "overview with the disclosure form")

    # Nothing said: the browser's own check stops it, then (without it) the server's.
    candidate.on("dialog", lambda dialog: dialog.accept())
    form.get_by_role("button", name="Finish assessment").click()
    assert candidate.locator("#ai_disclosure:invalid").count() == 1
    assert "/a/" in candidate.url and not candidate.url.endswith("/done")
    candidate.eval_on_selector("#finish form", "f => { f.noValidate = true; }")
    form.get_by_role("button", name="Finish assessment").click()
    error = candidate.locator("#ai_disclosure-error")
    expect(error).to_be_visible()
    expect(candidate.locator("#ai_disclosure")).to_have_attribute("aria-invalid", "true")
    found += serious_violations(candidate, "overview with the disclosure's error")
    candidate.screenshot(path=str(SHOTS / "ai-disclosure-error.png"), full_page=True)

    candidate.locator("#ai_disclosure").fill(SAID)
    candidate.locator("#finish").get_by_role("button", name="Finish assessment").click()
    expect(candidate.get_by_role("heading", name="Assessment finished")).to_be_visible()
    candidate.context.close()

    interviewer = new_page(browser, site.base_url)
    interviewer.goto("/login")
    sign_in(interviewer, "interviewer@example.com", PASSWORD)
    interviewer.get_by_role("row", name=re.compile(ASSESSMENT)).get_by_role(
        "link", name="Candidates").click()
    interviewer.get_by_role("row", name=re.compile("Dana Disclose")).get_by_role(
        "link", name="Report").click()
    expect(interviewer.locator("blockquote.ai-disclosure")).to_have_text(SAID)
    found += serious_violations(interviewer, "report with the disclosure")
    interviewer.screenshot(path=str(SHOTS / "ai-disclosure-report.png"), full_page=True)
    assert not found, report(found)
