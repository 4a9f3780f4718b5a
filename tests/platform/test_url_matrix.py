"""Every route, every kind of visitor, against one declared policy: nothing slips through.

The test walks ``app.url_map`` (every rule, every method but HEAD/OPTIONS), fills the URL's
parameters from a small world (two hiring teams, two candidates of the same assessment),
and asks it as each visitor below. What each one must get comes from ``POLICY``: a route
that is not in it fails the test, so a new page can't go live without someone deciding
who may open it.

Visitors: nobody signed in; candidate A (whose attempt the URLs name); candidate B (another
attempt of the same assessment); the recruiter, the interviewer and the admin of the team
that owns the assessment; a recruiter and an interviewer of another team.

What the kinds of route promise:
- ``public``: anyone; never a server error, never "forbidden".
- ``anyone``: every visitor is let in, no login (the practice page): what ``public`` promises,
  and no refusal but a form's (400) or a limit's (429).
- ``invite``: the invitation flow (a link's token, or the invite the browser holds); anyone
  may try, the answer depends on the link, never a server error or "forbidden".
- ``candidate``: the browser that started attempt A only. Everyone else (candidate B,
  staff, nobody) gets 404 (or 403): a candidate's pages don't exist for anyone else.
- ``staff(roles)``: signed-in staff with one of ``roles`` (admins always). Nobody signed in
  (candidates included) goes to the sign-in page; a wrong role gets 403; the right role of
  another team gets 404 when the URL names the team's work (``scoped``), and so may its
  wrong role (the team check comes first; either way they are refused).
- ``admin``: admins only; other staff get 403, nobody goes to sign in.
- Routes under views/api/ (JSON) promise the same, and every refusal there is a problem
  document (application/problem+json).
- ``internal``: workers' token only (``/internal/v1/``), never a browser session: every
  visitor, admins included, gets 401 (the world's app has a token configured).
- ``own``: a staff member's own things (their API tokens): the owner comes in, other staff
  find nothing there (404), nobody signed in goes to the sign-in page.
- ``api(scope, roles)``: the public API (``/api/v1/``), by API token only. Every browser
  visitor above (signed in or not) gets 401; the API visitors (a token of each staff member
  above, and a ``read`` one of the team's recruiter) get what their role, team and token
  scope allow, with the same rules as the pages: a scope too narrow or a wrong role is
  403, another team's work 404. Every refusal is a problem document.

The API visitors also visit every page: a token opens no page (they are nobody there).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import IntegerConverter, Rule
from werkzeug.security import generate_password_hash

from heldout.platform.app import create_app
from heldout.platform.extensions import db
from heldout.platform.models import (
    Attempt,
    FollowupQuestion,
    ProblemReport,
    PublicRun,
    SimilarityPair,
    Submission,
    Team,
    TeamMember,
    User,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from heldout.platform.services import api_tokens, assessments, catalogue, invites
from tests.platform.conftest import CHURN, PASSWORD, REPO, SECRET, make_app


@dataclass(frozen=True)
class Policy:
    kind: str                                   # public, anyone, invite, candidate, staff, admin, own, api
    roles: tuple[str, ...] = ()                 # staff, api: who besides admins may come in
    scoped: bool = False                        # staff, api: the URL names a team's work
    scope: str = ""                             # api: the token scope the operation needs


PUBLIC = Policy("public")
ANYONE = Policy("anyone")
INVITE = Policy("invite")
CANDIDATE = Policy("candidate")
ADMIN = Policy("admin")
INTERNAL = Policy("internal")
# The world's app has the internal endpoints switched on; no visitor sends this token.
INTERNAL_TOKEN = "internal-token-of-the-url-matrix-0123456789"


def staff(*roles: str, scoped: bool = True) -> Policy:
    return Policy("staff", roles, scoped)


RECRUITERS = staff("recruiter")
READERS = staff("recruiter", "interviewer")
REVIEWERS = staff("interviewer")
EVERY_STAFF = staff("recruiter", "interviewer", scoped=False)
OWN = Policy("own")


def api(scope: str, *roles: str, scoped: bool = True) -> Policy:
    return Policy("api", roles, scoped, scope)

# (endpoint, method) -> who may come in. Keep it in the order of the blueprints.
POLICY: dict[tuple[str, str], Policy] = {
    ("static", "GET"): PUBLIC,
    ("auth.login", "GET"): PUBLIC,
    ("auth.login", "POST"): PUBLIC,
    ("auth.logout", "POST"): PUBLIC,
    # Single sign-on's start and return (404 where it is not set up; test_oidc.py covers it)
    ("auth.sso_start", "GET"): PUBLIC,
    ("auth.sso_callback", "GET"): PUBLIC,
    ("staff.index", "GET"): PUBLIC,
    ("staff.healthz", "GET"): PUBLIC,
    # staff: recruiters build and invite; interviewers read the list
    ("staff.assessment_list", "GET"): staff("recruiter", "interviewer", scoped=False),
    ("staff.assessment_new", "GET"): staff("recruiter", scoped=False),
    ("staff.assessment_new", "POST"): staff("recruiter", scoped=False),
    ("staff.assessment_detail", "GET"): RECRUITERS,
    ("staff.assessment_edit", "GET"): RECRUITERS,
    ("staff.assessment_edit", "POST"): RECRUITERS,
    ("staff.assessment_duplicate", "POST"): RECRUITERS,
    ("staff.assessment_archive", "POST"): RECRUITERS,
    ("staff.catalogue_preview", "GET"): staff("recruiter", scoped=False),
    ("staff.invite_create", "POST"): RECRUITERS,
    ("staff.invite_bulk_preview", "POST"): RECRUITERS,
    ("staff.invite_bulk_create", "POST"): RECRUITERS,
    ("staff.invite_resend", "POST"): RECRUITERS,
    ("staff.invite_extend", "POST"): RECRUITERS,
    ("staff.invite_accommodation", "POST"): RECRUITERS,
    ("staff.invite_revoke", "POST"): RECRUITERS,
    ("staff.mail_test", "POST"): staff("recruiter", scoped=False),
    # review: recruiters read, interviewers review
    ("review.candidates", "GET"): READERS,
    ("review.export", "GET"): READERS,
    ("review.compare", "GET"): READERS,
    ("review.report", "GET"): READERS,
    ("review.submission", "GET"): READERS,
    ("review.save_review", "POST"): REVIEWERS,
    ("review.review_signal", "POST"): REVIEWERS,
    ("review.similarity_pairs", "GET"): READERS,
    ("review.similarity_pair", "GET"): READERS,
    # item analytics: the team's readers (the URL names a challenge version, which belongs to
    # no team; the figures are of the viewer's own team)
    ("analytics.item", "GET"): staff("recruiter", "interviewer", scoped=False),
    # admin
    ("admin.index", "GET"): ADMIN,
    ("admin.users", "GET"): ADMIN,
    ("admin.user_new", "GET"): ADMIN,
    ("admin.user_new", "POST"): ADMIN,
    ("admin.user_detail", "GET"): ADMIN,
    ("admin.user_active", "POST"): ADMIN,
    ("admin.user_password", "POST"): ADMIN,
    ("admin.user_role", "POST"): ADMIN,
    ("admin.user_teams", "POST"): ADMIN,
    ("admin.teams", "GET"): ADMIN,
    ("admin.team_create", "POST"): ADMIN,
    ("admin.assessment_team", "POST"): ADMIN,
    ("admin.audit_log", "GET"): ADMIN,
    ("admin.system_health", "GET"): ADMIN,
    ("admin.problem_reports_page", "GET"): ADMIN,
    ("admin.problem_report_status", "POST"): ADMIN,
    ("admin.adverse_impact_page", "GET"): ADMIN,
    ("admin.adverse_impact_csv", "GET"): ADMIN,
    ("webhooks.endpoints", "GET"): ADMIN,
    ("webhooks.endpoint_create", "POST"): ADMIN,
    ("webhooks.endpoint", "GET"): ADMIN,
    ("webhooks.endpoint", "POST"): ADMIN,
    ("webhooks.endpoint_active", "POST"): ADMIN,
    ("webhooks.endpoint_secret", "POST"): ADMIN,
    ("webhooks.endpoint_test", "POST"): ADMIN,
    ("webhooks.endpoint_delete", "POST"): ADMIN,
    ("webhooks.redeliver", "POST"): ADMIN,
    ("stewardship.candidate_data", "GET"): ADMIN,
    ("stewardship.candidate_find", "POST"): ADMIN,
    ("stewardship.candidate_export", "POST"): ADMIN,
    ("stewardship.candidate_erase", "POST"): ADMIN,
    ("stewardship.retention_page", "GET"): ADMIN,
    ("stewardship.retention_run", "POST"): ADMIN,
    # candidates: the invitation, then the attempt's own pages
    ("candidate.landing", "GET"): INVITE,
    ("candidate.start_from_link", "POST"): INVITE,
    ("candidate.welcome", "GET"): INVITE,
    ("candidate.start", "POST"): INVITE,
    ("candidate.overview", "GET"): CANDIDATE,
    ("candidate.workspace", "GET"): CANDIDATE,
    ("candidate.download", "GET"): CANDIDATE,
    ("candidate.submit", "POST"): CANDIDATE,
    ("candidate.public_run", "POST"): CANDIDATE,
    ("candidate.console_run", "POST"): CANDIDATE,
    ("candidate.report_problem", "POST"): CANDIDATE,
    ("candidate.finish", "POST"): CANDIDATE,
    ("candidate.done", "GET"): CANDIDATE,
    ("candidate.followup_page", "GET"): CANDIDATE,
    ("candidate.followup_next", "POST"): CANDIDATE,
    ("candidate.followup_answer", "POST"): CANDIDATE,
    ("candidate.on_break", "GET"): CANDIDATE,
    ("candidate.break_start", "POST"): CANDIDATE,
    ("candidate.break_end", "POST"): CANDIDATE,
    # the practice page: anyone, no login; a run's status is its own browser's (others: 404)
    ("candidate.practice_page", "GET"): ANYONE,
    ("candidate.practice_run", "POST"): ANYONE,
    ("candidate.practice_submit", "POST"): ANYONE,
    ("candidate.practice_state", "GET"): ANYONE,
    ("candidate.practice_run_status", "GET"): PUBLIC,
    ("api.candidate.submission_status", "GET"): CANDIDATE,
    ("api.candidate.public_run_status", "GET"): CANDIDATE,
    ("api.candidate.save_draft", "POST"): CANDIDATE,
    ("api.candidate.record_editor_events", "POST"): CANDIDATE,
    ("api.candidate.load_draft", "GET"): CANDIDATE,
    ("api.candidate.workspace_state", "GET"): CANDIDATE,
    ("api.candidate.workspace_events", "GET"): CANDIDATE,
    ("api.assistant.ask", "POST"): CANDIDATE,
    ("api.staff.export", "GET"): READERS,
    # the account's own API tokens
    ("account.tokens", "GET"): EVERY_STAFF,
    ("account.token_create", "POST"): EVERY_STAFF,
    ("account.token_revoke", "POST"): OWN,
    # the public API: by token, with the pages' roles
    ("api.v1.openapi_json", "GET"): PUBLIC,
    ("api.v1.docs_page", "GET"): PUBLIC,
    ("api.v1.list_challenges", "GET"): api("read", "recruiter", scoped=False),
    ("api.v1.get_challenge", "GET"): api("read", "recruiter", scoped=False),
    ("api.v1.assessments", "GET"): api("read", "recruiter", "interviewer", scoped=False),
    ("api.v1.assessments", "POST"): api("admin", "recruiter", scoped=False),
    ("api.v1.assessment", "GET"): api("read", "recruiter", "interviewer"),
    ("api.v1.assessment", "PATCH"): api("admin", "recruiter"),
    ("api.v1.archive_assessment", "POST"): api("admin", "recruiter"),
    ("api.v1.restore_assessment", "POST"): api("admin", "recruiter"),
    ("api.v1.assessment_invites", "GET"): api("read", "recruiter"),
    ("api.v1.assessment_invites", "POST"): api("invite", "recruiter"),
    ("api.v1.get_invite", "GET"): api("read", "recruiter"),
    ("api.v1.resend_invite", "POST"): api("invite", "recruiter"),
    ("api.v1.extend_invite", "POST"): api("invite", "recruiter"),
    ("api.v1.revoke_invite", "POST"): api("invite", "recruiter"),
    ("api.v1.list_attempts", "GET"): api("read", "recruiter", "interviewer"),
    ("api.v1.get_attempt", "GET"): api("read", "recruiter", "interviewer"),
    ("api.v1.get_report", "GET"): api("read", "recruiter", "interviewer"),
    ("api.v1.export_json", "GET"): api("read", "recruiter", "interviewer"),
    ("api.v1.export_csv", "GET"): api("read", "recruiter", "interviewer"),
    ("api.v1.export_candidate", "POST"): api("admin", scoped=False),
    ("api.v1.erase_candidate", "POST"): api("admin", scoped=False),
    # an applicant-tracking system, by an API token as the Basic user name: no browser
    # session and no Bearer token opens them (401 to every visitor, as internal)
    ("ats.greenhouse_list_tests", "GET"): INTERNAL,
    ("ats.greenhouse_send_test", "POST"): INTERNAL,
    ("ats.greenhouse_test_status", "GET"): INTERNAL,
    ("ats.greenhouse_response_error", "POST"): INTERNAL,
    # internal: workers on other hosts, by token alone
    ("internal.ping", "GET"): INTERNAL,
    ("internal.blob_get", "GET"): INTERNAL,
    ("internal.blob_put", "PUT"): INTERNAL,
    ("internal.bundle_tar", "GET"): INTERNAL,
}

BROWSERS = ("anonymous", "candidate_b", "other_recruiter", "other_interviewer",
            "interviewer", "recruiter", "candidate_a", "admin")
STAFF_ROLES = {"recruiter": "recruiter", "interviewer": "interviewer", "admin": "admin",
               "other_recruiter": "recruiter", "other_interviewer": "interviewer"}
OTHER_TEAM = {"other_recruiter", "other_interviewer"}
# API visitors: a token of each staff member (scope admin, the widest), and a read token
# of the team's recruiter. Named "token:<staff visitor>[:<scope>]".
TOKENS = {**{f"token:{who}": (who, "admin") for who in STAFF_ROLES},
          "token:recruiter:read": ("recruiter", "read")}
VISITORS = (*BROWSERS, *TOKENS)
# The account whose API token the world's URLs name (the ``own`` routes).
TOKEN_OWNER = "recruiter"

# What "let in" looks like. A POST with an empty form may be refused as invalid (400),
# come too late (409: the attempt or the invite is already closed by an earlier visitor) or
# too soon (429: the world's public run is still pending). An API operation answers an
# empty body it can't take with 422, and a creation with 201.
LET_IN_GET = {200, 302, 303}
LET_IN_POST = {200, 302, 303, 400, 409, 429}
LET_IN_API = {200, 201, 400, 409, 422}
NOT_THERE = {403, 404}
SCOPE_RANK = {"read": 0, "invite": 1, "admin": 2}


@dataclass
class World:
    app: Flask
    clients: dict[str, FlaskClient]
    values: dict[str, Any] = field(default_factory=dict)
    int_values: dict[str, int] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def challenges_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The world's challenges: churn-prediction, and the practice page's sample."""
    root = tmp_path_factory.mktemp("challenges")
    shutil.copytree(CHURN, root / "churn-prediction")
    shutil.copytree(REPO / "challenges" / "warm-up", root / "warm-up")
    return root


def _staff(email: str, role: str) -> int:
    user = User(email=email, name=email.split("@")[0], role=role,
                password_hash=generate_password_hash(PASSWORD, "pbkdf2:sha256:1000"))
    db.session.add(user)
    db.session.flush()
    return user.id


def _start(client: FlaskClient, token: str) -> str:
    response = client.post(f"/i/{token}", data={"consent": "on"})
    assert response.status_code == 302, response.text
    match = re.search(r"/a/([^/]+)/", response.headers["Location"])
    assert match
    return match.group(1)


def build_world(tmp_path: Path, challenges_dir: Path,
                setup: Callable[[Flask], None] | None = None) -> World:
    app = make_app(tmp_path, challenges_dir, HELDOUT_INTERNAL_TOKEN=INTERNAL_TOKEN)
    if setup is not None:
        setup(app)  # routes can only be added before the first request
    with app.app_context():
        ours, theirs = Team(slug="ours", name="Ours"), Team(slug="theirs", name="Theirs")
        db.session.add_all([ours, theirs])
        db.session.flush()
        ids = {}
        for visitor, role in STAFF_ROLES.items():
            ids[visitor] = _staff(f"{visitor}@example.com", role)
            team = theirs if visitor in OTHER_TEAM else ours
            if visitor != "admin":
                db.session.add(TeamMember(team_id=team.id, user_id=ids[visitor]))
        spare = _staff("spare@example.com", "recruiter")
        db.session.commit()
        assessment = assessments.create_assessment(
            name="Matrix", challenge_slugs=["churn-prediction"], time_limit_minutes=60,
            instructions="", expires_at=None, show_scores=True, created_by_id=ids["recruiter"],
            followups=True)
        made = [invites.create_invite(
            assessment_id=assessment.id, candidate_name=name, candidate_email=f"{name}@ex.org",
            created_by_id=ids["recruiter"], secret=SECRET, ttl_days=14, now=utcnow())
            for name in ("a", "b", "fresh", "spare")]
        tokens = [new.token for new in made]
        spare_invite = made[3].invite.id
        assessment_id, team_id = assessment.id, ours.id
        challenge = catalogue.available_challenges()[0]
        slug, version, challenge_id = challenge.slug, challenge.version, challenge.id
    clients = {visitor: app.test_client() for visitor in VISITORS}
    public_a = _start(clients["candidate_a"], tokens[0])
    _start(clients["candidate_b"], tokens[1])
    for visitor in STAFF_ROLES:
        response = clients[visitor].post("/login", data={"email": f"{visitor}@example.com",
                                                         "password": PASSWORD})
        assert response.status_code == 302, visitor
    with app.app_context():
        attempt = db.session.scalars(select(Attempt).where(Attempt.public_id == public_a)).one()
        submission = Submission(attempt_id=attempt.id, challenge_id=challenge_id,
                                challenge_slug=slug, challenge_version=version,
                                status="queued")
        run = PublicRun(attempt_id=attempt.id, challenge_id=challenge_id, challenge_slug=slug,
                        challenge_version=version, status="queued")
        report = ProblemReport(attempt_id=attempt.id, challenge_id=challenge_id,
                               challenge_version=version, category="data",
                               text="train.csv has no header")
        hook = WebhookEndpoint(team_id=team_id, url="http://127.0.0.1:9/hook", events=["ping"],
                               secret="whsec_matrix", active=True)
        attempt_b = db.session.scalars(select(Attempt).where(Attempt.id != attempt.id)).one()
        submission_b = Submission(attempt_id=attempt_b.id, challenge_id=challenge_id,
                                  challenge_slug=slug, challenge_version=version,
                                  status="graded")
        db.session.add_all([submission, run, hook, submission_b, report])
        db.session.flush()
        delivery = WebhookDelivery(endpoint_id=hook.id, event="ping", body="{}",
                                   status="failed", tries=1)
        # Candidates A and B's code alike: a pair the similarity pages show to the team.
        pair = SimilarityPair(challenge_version=version, submission_a_id=submission.id,
                              submission_b_id=submission_b.id, score=0.9, share_a=0.9,
                              share_b=0.9, flagged=True)
        question = FollowupQuestion(
            attempt_id=attempt.id, submission_id=submission.id, challenge_id=challenge_id,
            challenge_slug=slug, challenge_version=version, position=1, answer_kind="text",
            prompt="What does your function do?", time_limit_seconds=180, status="graded")
        db.session.add_all([delivery, pair, question])
        db.session.commit()
        headers, token_id = {}, 0
        for visitor, (who, scope) in TOKENS.items():
            owner = db.session.get(User, ids[who])
            assert owner is not None
            new_token = api_tokens.create_token(user=owner, name=visitor, scope=scope, days=1,
                                                now=utcnow(), actor=owner)
            headers[visitor] = {"Authorization": f"Bearer {new_token.secret}"}
            if visitor == f"token:{TOKEN_OWNER}":
                token_id = new_token.token.id
        int_values = {"assessment_id": assessment_id, "attempt_id": attempt.id,
                      "submission_id": submission.id, "run_id": run.id, "pair_id": pair.id,
                      "invite_id": spare_invite, "user_id": spare, "team_id": team_id,
                      "token_id": token_id, "endpoint_id": hook.id,
                      "delivery_id": delivery.id, "report_id": report.id,
                      "question_id": question.id}
    values: dict[str, Any] = {"attempt_id": public_a, "slug": slug, "area": "public",
                              "name": "train.csv", "token": tokens[2],
                              "filename": "heldout.css", "sha256": "0" * 64,
                              "version_hex": version.removeprefix("sha256:")}
    return World(app, clients, values, int_values, headers)


def _rules() -> list[tuple[str, str]]:
    app = create_app({"HELDOUT_ENV": "testing", "HELDOUT_SECRET_KEY": SECRET,
                      "HELDOUT_QUEUE_URL": "memory://", "HELDOUT_DATA_DIR": "/nonexistent"})
    return sorted({(rule.endpoint, method) for rule in app.url_map.iter_rules()
                   for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}})


ROUTES = _rules()


def _url(world: World, rule: Rule) -> str:
    parts: dict[str, Any] = {}
    for name in rule.arguments:
        converter = rule._converters.get(name)
        source = world.int_values if isinstance(converter, IntegerConverter) else world.values
        assert name in source, f"{rule.rule}: no value for <{name}> in the test's world"
        parts[name] = source[name]
    with world.app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **parts)


def expected_api(policy: Policy, visitor: str) -> Callable[[int, str], bool]:
    """What ``visitor`` must get from an API operation: only a token counts there."""
    if visitor not in TOKENS:
        return lambda status, _location: status == 401
    who, scope = TOKENS[visitor]
    role = STAFF_ROLES[who]
    if SCOPE_RANK[scope] < SCOPE_RANK[policy.scope]:
        return lambda status, _location: status == 403
    if role != "admin" and role not in policy.roles:
        if policy.scoped and who in OTHER_TEAM:
            return lambda status, _location: status in NOT_THERE
        return lambda status, _location: status == 403
    if policy.scoped and who in OTHER_TEAM:
        return lambda status, _location: status == 404
    return lambda status, _location: status in LET_IN_API


def expected(policy: Policy, visitor: str, method: str) -> Callable[[int, str], bool]:
    """Whether a response (status, Location) is what ``visitor`` must get."""
    let_in = LET_IN_GET if method == "GET" else LET_IN_POST
    # A token opens no page: its holder is nobody there.
    signed_in = visitor in STAFF_ROLES
    role = STAFF_ROLES.get(visitor)

    def to_login(status: int, location: str) -> bool:
        return status == 302 and "/login" in location

    if policy.kind == "api":
        return expected_api(policy, visitor)
    if policy.kind == "internal":
        return lambda status, _location: status == 401
    if policy.kind == "anyone":
        return lambda status, _location: status in let_in
    if policy.kind in ("public", "invite"):
        return lambda status, _location: status < 500 and status != 403
    if policy.kind == "candidate":
        if visitor == "candidate_a":
            return lambda status, _location: status in let_in
        return lambda status, _location: status in NOT_THERE
    if not signed_in:
        return to_login
    if policy.kind == "own":
        return (lambda status, _l: status in let_in) if visitor == TOKEN_OWNER else \
            (lambda status, _l: status == 404)
    if policy.kind == "admin":
        return (lambda status, _l: status in let_in) if role == "admin" else \
            (lambda status, _l: status == 403)
    if role != "admin" and role not in policy.roles:
        if policy.scoped and visitor in OTHER_TEAM:
            return lambda status, _location: status in NOT_THERE
        return lambda status, _location: status == 403
    if policy.scoped and visitor in OTHER_TEAM:
        return lambda status, _location: status == 404
    return lambda status, _location: status in let_in


def test_every_route_has_a_policy() -> None:
    missing = [route for route in ROUTES if route not in POLICY]
    assert not missing, ("routes without an entry in POLICY (decide who may open them): "
                         f"{missing}")


def mismatches(world: World, endpoint: str, method: str, policy: Policy) -> list[str]:
    """Each visitor whose answer differs from what ``policy`` promises, with the answer."""
    rule = next(r for r in world.app.url_map.iter_rules() if r.endpoint == endpoint
                and method in (r.methods or set()))
    url = _url(world, rule)
    wrong = []
    for visitor in VISITORS:
        response = world.clients[visitor].open(url, method=method,
                                               headers=world.headers.get(visitor, {}))
        status, location = response.status_code, response.headers.get("Location", "")
        kind = response.mimetype
        response.close()  # never read a stream (live status) to its end
        if not expected(policy, visitor, method)(status, location):
            wrong.append(f"{visitor}: {status} {location}".strip())
        elif endpoint.startswith("api.") and status >= 400 and kind != "application/problem+json":
            wrong.append(f"{visitor}: {status} answered as {kind}, not a problem document")
    return wrong


# Who may reach what is decided by the views and services, not by the database's dialect;
# a fresh world per route (about 140 of them) costs minutes on PostgreSQL, where the rest of
# tests/platform already runs every query these views make.
@pytest.mark.sqlite_only("access rules do not depend on the database; every view's queries "
                         "run on PostgreSQL in the rest of tests/platform")
@pytest.mark.parametrize(("endpoint", "method"), ROUTES, ids=[f"{m} {e}" for e, m in ROUTES])
def test_route_answers_each_visitor_as_declared(endpoint: str, method: str, tmp_path: Path,
                                                challenges_dir: Path) -> None:
    policy = POLICY.get((endpoint, method))
    assert policy is not None, f"{method} {endpoint} has no entry in POLICY"
    world = build_world(tmp_path, challenges_dir)
    try:
        wrong = mismatches(world, endpoint, method, policy)
    finally:
        with world.app.app_context():
            db.engine.dispose()
    assert not wrong, f"{method} {endpoint} ({policy}): " + "; ".join(wrong)


def test_the_matrix_catches_a_page_that_forgets_its_checks(tmp_path: Path,
                                                           challenges_dir: Path) -> None:
    """A page declared for the team's readers but written without a role check is caught."""
    from flask import Blueprint

    def add_leaky_page(app: Flask) -> None:
        leaky = Blueprint("leaky", __name__)

        @leaky.get("/assessments/<int:assessment_id>/leak")
        def leak(assessment_id: int) -> str:
            return f"every score of assessment {assessment_id}"

        app.register_blueprint(leaky)

    world = build_world(tmp_path, challenges_dir, add_leaky_page)
    try:
        wrong = mismatches(world, "leaky.leak", "GET", READERS)
    finally:
        with world.app.app_context():
            db.engine.dispose()
    # Nobody signed in (a token holder is nobody on a page) and both candidates got in: the
    # page forgot its role check. The other team's signed-in staff did not: the team guard
    # runs on every URL naming an assessment.
    assert {line.rsplit(": ", 1)[0] for line in wrong} == {
        "anonymous", "candidate_a", "candidate_b", *TOKENS}
    assert all(": 200" in line for line in wrong)


def test_candidate_b_cannot_reach_a_s_objects_through_b_s_own_pages(
        tmp_path: Path, challenges_dir: Path) -> None:
    """B's own attempt id in the URL, A's submission or public run beside it: not found."""
    world = build_world(tmp_path, challenges_dir)
    with world.app.app_context():
        own = db.session.scalars(select(Attempt).where(
            Attempt.public_id != world.values["attempt_id"])).one().public_id
    checked = 0
    for rule in world.app.url_map.iter_rules():
        if not rule.endpoint.startswith(("candidate.", "api.candidate.")) \
                or "attempt_id" not in rule.arguments:
            continue
        foreign = {"submission_id", "run_id"} & set(rule.arguments)
        if not foreign:
            continue
        url = _url(world, rule).replace(f"/a/{world.values['attempt_id']}/", f"/a/{own}/")
        status = world.clients["candidate_b"].get(url).status_code
        assert status == 404, (url, status)
        checked += 1
    with world.app.app_context():
        db.engine.dispose()
    assert checked >= 2
