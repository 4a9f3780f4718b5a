"""In a real browser: a candidate reports a problem with a task from the workspace, an admin
reads it with its challenge version, marks it resolved, and the analytics page counts it.

A `heldout serve` over a fresh data directory (no worker: nothing is graded here); Debian's
Chromium through Playwright.
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
from tests.e2e.live_server import SHOTS, SLUG, new_page, serving, sign_in, site_settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.slow]

SECRET = "problem-report-browser-secret-not-for-production"
PASSWORD = "report horse battery staple"
WORDS = "The statement says 12 features, but train.csv has 11 columns besides the label."


@dataclass(frozen=True)
class Site:
    base_url: str
    token: str
    version: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("problem-report")
    settings, challenges_dir, port = site_settings(root, SECRET)
    app = create_app(settings)
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
        catalogue.load_challenges(challenges_dir)
        accounts.create_user("admin@example.com", "Ada Admin", "admin", PASSWORD)
        recruiter = accounts.create_user("recruiter@example.com", "Rita", "recruiter", PASSWORD)
        assessment = assessments.create_assessment(
            name="Reported take-home", challenge_slugs=[SLUG], time_limit_minutes=60,
            instructions="", expires_at=None, show_scores=False, created_by_id=recruiter.id)
        token = invites.create_invite(
            assessment_id=assessment.id, candidate_name="Rae Reporter",
            candidate_email="rae@example.org", created_by_id=recruiter.id, secret=SECRET,
            ttl_days=3, now=utcnow()).token
        version = catalogue.available_challenges()[0].version
        db.engine.dispose()
    with serving(settings, root / "server.log", port) as base_url:
        yield Site(base_url, token, version)


def test_a_candidate_reports_a_problem_and_an_admin_resolves_it(site: Site,
                                                                browser: Browser) -> None:
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    candidate = new_page(browser, site.base_url)
    candidate.goto(f"/i/{site.token}")
    candidate.check("input[name=consent]")
    candidate.get_by_role("button", name="Start the assessment").click()
    candidate.wait_for_url(lambda url: "/a/" in url)
    candidate.locator(f"a.card[href$='/c/{SLUG}']").click()
    candidate.wait_for_url(lambda url: f"/c/{SLUG}" in url)

    candidate.get_by_text("Report a problem with this task").click()
    # Sent with nothing said: the browser's own check first, then (without it) the server's.
    candidate.get_by_role("button", name="Send report").click()
    assert candidate.locator("#problem-category:invalid").count() == 1
    candidate.eval_on_selector("#report-problem form", "f => { f.noValidate = true; }")
    candidate.get_by_role("button", name="Send report").click()
    expect(candidate.locator("#problem-category-error")).to_contain_text("Choose what kind")
    candidate.get_by_label("What is wrong").select_option("data")
    candidate.get_by_label("What happened").fill(WORDS)
    candidate.get_by_role("button", name="Send report").click()
    expect(candidate.get_by_role("status").filter(has_text="your report reached the team")) \
        .to_be_visible()
    candidate.screenshot(path=str(SHOTS / "problem-report-sent.png"))

    admin = new_page(browser, site.base_url)
    admin.goto("/login")
    sign_in(admin, "admin@example.com", PASSWORD)
    admin.get_by_role("link", name="Admin").click()
    admin.get_by_role("link", name="Problem reports").click()
    row = admin.locator("table.problem-reports tbody tr").filter(has_text=WORDS)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("A data or starter file is missing or wrong")
    expect(row).to_contain_text("Rae Reporter")
    expect(row).to_contain_text(site.version.removeprefix("sha256:")[:12])
    expect(row).to_contain_text("open")
    admin.screenshot(path=str(SHOTS / "problem-reports-admin.png"), full_page=True)

    # The analytics page of that version counts it while it is open.
    row.get_by_role("link", name="Predict customer churn").click()
    expect(admin.get_by_role("heading", name="Predict customer churn", level=1)).to_be_visible()
    expect(admin.locator("[data-figure=open-reports]")).to_have_text("1")

    admin.go_back()
    row = admin.locator("table.problem-reports tbody tr").filter(has_text=WORDS)
    row.get_by_role("button", name="Mark resolved").click()
    expect(admin.get_by_text("No open reports")).to_be_visible()
    admin.get_by_label("Status").select_option("resolved")
    admin.get_by_role("button", name="Filter").click()
    resolved = admin.locator("table.problem-reports tbody tr").filter(has_text=WORDS)
    expect(resolved).to_contain_text("resolved")
    expect(resolved).to_contain_text("by Ada Admin")
    admin.goto(f"/catalogue/{SLUG}/versions/{site.version.removeprefix('sha256:')}/analytics")
    expect(admin.locator("[data-figure=open-reports]")).to_have_text("0")
    # The audit log says who resolved it.
    admin.goto("/admin/audit?action=problem_report.resolve")
    expect(admin.locator("table.audit-table tbody tr")).to_have_count(1)
    expect(admin.locator("table.audit-table tbody tr")).to_contain_text("admin@example.com")
    candidate.context.close()
    admin.context.close()
