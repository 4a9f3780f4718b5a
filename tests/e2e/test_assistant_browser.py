"""In a real browser: a candidate of an assessment whose policy is the workspace's AI
assistant reads the policy before starting, asks the assistant from the workspace, sees
the answer and the tokens left, and a failing model server's error; axe-clean at desktop and
phone widths.

A `heldout serve` over a fresh data directory (no worker: nothing is graded here) pointed at
the test model server on 127.0.0.1 (tests/platform/model_server.py); Debian's Chromium
through Playwright.
"""

from __future__ import annotations

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
from tests.e2e.axe_check import report, serious_violations
from tests.e2e.live_server import SHOTS, SLUG, new_page, serving, site_settings
from tests.platform import model_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.slow]

SECRET = "assistant-browser-secret-not-for-production"
QUESTION = "How do I one-hot encode the plan column?"
# The code editor is checked by the workspace's own browser tests.
NOT_THE_PANEL = (".cm-mount",)


@dataclass(frozen=True)
class Site:
    base_url: str
    token: str
    model: model_server.ModelServer


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("assistant")
    model, server = model_server.start()
    settings, challenges_dir, port = site_settings(
        root, SECRET, HELDOUT_AI_URL=model.url, HELDOUT_AI_MODEL="test-model",
        HELDOUT_AI_TOKEN_BUDGET="100")
    app = create_app(settings)
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
        catalogue.load_challenges(challenges_dir)
        recruiter = accounts.create_user("recruiter@example.com", "Rita", "recruiter",
                                         "assistant horse battery staple")
        assessment = assessments.create_assessment(
            name="Assisted take-home", challenge_slugs=[SLUG], time_limit_minutes=60,
            instructions="", expires_at=None, show_scores=False, created_by_id=recruiter.id,
            ai_policy=AiPolicy.ASSISTANT, assistant_available=True)
        token = invites.create_invite(
            assessment_id=assessment.id, candidate_name="Ada Asker",
            candidate_email="ada@example.org", created_by_id=recruiter.id, secret=SECRET,
            ttl_days=3, now=utcnow()).token
        db.engine.dispose()
    try:
        with serving(settings, root / "server.log", port) as base_url:
            yield Site(base_url, token, model)
    finally:
        model_server.stop(model, server)


def test_a_candidate_asks_the_workspace_assistant(site: Site, browser: Browser) -> None:
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    page = new_page(browser, site.base_url)
    page.goto(f"/i/{site.token}")
    expect(page.locator(".ai-policy-note")).to_contain_text(
        "You may use the AI assistant in the workspace")
    page.check("input[name=consent]")
    page.get_by_role("button", name="Start the assessment").click()
    page.wait_for_url(lambda url: "/a/" in url)
    page.locator(f"a.card[href$='/c/{SLUG}']").click()
    page.wait_for_url(lambda url: f"/c/{SLUG}" in url)

    panel = page.locator("#assistant")
    expect(panel.locator(".js-ai-budget")).to_have_text("100 of 100 tokens left")
    panel.get_by_text("AI assistant", exact=True).click()  # folded, as "Report a problem"
    panel.get_by_label("Ask the assistant").fill(QUESTION)
    panel.get_by_role("button", name="Ask").click()
    expect(panel.locator(".ai-turn.ai-assistant .ai-text")).to_have_text(
        model_server.ANSWER_PREFIX + QUESTION)
    expect(panel.locator(".js-ai-budget")).to_have_text("70 of 100 tokens left")
    assert site.model.requests[-1]["body"]["messages"][-1]["content"] == QUESTION
    page.screenshot(path=str(SHOTS / "assistant-answered.png"), full_page=True)
    violations = serious_violations(page, "workspace: assistant answered", NOT_THE_PANEL)

    # A failing model server: the candidate is told, clearly, and the failure stays listed.
    site.model.mode = "error"
    panel.get_by_label("Ask the assistant").fill("And the other columns?")
    panel.get_by_role("button", name="Ask").click()
    expect(panel.get_by_role("alert")).to_contain_text("refused the question (HTTP 500")
    expect(panel.locator(".ai-turn.ai-error")).to_have_count(1)
    site.model.mode = "ok"

    # After a reload the conversation is still there, from the server; and at a phone's width.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    panel.get_by_text("AI assistant", exact=True).click()
    expect(panel.locator(".ai-turn")).to_have_count(4)
    page.screenshot(path=str(SHOTS / "assistant-phone.png"), full_page=True)
    violations += serious_violations(page, "workspace: assistant at 390 px", NOT_THE_PANEL)
    assert not violations, report(violations)
    page.context.close()
