"""Every page a person reaches passes axe-core's serious and critical rules, in a real browser.

The list of pages comes from the app's URL map: every GET route needs an entry in ``PAGES``
(who opens it and with which parameters) or in ``NOT_PAGES`` (what it answers instead of a
page, which the test checks), so a new page cannot be forgotten. A `heldout serve` runs over
a temporary data directory seeded with an assessment, invites, a graded candidate and a
submitted review; Debian's Chromium (never a downloaded one) signs in as each role, and a
candidate starts an attempt in the browser (the assessment offers the workspace's AI
assistant, and follow-up questions once finished). Error states (a bad invite link, a page that
does not exist) are checked as pages too, and the landing page and a bad link's page once more
in French (a French browser's Accept-Language).
"""

from __future__ import annotations

import importlib.util
import re
import sys
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
from heldout.platform.blobs import BlobStore
from heldout.platform.extensions import db
from heldout.platform.models import (
    AtsOrder,
    Attempt,
    EditorEvent,
    EvaluationRecord,
    FollowupQuestion,
    ProblemReport,
    PublicRun,
    SimilarityPair,
    Submission,
    SubmissionFile,
    User,
    WebhookDelivery,
    utcnow,
)
from heldout.platform.services import (
    access,
    accounts,
    assessments,
    attempts,
    audit,
    catalogue,
    clock,
    invites,
    reviews,
    webhooks,
)
from heldout.platform.statuses import AiPolicy, GradingStatus
from tests.e2e.axe_check import Violation, report, serious_violations
from tests.e2e.live_server import REPO, SHOTS, SLUG, SWEEP_SHOTS, WIDER_THAN_THE_PAGE, serving, site_settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = [pytest.mark.slow]

SECRET = "accessibility-browser-secret-key-not-for-production"
PASSWORD = "accessible horse battery"
AXE_SHOTS = SHOTS / "axe"
DESKTOP = (1280, 900)
PHONE = (390, 844)


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
    "review.similarity_pairs": Visit("interviewer", _assessment),
    "review.similarity_pair": Visit("interviewer", lambda s: {"pair_id": s.ids["pair"]}),
    "analytics.item": Visit("interviewer", lambda s: {"slug": SLUG,
                                                      "version_hex": s.ids["version_hex"]}),
    "admin.index": Visit("admin"),
    "admin.users": Visit("admin", queries=("", "?role=interviewer")),
    "admin.user_new": Visit("admin"),
    "admin.user_detail": Visit("admin", lambda s: {"user_id": s.ids["interviewer"]}),
    "admin.teams": Visit("admin"),
    "admin.audit_log": Visit("admin"),
    "admin.problem_reports_page": Visit("admin", queries=("", "?status=resolved")),
    "admin.system_health": Visit("admin"),
    "admin.adverse_impact_page": Visit("admin", _assessment, ("", "?cut=70")),
    "webhooks.endpoints": Visit("admin"),
    "stewardship.candidate_data": Visit("admin"),
    "stewardship.retention_page": Visit("admin"),
    "webhooks.endpoint": Visit("admin", lambda s: {"endpoint_id": s.ids["webhook"]},
                               ("", "?status=failed")),
    "candidate.welcome": Visit("candidate"),       # reached from the link, before Start
    "candidate.practice_page": Visit("nobody"),    # linked from the welcome page; no login
    "candidate.overview": Visit("candidate", lambda s: {"attempt_id": s.ids["public_id"]}),
    "candidate.workspace": Visit("candidate", _own),
    "candidate.done": Visit("candidate", lambda s: {"attempt_id": s.ids["public_id"]}),
    # Reached by Take a break (the candidate's invite has a break allowance).
    "candidate.on_break": Visit("candidate", lambda s: {"attempt_id": s.ids["public_id"]}),
    # Once finished: the start, then a question shown (its countdown and form).
    "candidate.followup_page": Visit("candidate", lambda s: {"attempt_id": s.ids["public_id"]}),
    "account.tokens": Visit("interviewer"),
    "api.v1.docs_page": Visit("nobody"),
}


def _api(params: Params, why: str) -> NotAPage:
    """An API operation: called with a token, never by a browser (nobody: a 401 problem)."""
    return NotAPage("nobody", params, "application/problem+json", f"the API: {why}")

NOT_PAGES: dict[str, NotAPage] = {
    "static": NotAPage("nobody", lambda _s: {"filename": "heldout.css"}, "text/css",
                       "the app's own assets"),
    "staff.healthz": NotAPage("nobody", lambda _s: {}, "application/json", "for load balancers"),
    "ats.greenhouse_list_tests": NotAPage("nobody", lambda _s: {}, "application/json",
                                          "Greenhouse's partner API (Basic auth)"),
    "ats.greenhouse_test_status": NotAPage("nobody", lambda _s: {}, "application/json",
                                           "Greenhouse's partner API (Basic auth)"),
    "staff.index": NotAPage("recruiter", lambda _s: {}, "redirect", "sends staff to their list"),
    # Single sign-on's two steps send the browser to the provider and back; with no provider
    # configured (this site) they answer the site's 404 page (ERROR_PAGES checks its axe).
    # tests/platform/test_oidc.py runs them against a real provider.
    "auth.sso_start": NotAPage("nobody", lambda _s: {}, "text/html",
                               "redirects to the OpenID provider (404 without one)"),
    "auth.sso_callback": NotAPage("nobody", lambda _s: {}, "text/html",
                                  "the provider's redirect back (404 without one)"),
    "candidate.landing": NotAPage("nobody", lambda s: {"token": s.ids["spare_token"]}, "redirect",
                                  "swaps the link's token for the session, then the welcome page"),
    "candidate.download": NotAPage("candidate", lambda s: {**_own(s), "area": "public",
                                                            "name": "train.csv"},
                                   "text/csv", "a data file"),
    "candidate.practice_state": NotAPage("nobody", lambda _s: {}, "application/json",
                                         "the practice page's live status, polled"),
    "candidate.practice_run_status": NotAPage("nobody", lambda s: {"run_id": s.ids["own_run"]},
                                              "text/html", "its browser's run only: another's "
                                              "is the site's 404 page"),
    "api.candidate.load_draft": NotAPage("candidate", _own, "application/json", "the editor's draft"),
    "api.candidate.workspace_state": NotAPage("candidate", _own, "application/json",
                                          "the live status, polled"),
    "api.candidate.workspace_events": NotAPage("candidate", _own, "text/event-stream",
                                           "the live status, pushed"),
    "api.candidate.submission_status": NotAPage(
        "candidate", lambda s: {"attempt_id": s.ids["public_id"],
                                "submission_id": s.ids["own_submission"]},
        "application/json", "one submission's status, polled"),
    "api.candidate.public_run_status": NotAPage(
        "candidate", lambda s: {"attempt_id": s.ids["public_id"], "run_id": s.ids["own_run"]},
        "application/json", "one public run's status, polled"),
    # Workers' internal API: a bearer token, never a browser; a problem document (404 with
    # no token set).
    "internal.ping": NotAPage("nobody", lambda _s: {}, "application/problem+json",
                              "workers' API"),
    "internal.blob_get": NotAPage("nobody", lambda _s: {"sha256": "0" * 64},
                                  "application/problem+json", "workers' API: a blob by hash"),
    "internal.bundle_tar": NotAPage("nobody", lambda _s: {"version_hex": "0" * 64, "slug": SLUG},
                                    "application/problem+json",
                                    "workers' API: a bundle version"),
    "review.export": NotAPage("interviewer", _assessment, "text/csv",
                              "the candidates table as a file"),
    "admin.adverse_impact_csv": NotAPage("admin", _assessment, "text/csv",
                                         "the adverse-impact report as a file"),
    "api.staff.export": NotAPage("interviewer", _assessment, "application/json",
                                 "the candidates table as a JSON file"),
    "api.v1.openapi_json": NotAPage("nobody", lambda _s: {}, "application/json",
                                    "the API's OpenAPI document (read as api.v1.docs_page)"),
    "api.v1.list_challenges": _api(lambda _s: {}, "the catalogue"),
    "api.v1.get_challenge": _api(lambda _s: {"slug": SLUG}, "a challenge"),
    "api.v1.assessments": _api(lambda _s: {}, "assessments"),
    "api.v1.assessment": _api(_assessment, "an assessment"),
    "api.v1.assessment_invites": _api(_assessment, "an assessment's invites"),
    "api.v1.get_invite": _api(lambda s: {"invite_id": s.ids["invite"]}, "an invite"),
    "api.v1.list_attempts": _api(_assessment, "an assessment's attempts"),
    "api.v1.get_attempt": _api(_graded, "an attempt"),
    "api.v1.get_report": _api(_graded, "a report"),
    "api.v1.export_json": _api(_assessment, "the candidates table as JSON"),
    "api.v1.export_csv": _api(_assessment, "the candidates table as CSV"),
}

# Error states are pages too: what a person sees when a link or an id is wrong.
ERROR_PAGES: tuple[tuple[str, str, str], ...] = (
    ("invite link not valid", "nobody", "/i/not-a-real-token"),
    ("assessment not found", "recruiter", "/assessments/999999"),
    ("report not found", "interviewer", "/attempts/999999/report"),
)


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
            expires_at=None, show_scores=True, created_by_id=ids["recruiter"],
            ai_policy=AiPolicy.ASSISTANT, assistant_available=True, followups=True,
            feedback_to_candidates=True)
        ids["assessment"] = assessment.id
        made = {name: invites.create_invite(
            assessment_id=assessment.id, candidate_name=name,
            candidate_email=f"{name.split()[0].lower()}@example.org",
            created_by_id=ids["recruiter"], secret=SECRET, ttl_days=7, now=utcnow())
            for name in ("Ana Able", "Sam Spare", "Cy Continue", "Fay Follow")}
        ids["token"], ids["spare_token"] = made["Ana Able"].token, made["Sam Spare"].token
        ids["followup_token"] = made["Fay Follow"].token
        # Extra time and breaks: the invites table shows them, the candidate's pages offer
        # a break.
        clock.set_accommodation(made["Ana Able"].invite, clock.parse_accommodation("1.5", "", "20"),
                                actor=people["recruiter"], now=utcnow())
        # Started elsewhere, then a new link to continue on another device.
        attempts.start_attempt(made["Cy Continue"].invite, consent=True, now=utcnow())
        ids["continue_token"] = invites.resend_invite(
            made["Cy Continue"].invite.id, secret=SECRET, ttl_days=7, now=utcnow(),
            delivery="page").token
        ids["invite"] = made["Ana Able"].invite.id
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
        # Code only where no page visited here shows it (a report shows the counted
        # submission's): Priya's first submission, and a third candidate's.
        copier = seed.candidate(assessment.id, ids["recruiter"], "Lee Lin",
                                {SLUG: [seed.Graded(80.0, 30)]}, minutes_used=35, index=2)
        db.session.commit()
        ids["pair"] = _similar_pair(app, graded.submissions[0],
                                    db.session.get_one(Attempt, copier).submissions[-1])
        ids["version_hex"] = graded.submissions[-1].challenge_version.removeprefix("sha256:")
        db.session.add(ProblemReport(
            attempt_id=graded.id, challenge_id=graded.submissions[-1].challenge_id,
            challenge_version=graded.submissions[-1].challenge_version, category="data",
            text="The data dictionary lists\na column train.csv lacks.", created_at=utcnow()))
        # A large paste: a line on the report's timeline and a signal in its panel.
        db.session.add(EditorEvent(
            attempt_id=graded.id, challenge_id=graded.submissions[-1].challenge_id,
            kind="paste", at=graded.started_at + timedelta(minutes=12), file="solution.py",
            amount=1240))
        # Follow-up answers on the report: one in time, one late.
        assert graded.finished_at is not None
        for position, (seconds, late) in enumerate(((75, False), (230, True)), start=1):
            shown = graded.finished_at + timedelta(minutes=position)
            db.session.add(FollowupQuestion(
                attempt_id=graded.id, submission_id=graded.submissions[-1].id,
                challenge_id=graded.submissions[-1].challenge_id, challenge_slug=SLUG,
                challenge_version=graded.submissions[-1].challenge_version, position=position,
                answer_kind="text", prompt="Which feature helped your model most?",
                quoted="def features(frame):\n    return frame.drop(columns=['churned'])"
                if position == 2 else "", request=None, expected=None,
                time_limit_seconds=180, shown_at=shown,
                answered_at=shown + timedelta(seconds=seconds),
                answer="Tenure: <b>the</b> permutation importance said so.", late=late,
                status=GradingStatus.GRADED, created_at=shown, finished_at=shown))
        db.session.commit()
        levels = {criterion.key: "3" for criterion in reviews.rubric_for(graded)}
        reviews.save_review(ids["graded_attempt"], people["interviewer"], reviews.ReviewInput(
            levels=levels, notes="Sound validation; <b>explains</b> the threshold.",
            recommendation="yes", submit=True), now=utcnow())
        ids["webhook"] = _webhook_log(people["admin"])
        # A Greenhouse order for the copier, called back and refused once: the webhooks
        # page's table of callbacks to applicant-tracking systems.
        order = AtsOrder(provider="greenhouse", invite_id=db.session.get_one(
            Attempt, copier).invite_id, callback_url="https://ats.example.com/partner/456",
            profile_url="", created_at=utcnow(), last_error="")
        db.session.add(order)
        db.session.flush()
        db.session.add(WebhookDelivery(
            ats_order_id=order.id, event="ats.complete", status="pending", tries=1,
            body=f'{{"partner_interview_id":"{order.public_id}","partner_status":"complete"}}',
            response_status=503, response_body="Service unavailable",
            error="the endpoint answered 503", duration_ms=87, created_at=utcnow(),
            last_try_at=utcnow(), next_try_at=utcnow() + timedelta(seconds=30)))
        db.session.commit()
        db.engine.dispose()
    return ids


def _webhook_log(admin: User) -> int:
    """An endpoint of the default team with a delivered, a failed and a waiting delivery."""
    team = access.default_team()
    assert team is not None
    endpoint = webhooks.create_endpoint(webhooks.EndpointInput(
        team.id, "https://ats.example.com/hooks/heldout", ["attempt.started", "review.submitted"],
        "Applicant tracking"), actor=admin, origin=audit.NO_ORIGIN).endpoint
    at = utcnow() - timedelta(hours=1)
    for status, code, error in (("delivered", 200, ""), ("failed", 500, "the endpoint answered 500"),
                                ("pending", None, "ConnectTimeoutError: timed out")):
        db.session.add(WebhookDelivery(
            endpoint_id=endpoint.id, event="attempt.started", status=status, tries=1,
            body='{"event":"attempt.started","data":{"attempt":{"id":1}}}',
            response_status=code, response_body="ok" if code == 200 else "", error=error,
            duration_ms=42, created_at=at, last_try_at=at, next_try_at=at + timedelta(hours=2)))
    db.session.commit()
    return endpoint.id


def _similar_pair(app: Flask, first: Submission, second: Submission) -> int:
    """The two seeded candidates' code alike (the reference, and a copy with other names):
    a flagged pair on the similarity pages and a line in both reports."""
    blobs = BlobStore(Path(app.config["HELDOUT_DATA_DIR"]) / "blobs")
    code = (REPO / "challenges" / SLUG / "solutions" / "reference" / "solution.py").read_bytes()
    for submission, data in ((first, code), (second, code.replace(b"model", b"estimator"))):
        db.session.add(SubmissionFile(submission_id=submission.id, name="solution.py",
                                      sha256=blobs.put(data), size=len(data)))
    pair = SimilarityPair(challenge_version=first.challenge_version, submission_a_id=first.id,
                          submission_b_id=second.id, score=0.96, share_a=0.97, share_b=0.95,
                          flagged=True)
    db.session.add(pair)
    db.session.commit()
    return pair.id


def _candidate_work(app: Flask, public_id: str, code: bytes | None = None) -> dict[str, int]:
    """A graded submission (with ``code`` as its solution.py, if given) and a queued public
    run on the browser's own attempt."""
    with app.app_context():
        attempt = db.session.scalars(select(Attempt).where(Attempt.public_id == public_id)).one()
        challenge = catalogue.available_challenges()[0]
        at = utcnow() - timedelta(minutes=1)
        submission = Submission(attempt_id=attempt.id, challenge_id=challenge.id,
                                challenge_slug=SLUG, challenge_version=challenge.version,
                                status="graded", created_at=at, finished_at=at, tries=1)
        db.session.add(submission)
        db.session.flush()
        if code is not None:
            blobs = BlobStore(Path(app.config["HELDOUT_DATA_DIR"]) / "blobs")
            db.session.add(SubmissionFile(submission_id=submission.id, name="solution.py",
                                          sha256=blobs.put(code), size=len(code)))
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
        ids = {"own_submission": submission.id, "own_run": run.id, "attempt": attempt.id}
        db.engine.dispose()
    return ids


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("a11y")
    # The assistant's panel needs a model server's address to show; the page never calls it
    # (only a question does), so nothing listens there.
    settings, challenges_dir, port = site_settings(
        root, SECRET, HELDOUT_AI_URL="http://127.0.0.1:9/v1", HELDOUT_AI_MODEL="test-model")
    app = create_app(settings)
    ids = _seed(app, challenges_dir)
    with serving(settings, root / "server.log", port) as base_url:
        yield Site(base_url, app, ids)


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


def _shot_name(name: str) -> str:
    return name.replace(" ", "-").replace(".", "-").replace("?", "").replace("(", "") \
        .replace(")", "").replace(",", "")


def test_every_page_passes_axe(site: Site, browser: Browser) -> None:
    """Each page at a desktop width (1280) and a phone's (390 x 844); the phone pages share
    one context per person, with the desktop context's cookies (the same session)."""
    AXE_SHOTS.mkdir(parents=True, exist_ok=True)
    found: list[Violation] = []
    checked: list[str] = []
    server_errors: list[str] = []
    pages: dict[tuple[str, int], Page] = {}

    def watch(page: Page) -> Page:
        page.on("response", lambda r: server_errors.append(f"{r.status} {r.url}")
                if r.status >= 500 else None)
        return page

    def page_of(who: str, width: int = DESKTOP[0]) -> Page:
        if (who, width) not in pages:
            viewport = {"width": width, "height": DESKTOP[1] if width == DESKTOP[0] else PHONE[1]}
            # A French browser (Accept-Language: fr-FR) reads the candidate pages in French.
            language = {"locale": "fr-FR"} if who == "french" else {}
            context = browser.new_context(viewport=viewport, **language)  # type: ignore[arg-type]
            if width == DESKTOP[0] and who in ("recruiter", "interviewer", "admin"):
                pages[who, width] = watch(_sign_in(context, site, who))
            else:
                pages[who, width] = watch(context.new_page())
        return pages[who, width]

    def phone_of(page: Page) -> Page:
        """The phone's page of whoever uses ``page``, signed in as they are now."""
        who = next(w for (w, width), p in pages.items() if p is page and width == DESKTOP[0])
        phone = page_of(who, PHONE[0])
        phone.context.clear_cookies()
        phone.context.add_cookies(page.context.cookies())  # type: ignore[arg-type]
        return phone

    def axe(page: Page, name: str, width: int) -> None:
        page.wait_for_load_state("load")
        label = name if width == DESKTOP[0] else f"{name} @{width}px"
        found.extend(serious_violations(page, label))
        # The whole page at the desktop's width; the phone's first screen is what to look at.
        if SWEEP_SHOTS:
            page.screenshot(path=str(AXE_SHOTS / f"{_shot_name(name)}-{width}.png"),
                            full_page=width == DESKTOP[0])

    def check(page: Page, name: str, url: str, error: bool = False) -> None:
        for shown in (page, phone_of(page)):
            response = shown.goto(url)
            assert response is not None, url
            wanted = 400 <= response.status < 500 if error else response.status == 200
            assert wanted, f"{name}: {url} answered {response.status}"
            assert "text/html" in response.headers.get("content-type", ""), name
            axe(shown, name, int(shown.viewport_size["width"]) if shown.viewport_size else 0)
        checked.append(name)

    def check_shown(page: Page, name: str) -> None:
        """A page that only a POST leads to (a form's error, a secret shown once): axe on
        what the desktop page shows now, and on the same HTML at the phone's width."""
        axe(page, name, DESKTOP[0])
        phone = phone_of(page)
        phone.set_content(page.content())
        axe(phone, name, PHONE[0])
        checked.append(name)

    # The candidate opens the link (the token swapped for the session), starts, works.
    candidate = page_of("candidate")
    candidate.goto(_url(site, "candidate.landing", {"token": site.ids["token"]}))
    assert candidate.url.endswith("/invite"), candidate.url
    check(candidate, "candidate.welcome", candidate.url)
    candidate.eval_on_selector("form:has(input[name=consent])", "f => { f.noValidate = true; }")
    candidate.click("button[type=submit]")   # no consent: the page says why, 400
    candidate.wait_for_selector(".field-error, .notice-error")
    check_shown(candidate, "candidate.start without consent")
    candidate.check("input[name=consent]")
    candidate.click("button[type=submit]")
    candidate.wait_for_url(lambda url: "/a/" in url)
    site.ids["public_id"] = candidate.url.split("/a/")[1].split("/")[0]
    site.ids.update(_candidate_work(site.app, site.ids["public_id"]))
    # A link to continue on another device opens a page whose button takes the attempt over.
    mover = page_of("mover")
    mover.goto(_url(site, "candidate.landing", {"token": site.ids["continue_token"]}))
    assert mover.url.endswith("/invite"), mover.url
    check(mover, "candidate.welcome (continue here)", mover.url)
    # The landing page and a bad link's page in the second language.
    french = page_of("french")
    french.goto(_url(site, "candidate.landing", {"token": site.ids["spare_token"]}))
    assert french.url.endswith("/invite"), french.url
    check(french, "candidate.welcome (fr)", french.url)
    assert french.locator("html").get_attribute("lang") == "fr"
    check(french, "invite link not valid (fr)", site.base_url + "/i/not-a-real-token", error=True)

    for endpoint, visit in PAGES.items():
        if endpoint in ("candidate.welcome", "candidate.done", "candidate.on_break",
                        "candidate.followup_page"):
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

    _pages_after_a_post(site, page_of, check_shown)

    # On a break (the clock paused), then back.
    candidate.goto(_url(site, "candidate.overview", {"attempt_id": site.ids["public_id"]}))
    candidate.once("dialog", lambda dialog: dialog.accept())
    candidate.get_by_role("button", name=re.compile("Take a break")).click()
    candidate.wait_for_url(lambda url: url.endswith("/break"))
    check(candidate, "candidate.on_break", candidate.url)
    candidate.get_by_role("button", name="End the break and continue").click()
    candidate.wait_for_url(lambda url: not url.endswith("/break"))

    # Finished: the done page.
    candidate.goto(_url(site, "candidate.overview", {"attempt_id": site.ids["public_id"]}))
    candidate.once("dialog", lambda dialog: dialog.accept())
    candidate.get_by_role("button", name="Finish assessment").click()
    candidate.wait_for_url(lambda url: url.endswith("/done"))
    check(candidate, "candidate.done", candidate.url)
    # Its one submission graded: complete, so the done page carries the candidate's feedback
    # (checked by axe above), with time used as a share and never the accommodation.
    feedback = candidate.locator("section.feedback").inner_text()
    assert "out of 100" in feedback and "% of your time" in feedback, feedback
    assert "1.5" not in feedback and "extra" not in feedback.lower(), feedback
    candidate.get_by_role("link", name="Answer the follow-up questions").click()
    candidate.wait_for_url(lambda url: url.endswith("/followups"))
    check(candidate, "candidate.followup_page before the first question", candidate.url)
    candidate.get_by_role("button", name="Start the questions").click()
    candidate.wait_for_selector("textarea#answer")
    check(candidate, "candidate.followup_page", candidate.url)

    for page in pages.values():
        page.context.close()
    assert not server_errors, server_errors
    assert {name.split("?")[0] for name in checked} >= PAGES.keys()
    assert set(checked) >= set(AFTER_A_POST), set(AFTER_A_POST) - set(checked)
    assert not found, report(found)


AFTER_A_POST = ("candidate.start without consent", "admin.user_new (password shown once)",
                "admin.user_password (reset, shown once)", "admin.user_new with an error",
                "staff.invite_create (link shown once)", "staff.invite_bulk_preview",
                "staff.invite_bulk_create (links handed over)",
                "staff.assessment_new with an error", "review.save_review with an error",
                "account.token_create with an error", "account.token_create (token shown once)",
                "webhooks.endpoint_create (secret shown once)",
                "stewardship.candidate_find (what is held)",
                "stewardship.candidate_erase unconfirmed",
                "candidate.report_problem with an error", "candidate.report_problem (report sent)",
                "candidate.practice_submit with an error")
BULK_CSV = "name,email\nBea Bulk,bea.bulk@example.org\nNo Mail,\nCal Bulk,cal@example.org\n"


def _pages_after_a_post(site: Site, page_of: Callable[[str], Page],
                        check_shown: Callable[[Page, str], None]) -> None:
    """The pages only a POST shows: each reached by filling its form as a person would."""
    candidate = page_of("candidate")
    candidate.goto(_url(site, "candidate.workspace", _own(site)))
    candidate.locator("#report-problem summary").click()
    candidate.eval_on_selector("#report-problem form", "f => { f.noValidate = true; }")
    candidate.get_by_role("button", name="Send report").click()
    candidate.wait_for_selector("#report-problem .field-error")
    check_shown(candidate, "candidate.report_problem with an error")
    candidate.select_option("#problem-category", "statement")
    candidate.fill("#problem-text", "Step 2 asks for a column the data does not have.")
    candidate.get_by_role("button", name="Send report").click()
    candidate.wait_for_selector("text=your report reached the team")
    check_shown(candidate, "candidate.report_problem (report sent)")

    visitor = page_of("nobody")
    visitor.goto(_url(site, "candidate.practice_page", {}))
    visitor.eval_on_selector("#code", "t => { t.value = ''; }")  # what the form sends
    visitor.get_by_role("button", name="Submit").click()
    visitor.wait_for_selector(".notice-error")
    check_shown(visitor, "candidate.practice_submit with an error")

    admin = page_of("admin")
    admin.goto(_url(site, "webhooks.endpoints", {}))
    admin.fill("#url", "https://ats.example.com/hooks/new")
    admin.get_by_label("attempt.completed", exact=False).check()
    admin.get_by_role("button", name="Register endpoint").click()
    admin.wait_for_selector("#webhook-secret")
    check_shown(admin, "webhooks.endpoint_create (secret shown once)")
    admin.goto(_url(site, "stewardship.candidate_data", {}))
    admin.fill("#email", "ana@example.org")
    admin.get_by_role("button", name="Find").click()
    admin.wait_for_selector("#held-title")
    check_shown(admin, "stewardship.candidate_find (what is held)")
    admin.fill("#confirm", "someone.else@example.org")
    admin.get_by_role("button", name="Erase for good").click()
    admin.wait_for_selector(".field-error")
    check_shown(admin, "stewardship.candidate_erase unconfirmed")
    admin.goto(_url(site, "admin.user_new", {}))
    admin.eval_on_selector("main form", "f => { f.noValidate = true; }")
    admin.click("main form button[type=submit]")
    admin.wait_for_selector(".field-error, .notice-error")
    check_shown(admin, "admin.user_new with an error")
    admin.fill("#name", "Nia New")
    admin.fill("#email", "nia.new@example.com")
    admin.select_option("#role", "interviewer")
    admin.click("main form button[type=submit]")
    admin.wait_for_selector("#new-password")
    check_shown(admin, "admin.user_new (password shown once)")
    admin.get_by_role("button", name="Reset password").click()
    admin.wait_for_selector("#new-password")
    check_shown(admin, "admin.user_password (reset, shown once)")

    recruiter = page_of("recruiter")
    recruiter.goto(_url(site, "staff.assessment_detail", _assessment(site)))
    recruiter.fill("#candidate_name", "Lee Link")
    recruiter.fill("#candidate_email", "lee.link@example.org")
    recruiter.get_by_role("button", name="Create invite link").click()
    recruiter.wait_for_selector("#invite-link")
    check_shown(recruiter, "staff.invite_create (link shown once)")
    recruiter.set_input_files("#bulk-file", {"name": "people.csv", "mimeType": "text/csv",
                                             "buffer": BULK_CSV.encode()})
    recruiter.get_by_role("button", name="Preview").click()
    recruiter.wait_for_selector("#bulk-preview")
    check_shown(recruiter, "staff.invite_bulk_preview")
    with recruiter.expect_download():
        recruiter.locator("#bulk-preview button[type=submit]").first.click()
    recruiter.goto(_url(site, "staff.assessment_detail", _assessment(site)))
    recruiter.wait_for_selector("text=link(s) handed over")
    check_shown(recruiter, "staff.invite_bulk_create (links handed over)")
    recruiter.goto(_url(site, "staff.assessment_new", {}))
    recruiter.fill("#name", "   ")
    recruiter.eval_on_selector("form:has(#name)", "f => { f.noValidate = true; }")
    recruiter.get_by_role("button", name="Create assessment").click()
    recruiter.wait_for_selector(".field-error, .notice-error")
    check_shown(recruiter, "staff.assessment_new with an error")

    interviewer = page_of("interviewer")
    interviewer.goto(_url(site, "account.tokens", {}))
    interviewer.eval_on_selector("form.token-form", "f => { f.noValidate = true; }")
    interviewer.get_by_role("button", name="Create token").click()
    interviewer.wait_for_selector(".field-error, .notice-error")
    check_shown(interviewer, "account.token_create with an error")
    interviewer.fill("#name", "Weekly report sync")
    interviewer.get_by_role("button", name="Create token").click()
    interviewer.wait_for_selector("#new-token")
    check_shown(interviewer, "account.token_create (token shown once)")
    interviewer.goto(_url(site, "review.report", {"attempt_id": site.ids["other_attempt"]}))
    interviewer.eval_on_selector("form.review-form", "f => { f.noValidate = true; }")
    interviewer.locator("form.review-form button[value=submit]").click()
    interviewer.wait_for_selector(".field-error, .notice-error")
    check_shown(interviewer, "review.save_review with an error")


def test_invites_table_keeps_times_on_one_line_and_scrolls_in_its_box(
        site: Site, browser: Browser) -> None:
    """At 1280 px every time fits on one line and the table fits; at 390 px the table
    scrolls sideways inside its box, never the page. Screenshots: invites-<width>.png."""
    AXE_SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1280, 900), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = _sign_in(context, site, "recruiter")
        page.goto(_url(site, "staff.assessment_detail", _assessment(site)))
        table = page.locator("table.invites")
        times = table.locator("tbody time").evaluate_all(
            "els => els.map(e => [e.textContent, e.getClientRects().length,"
            " e.getAttribute('datetime'), e.title])")
        assert len(times) >= 10, times   # sent, opened, started, finished, expiry of the rows
        for text, lines, machine, full in times:
            assert lines == 1, f"{width} px: {text!r} wraps onto {lines} lines"
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", machine), machine
            assert re.fullmatch(r"\d\d \w{3} \d{4}( \d\d:\d\d:\d\d)? UTC", full), full
            assert len(text) < len(full), (text, full)
        page.screenshot(path=str(AXE_SHOTS / f"invites-{width}.png"), full_page=True)
        page_width, viewport, wide = page.evaluate(WIDER_THAN_THE_PAGE)
        assert page_width <= viewport, \
            f"{width} px: the page scrolls sideways ({page_width} px) because of {wide}"
        inner, shown, overflow = table.locator("xpath=..").evaluate(
            "el => [el.scrollWidth, el.clientWidth, getComputedStyle(el).overflowX]")
        assert overflow == "auto"
        if width == 1280:
            assert inner <= shown, f"the invites table needs {inner} px of {shown}"
        else:
            assert inner > shown, "at 390 px the table scrolls in its box (or was squeezed)"
        context.close()


IN_TIME = "Tenure: the permutation importance on the public slice put it first."
TYPING = "It adds ratios of the charges, because raw totals grow with tenure"


def test_a_candidate_answers_the_follow_up_questions(site: Site, browser: Browser) -> None:
    """A candidate finishes, starts the follow-up questions and answers the first in time;
    the second's time runs out while they type (the server's clock by its shown_at moved
    back, the page's by Playwright's clock): the page says the answer is taken late and
    keeps the text (no reload). The interviewer's report shows both answers and timings.
    Both questions are in words (the churn bundle has no function to call): no sandbox."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": DESKTOP[0], "height": DESKTOP[1]})
    page = context.new_page()
    page.clock.install()
    page.goto(_url(site, "candidate.landing", {"token": site.ids["followup_token"]}))
    page.check("input[name=consent]")
    page.get_by_role("button", name="Start the assessment").click()
    page.wait_for_url(lambda url: "/a/" in url)
    public_id = page.url.split("/a/")[1].split("/")[0]
    code = (REPO / "challenges" / SLUG / "solutions" / "reference" / "solution.py").read_bytes()
    attempt_id = _candidate_work(site.app, public_id, code)["attempt"]
    page.goto(_url(site, "candidate.overview", {"attempt_id": public_id}))
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Finish assessment").click()
    page.wait_for_url(lambda url: url.endswith("/done"))
    page.get_by_role("link", name="Answer the follow-up questions").click()
    page.get_by_role("button", name="Start the questions").click()

    expect(page.get_by_text("Question 1 of 2")).to_be_visible()
    expect(page.locator(".js-countdown-label")).to_have_text("Time left")
    expect(page.locator(".js-countdown")).to_have_text(re.compile(r"^[23]:\d\d$"))
    page.fill("#answer", IN_TIME)
    page.get_by_role("button", name="Send answer").click()
    expect(page.get_by_text("Question 2 of 2")).to_be_visible()
    expect(page.locator("pre.log")).to_contain_text("def ")    # their own code, quoted
    page.fill("#answer", TYPING)
    page.evaluate("window.sameDocument = true")
    overdue = _let_the_question_go_late(site.app, attempt_id, position=2)
    page.clock.fast_forward(overdue * 1000)
    expect(page.locator(".js-countdown")).to_have_text("0:00")
    expect(page.locator(".js-countdown-note")).to_contain_text("the answer is marked late")
    page.clock.fast_forward(5000)     # a reload would have come 1.5 s after zero
    assert page.evaluate("window.sameDocument === true"), "the page reloaded"
    expect(page.locator("#answer")).to_have_value(TYPING)
    page.get_by_role("button", name="Send answer").click()
    expect(page.get_by_text("all 2 answers were sent")).to_be_visible()
    context.close()

    staff = browser.new_context(viewport={"width": DESKTOP[0], "height": DESKTOP[1]})
    report_page = _sign_in(staff, site, "interviewer")
    report_page.goto(_url(site, "review.report", {"attempt_id": attempt_id}))
    rows = report_page.locator("#followups tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator(".followup-answer")).to_have_text(IN_TIME)
    expect(rows.nth(0)).to_contain_text("s of 180 s")
    expect(rows.nth(0).locator(".badge")).to_have_count(0)
    expect(rows.nth(1).locator(".followup-answer")).to_have_text(TYPING)
    took = re.search(r"(\d+) s of 180 s", rows.nth(1).inner_text())
    assert took is not None and int(took.group(1)) >= overdue, rows.nth(1).inner_text()
    expect(rows.nth(1).locator(".badge")).to_have_text("late")
    staff.close()


def _let_the_question_go_late(app: Flask, attempt_id: int, *, position: int) -> int:
    """Move a shown question's clock back past its limit; by how many seconds."""
    with app.app_context():
        question = db.session.scalars(select(FollowupQuestion).where(
            FollowupQuestion.attempt_id == attempt_id,
            FollowupQuestion.position == position)).one()
        assert question.shown_at is not None
        overdue = question.time_limit_seconds + 5
        question.shown_at -= timedelta(seconds=overdue)
        db.session.commit()
        db.engine.dispose()
    return overdue
