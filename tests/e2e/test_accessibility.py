"""Every page a person reaches passes axe-core's serious and critical rules, in a real browser.

The list of pages comes from the app's URL map: every GET route needs an entry in ``PAGES``
(who opens it and with which parameters) or in ``NOT_PAGES`` (what it answers instead of a
page, which the test checks), so a new page cannot be forgotten. A `heldout serve` runs over
a temporary data directory seeded with an assessment, invites, a graded candidate and a
submitted review; Debian's Chromium (never a downloaded one) signs in as each role, and a
candidate starts an attempt in the browser. Error states (a bad invite link, a page that
does not exist) are checked as pages too.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import flask_migrate
import pytest
from flask import Flask, url_for
from sqlalchemy import select

from heldout.platform.app import create_app
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, EvaluationRecord, PublicRun, Submission, utcnow
from heldout.platform.processes import stop_processes
from heldout.platform.services import accounts, assessments, catalogue, invites, reviews
from tests.e2e.axe_check import Violation, report, serious_violations

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = [pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SLUG = "churn-prediction"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SECRET = "accessibility-browser-secret-key-not-for-production"
PASSWORD = "accessible horse battery"
SHOTS = REPO / "var" / "screenshots" / "axe"


def _required() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("HELDOUT_REQUIRE_DOCKER") == "1"


def _load_seed() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "heldout_test_review_seed", REPO / "tests" / "platform" / "review_seed.py")
    assert spec is not None and spec.loader is not None
    module = sys.modules.setdefault(spec.name, importlib.util.module_from_spec(spec))
    spec.loader.exec_module(module)
    return module


seed = _load_seed()


@dataclass
class Site:
    """The served app, and the ids the pages' URLs are made of."""

    base_url: str
    app: Flask
    ids: dict[str, Any] = field(default_factory=dict)


# Who opens a page: a staff role, the candidate's browser, or nobody signed in.
Params = Callable[[Site], dict[str, Any]]


@dataclass(frozen=True)
class Visit:
    who: str                                   # recruiter, interviewer, admin, candidate, nobody
    params: Params = lambda _site: {}
    queries: tuple[str, ...] = ("",)           # each a page of its own (filters, templates)


@dataclass(frozen=True)
class NotAPage:
    who: str
    params: Params
    content_type: str                          # what it answers instead of HTML
    why: str


def _assessment(site: Site) -> dict[str, Any]:
    return {"assessment_id": site.ids["assessment"]}


def _graded(site: Site) -> dict[str, Any]:
    return {"attempt_id": site.ids["graded_attempt"]}


def _own(site: Site) -> dict[str, Any]:
    return {"attempt_id": site.ids["public_id"], "slug": SLUG}


# Candidate pages are visited in this table's order (the done page once finished).
PAGES: dict[str, Visit] = {
    "auth.login": Visit("nobody"),
    "staff.assessment_list": Visit("recruiter", queries=("", "?archived=1")),
    "staff.assessment_new": Visit("recruiter", queries=("", "?role=ml-engineer")),
    "staff.assessment_detail": Visit("recruiter", _assessment, ("", "?status=started")),
    "staff.assessment_edit": Visit("recruiter", _assessment),
    "staff.catalogue_preview": Visit("recruiter", lambda _s: {"slug": SLUG}),
    "review.candidates": Visit("interviewer", _assessment),
    "review.compare": Visit("interviewer", _assessment,
                            ("?attempt={graded_attempt}&attempt={other_attempt}", "")),
    "review.report": Visit("interviewer", _graded),
    "review.submission": Visit("interviewer", lambda s: {**_graded(s),
                                                         "submission_id": s.ids["graded_submission"]}),
    "admin.index": Visit("admin"),
    "admin.users": Visit("admin", queries=("", "?role=interviewer")),
    "admin.user_new": Visit("admin"),
    "admin.user_detail": Visit("admin", lambda s: {"user_id": s.ids["interviewer"]}),
    "admin.teams": Visit("admin"),
    "admin.audit_log": Visit("admin"),
    "admin.system_health": Visit("admin"),
    "candidate.welcome": Visit("candidate"),       # reached from the link, before Start
    "candidate.overview": Visit("candidate", lambda s: {"attempt_id": s.ids["public_id"]}),
    "candidate.workspace": Visit("candidate", _own),
    "candidate.done": Visit("candidate", lambda s: {"attempt_id": s.ids["public_id"]}),
}

NOT_PAGES: dict[str, NotAPage] = {
    "static": NotAPage("nobody", lambda _s: {"filename": "heldout.css"}, "text/css",
                       "the app's own assets"),
    "staff.healthz": NotAPage("nobody", lambda _s: {}, "application/json", "for load balancers"),
    "staff.index": NotAPage("recruiter", lambda _s: {}, "redirect", "sends staff to their list"),
    "candidate.landing": NotAPage("nobody", lambda s: {"token": s.ids["spare_token"]}, "redirect",
                                  "swaps the link's token for the session, then the welcome page"),
    "candidate.download": NotAPage("candidate", lambda s: {**_own(s), "area": "public",
                                                            "name": "train.csv"},
                                   "text/csv", "a data file"),
    "candidate.load_draft": NotAPage("candidate", _own, "application/json", "the editor's draft"),
    "candidate.workspace_state": NotAPage("candidate", _own, "application/json",
                                          "the live status, polled"),
    "candidate.workspace_events": NotAPage("candidate", _own, "text/event-stream",
                                           "the live status, pushed"),
    "candidate.submission_status": NotAPage(
        "candidate", lambda s: {"attempt_id": s.ids["public_id"],
                                "submission_id": s.ids["own_submission"]},
        "application/json", "one submission's status, polled"),
    "candidate.public_run_status": NotAPage(
        "candidate", lambda s: {"attempt_id": s.ids["public_id"], "run_id": s.ids["own_run"]},
        "application/json", "one public run's status, polled"),
    "review.export": NotAPage("interviewer", lambda s: {**_assessment(s), "fmt": "csv"},
                              "text/csv", "the candidates table as a file"),
}

# Error states are pages too: what a person sees when a link or an id is wrong.
ERROR_PAGES: tuple[tuple[str, str, str], ...] = (
    ("invite link not valid", "nobody", "/i/not-a-real-token"),
    ("assessment not found", "recruiter", "/assessments/999999"),
    ("report not found", "interviewer", "/attempts/999999/report"),
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _seed(app: Flask, challenges_dir: Path) -> dict[str, Any]:
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
        catalogue.load_challenges(challenges_dir)
        ids: dict[str, Any] = {}
        people = {}
        for role, name in (("admin", "Ada Admin"), ("recruiter", "Rita Recruiter"),
                           ("interviewer", "Ivan Interviewer")):
            people[role] = accounts.create_user(f"{role}@example.com", name, role, PASSWORD)
            ids[role] = people[role].id
        assessment = assessments.create_assessment(
            name="Accessible take-home", challenge_slugs=[SLUG], time_limit_minutes=60,
            instructions="Work as you would at work; **any** documentation is fine.",
            expires_at=None, show_scores=True, created_by_id=ids["recruiter"])
        ids["assessment"] = assessment.id
        made = {name: invites.create_invite(
            assessment_id=assessment.id, candidate_name=name,
            candidate_email=f"{name.split()[0].lower()}@example.org",
            created_by_id=ids["recruiter"], secret=SECRET, ttl_days=7, now=utcnow())
            for name in ("Ana Able", "Sam Spare")}
        ids["token"], ids["spare_token"] = made["Ana Able"].token, made["Sam Spare"].token
        ids["graded_attempt"] = seed.candidate(
            assessment.id, ids["recruiter"], "Priya Raman",
            {SLUG: [seed.Graded(41.0, 12), seed.Graded(82.0, 40)]}, minutes_used=44)
        ids["other_attempt"] = seed.candidate(
            assessment.id, ids["recruiter"], "Tom Becker", {SLUG: [seed.Graded(35.0, 25)]},
            minutes_used=30, index=1)
        db.session.commit()
        graded = db.session.get(Attempt, ids["graded_attempt"])
        assert graded is not None
        ids["graded_submission"] = graded.submissions[-1].id
        levels = {criterion.key: "3" for criterion in reviews.rubric_for(graded)}
        reviews.save_review(ids["graded_attempt"], people["interviewer"], reviews.ReviewInput(
            levels=levels, notes="Sound validation; <b>explains</b> the threshold.",
            recommendation="yes", submit=True), now=utcnow())
        db.engine.dispose()
    return ids


def _candidate_work(app: Flask, public_id: str) -> dict[str, int]:
    """A graded submission and a queued public run on the browser's own attempt."""
    with app.app_context():
        attempt = db.session.scalars(select(Attempt).where(Attempt.public_id == public_id)).one()
        challenge = catalogue.available_challenges()[0]
        at = utcnow() - timedelta(minutes=1)
        submission = Submission(attempt_id=attempt.id, challenge_id=challenge.id,
                                challenge_slug=SLUG, challenge_version=challenge.version,
                                status="graded", created_at=at, finished_at=at, tries=1)
        db.session.add(submission)
        db.session.flush()
        db.session.add(EvaluationRecord(
            submission_id=submission.id, status="graded", challenge_version=challenge.version,
            score=64.0, max_score=100.0, checks=seed.checks_for(64.0), metrics={"roc_auc": 0.76},
            run={"exit_code": 0, "timed_out": False, "oom_killed": False, "wall_seconds": 3.0,
                 "cpu_seconds": 2.5, "peak_memory_mb": 120, "output_bytes": 10,
                 "stdout_tail": "fitted", "stderr_tail": ""}, created_at=at))
        run = PublicRun(attempt_id=attempt.id, challenge_id=challenge.id, challenge_slug=SLUG,
                        challenge_version=challenge.version, status="queued")
        db.session.add(run)
        db.session.commit()
        ids = {"own_submission": submission.id, "own_run": run.id}
        db.engine.dispose()
    return ids


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("a11y")
    challenges_dir = root / "challenges"
    shutil.copytree(REPO / "challenges" / SLUG, challenges_dir / SLUG)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = {"HELDOUT_ENV": "development", "HELDOUT_SECRET_KEY": SECRET,
                "HELDOUT_DATA_DIR": str(root / "var"),
                "HELDOUT_CHALLENGES_DIR": str(challenges_dir), "HELDOUT_BASE_URL": base_url}
    app = create_app(settings)
    ids = _seed(app, challenges_dir)
    log = root / "server.log"
    env = {**os.environ, **settings}
    env.pop("HELDOUT_DATABASE_URL", None)
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "heldout.platform", "serve", "--host",
                                   "127.0.0.1", "--port", str(port)], env=env, cwd=REPO,
                                  stdout=out, stderr=subprocess.STDOUT)
    try:
        limit = time.monotonic() + 30
        while True:
            assert server.poll() is None, log.read_text(errors="replace")
            try:
                with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            assert time.monotonic() < limit, "the server did not start:\n" + log.read_text()
            time.sleep(0.2)
        yield Site(base_url, app, ids)
    finally:
        stop_processes([(server, signal.SIGTERM)])


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        reason = f"{CHROMIUM} is missing (apt-get install -y chromium)"
        if _required():
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _get_routes() -> set[str]:
    app = create_app({"HELDOUT_ENV": "testing", "HELDOUT_SECRET_KEY": SECRET,
                      "HELDOUT_QUEUE_URL": "memory://", "HELDOUT_DATA_DIR": "/nonexistent"})
    return {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in (rule.methods or set())}


def test_every_get_route_is_a_listed_page_or_says_what_it_is() -> None:
    routes = _get_routes()
    unlisted = sorted(routes - PAGES.keys() - NOT_PAGES.keys())
    assert not unlisted, ("GET routes with no entry in PAGES or NOT_PAGES (add how to reach "
                          f"them, so axe checks the page): {unlisted}")
    gone = sorted((PAGES.keys() | NOT_PAGES.keys()) - routes)
    assert not gone, f"entries for routes that no longer exist: {gone}"
    assert not PAGES.keys() & NOT_PAGES.keys()


def _url(site: Site, endpoint: str, params: dict[str, Any], query: str = "") -> str:
    with site.app.test_request_context():
        path = url_for(endpoint, **params)
    return site.base_url + path + query.format(**site.ids)


def _sign_in(context: BrowserContext, site: Site, role: str) -> Page:
    page = context.new_page()
    page.goto(site.base_url + "/login")
    page.fill("input[name=email]", f"{role}@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def test_every_page_passes_axe(site: Site, browser: Browser) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    found: list[Violation] = []
    checked: list[str] = []
    server_errors: list[str] = []
    pages: dict[str, Page] = {}

    def page_of(who: str) -> Page:
        if who not in pages:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            if who in ("recruiter", "interviewer", "admin"):
                pages[who] = _sign_in(context, site, who)
            else:
                pages[who] = context.new_page()
            pages[who].on("response", lambda r: server_errors.append(f"{r.status} {r.url}")
                          if r.status >= 500 else None)
        return pages[who]

    def check(page: Page, name: str, url: str, error: bool = False) -> None:
        response = page.goto(url)
        assert response is not None, url
        wanted = 400 <= response.status < 500 if error else response.status == 200
        assert wanted, f"{name}: {url} answered {response.status}"
        assert "text/html" in response.headers.get("content-type", ""), name
        page.wait_for_load_state("load")
        found.extend(serious_violations(page, name))
        checked.append(name)
        safe = name.replace(" ", "-").replace(".", "-").replace("?", "")
        page.screenshot(path=str(SHOTS / f"{safe}.png"), full_page=True)

    # The candidate opens the link (the token swapped for the session), starts, works.
    candidate = page_of("candidate")
    candidate.goto(_url(site, "candidate.landing", {"token": site.ids["token"]}))
    assert candidate.url.endswith("/invite"), candidate.url
    check(candidate, "candidate.welcome", candidate.url)
    candidate.check("input[name=consent]")
    candidate.click("button[type=submit]")
    candidate.wait_for_url(lambda url: "/a/" in url)
    site.ids["public_id"] = candidate.url.split("/a/")[1].split("/")[0]
    site.ids.update(_candidate_work(site.app, site.ids["public_id"]))

    for endpoint, visit in PAGES.items():
        if endpoint in ("candidate.welcome", "candidate.done"):
            continue
        for query in visit.queries:
            name = endpoint + (query.split("=")[0] if query else "")
            check(page_of(visit.who), name, _url(site, endpoint, visit.params(site), query))

    for endpoint, not_page in NOT_PAGES.items():
        url = _url(site, endpoint, not_page.params(site))
        request = page_of(not_page.who).request
        if not_page.content_type == "text/event-stream":
            # A stream never ends: ask for its headers from the page and stop reading.
            kind = page_of(not_page.who).evaluate(
                """async url => { const ctl = new AbortController();
                   const r = await fetch(url, {signal: ctl.signal});
                   const type = r.headers.get('content-type'); ctl.abort(); return type; }""", url)
        else:
            answer = request.get(url, max_redirects=0)
            kind = ("redirect" if 300 <= answer.status < 400
                    else answer.headers.get("content-type", ""))
            answer.dispose()
        assert not_page.content_type in str(kind), f"{endpoint}: {url} answered {kind}"

    for name, who, path in ERROR_PAGES:
        check(page_of(who), name, site.base_url + path, error=True)

    # Finished: the done page.
    candidate.goto(_url(site, "candidate.overview", {"attempt_id": site.ids["public_id"]}))
    candidate.once("dialog", lambda dialog: dialog.accept())
    candidate.get_by_role("button", name="Finish assessment").click()
    candidate.wait_for_url(lambda url: url.endswith("/done"))
    check(candidate, "candidate.done", candidate.url)

    for page in pages.values():
        page.context.close()
    assert not server_errors, server_errors
    assert {name.split("?")[0] for name in checked} >= PAGES.keys()
    assert not found, report(found)
