"""Hiring teams: staff see their teams' assessments, invites, candidates and reports only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from heldout.platform.extensions import db
from heldout.platform.models import Assessment, Attempt, Submission, Team, TeamMember, User
from heldout.platform.services import assessments
from tests.platform import review_seed as seed
from tests.platform.conftest import PASSWORD, NewInvite, Users

# URL parameters that name something of an assessment, and the staff blueprints.
SCOPED = {"assessment_id", "invite_id", "attempt_id", "submission_id"}
STAFF_BLUEPRINTS = ("staff", "review")


@dataclass
class World:
    alpha: int
    beta: int
    assessment_id: int
    invite_id: int
    attempt_id: int
    submission_id: int


def _user(email: str, role: str) -> int:
    user = User(email=email, name=email.split("@")[0], role=role,
                password_hash=generate_password_hash(PASSWORD, "pbkdf2:sha256:1000"))
    db.session.add(user)
    db.session.flush()
    return user.id


@pytest.fixture
def world(app: Flask, users: Users, assessment_id: int, invite: NewInvite,
          start: Callable[[FlaskClient, NewInvite], str]) -> World:
    public_id = start(app.test_client(), invite)
    with app.app_context():
        alpha, beta = Team(slug="alpha", name="Alpha"), Team(slug="beta", name="Beta")
        db.session.add_all([alpha, beta])
        db.session.flush()
        for user_id in (users.recruiter, users.interviewer):
            db.session.add(TeamMember(team_id=alpha.id, user_id=user_id))
        for email, role in (("beta-recruiter@example.com", "recruiter"),
                            ("beta-interviewer@example.com", "interviewer")):
            db.session.add(TeamMember(team_id=beta.id, user_id=_user(email, role)))
        _user("loner@example.com", "interviewer")  # in no team: the default team
        assessment = db.session.get(Assessment, assessment_id)
        assert assessment is not None
        assessment.team_id = alpha.id
        attempt = db.session.scalars(select(Attempt).where(Attempt.public_id == public_id)).one()
        challenge = assessment.challenges[0]
        submission = Submission(attempt_id=attempt.id, challenge_id=challenge.id,
                                challenge_slug=challenge.slug,
                                challenge_version=challenge.version, status="queued")
        db.session.add(submission)
        db.session.commit()
        return World(alpha.id, beta.id, assessment_id, invite.id, attempt.id, submission.id)


def _client(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, email
    return client


def _scoped_rules(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, path) of every staff page naming a piece of an assessment."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in STAFF_BLUEPRINTS or not set(rule.arguments) & SCOPED:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, rule.rule))
    return found


def _fill(app: Flask, endpoint: str, world: World) -> str:
    values: dict[str, Any] = {
        "assessment_id": world.assessment_id, "invite_id": world.invite_id,
        "attempt_id": world.attempt_id, "submission_id": world.submission_id,
        "fmt": "csv", "slug": "churn-prediction"}
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **{k: v for k, v in values.items() if k in rule.arguments})


def test_every_staff_page_of_another_team_is_not_found(app: Flask, world: World) -> None:
    rules = _scoped_rules(app)
    assert len(rules) >= 4  # the assessment page, invites, candidates, report at least
    outsiders = {"recruiter": _client(app, "beta-recruiter@example.com"),
                 "interviewer": _client(app, "beta-interviewer@example.com"),
                 "none": _client(app, "loner@example.com")}
    for endpoint, method, _path in rules:
        url = _fill(app, endpoint, world)
        for who, client in outsiders.items():
            status = client.open(url, method=method).status_code
            # Wrong role: refused by role; right role: the other team's work does not exist.
            assert status in (403, 404), (who, method, url, status)
            if who != "none":
                assert status != 200
    # Nothing an outsider posted reached the alpha team's invite or assessment.
    with app.app_context():
        assessment = db.session.get(Assessment, world.assessment_id)
        assert assessment is not None and not assessment.archived
        from heldout.platform.models import Invite

        invite = db.session.get(Invite, world.invite_id)
        assert invite is not None and invite.revoked_at is None


def test_the_team_reaches_its_own_pages(app: Flask, world: World) -> None:
    members = {"recruiter": _client(app, "recruiter@example.com"),
               "interviewer": _client(app, "interviewer@example.com"),
               "admin": _client(app, "admin@example.com")}
    reached = 0
    for endpoint, method, _path in _scoped_rules(app):
        if method != "GET":
            continue
        url = _fill(app, endpoint, world)
        statuses = {who: c.get(url).status_code for who, c in members.items()}
        assert statuses["admin"] < 400, (url, statuses)
        # Each page is for recruiters or interviewers (or both); someone of the team gets in.
        assert min(statuses["recruiter"], statuses["interviewer"]) < 400, (url, statuses)
        assert 404 not in statuses.values() and all(s < 500 for s in statuses.values())
        reached += 1
    assert reached >= 3


def test_lists_show_only_the_teams_assessments(app: Flask, world: World, users: Users) -> None:
    with app.app_context():
        beta_recruiter = db.session.scalar(select(User.id).where(
            User.email == "beta-recruiter@example.com"))
        assert beta_recruiter is not None
        made = assessments.create_assessment(
            name="Beta data role", challenge_slugs=["churn-prediction"], time_limit_minutes=60,
            instructions="", expires_at=None, show_scores=False, created_by_id=beta_recruiter)
        # A new assessment joins its creator's first team.
        assert made.team_id == world.beta
        beta_assessment = made.id
    alpha_page = _client(app, "recruiter@example.com").get("/assessments").text
    beta_page = _client(app, "beta-recruiter@example.com").get("/assessments").text
    admin_page = _client(app, "admin@example.com").get("/assessments").text
    loner_page = _client(app, "loner@example.com").get("/assessments").text
    assert "ML take-home" in alpha_page and "Beta data role" not in alpha_page
    assert "Beta data role" in beta_page and "ML take-home" not in beta_page
    assert "ML take-home" in admin_page and "Beta data role" in admin_page
    assert "ML take-home" not in loner_page and "Beta data role" not in loner_page
    beta = _client(app, "beta-interviewer@example.com")
    assert beta.get(f"/assessments/{beta_assessment}/candidates").status_code == 200
    assert beta.get(f"/assessments/{world.assessment_id}/candidates").status_code == 404


def test_the_default_team_holds_accounts_and_assessments_without_one(
        app: Flask, users: Users, assessment_id: int) -> None:
    # No teams at all (a fresh installation): every staff member sees every assessment.
    client = _client(app, "interviewer@example.com")
    assert client.get(f"/assessments/{assessment_id}/candidates").status_code == 200
    with app.app_context():
        default = Team(slug="default", name="Default team")
        other = Team(slug="other", name="Other")
        db.session.add_all([default, other])
        db.session.flush()
        db.session.add(TeamMember(team_id=other.id, user_id=users.interviewer))
        db.session.commit()
        default_id = default.id
    # In "other" only: the assessment with no team is the default team's, not theirs.
    assert client.get(f"/assessments/{assessment_id}/candidates").status_code == 404
    with app.app_context():
        db.session.add(TeamMember(team_id=default_id, user_id=users.interviewer))
        db.session.commit()
    assert client.get(f"/assessments/{assessment_id}/candidates").status_code == 200


def test_admins_move_assessments_and_manage_teams(app: Flask, world: World,
                                                  users: Users) -> None:
    admin = _client(app, "admin@example.com")
    assert "Alpha" in admin.get("/admin/teams").text
    response = admin.post(f"/admin/assessments/{world.assessment_id}/team",
                          data={"team": str(world.beta)})
    assert response.status_code == 303
    beta = _client(app, "beta-interviewer@example.com")
    assert beta.get(f"/assessments/{world.assessment_id}/candidates").status_code == 200
    alpha = _client(app, "interviewer@example.com")
    assert alpha.get(f"/assessments/{world.assessment_id}/candidates").status_code == 404
    assert alpha.get(f"/attempts/{world.attempt_id}/report").status_code == 404

    response = admin.post("/admin/teams", data={"name": "Gamma Hiring"})
    assert response.status_code == 303
    assert "gamma-hiring" in admin.get("/admin/teams").text
    assert admin.post("/admin/teams", data={"name": "Gamma Hiring"}).status_code == 400
    with app.app_context():
        gamma = db.session.scalar(select(Team.id).where(Team.slug == "gamma-hiring"))
    response = admin.post(f"/admin/users/{users.interviewer}/teams",
                          data={"teams": [str(gamma), str(world.beta)]})
    assert response.status_code == 303
    assert alpha.get(f"/assessments/{world.assessment_id}/candidates").status_code == 200
    with app.app_context():
        teams = set(db.session.scalars(select(TeamMember.team_id).where(
            TeamMember.user_id == users.interviewer)))
    assert teams == {gamma, world.beta}


def _challenge_rank(client: FlaskClient, attempt_id: int, html: ModuleType) -> tuple[str, str]:
    """A report's percentile sentence for its challenge, and how many scores its chart holds."""
    tree = html.parse(client.get(f"/attempts/{attempt_id}/report").text)
    (chart,) = tree.find_all("svg", cls="chart-distribution")
    return tree.one(cls="challenge-percentile").text(), chart.attrs["data-count"]


def test_percentiles_and_charts_rank_a_candidate_within_the_team(
        app: Flask, users: Users, assessment_id: int, html: ModuleType) -> None:
    with app.app_context():
        alpha, beta = Team(slug="alpha", name="Alpha"), Team(slug="beta", name="Beta")
        default = Team(slug="default", name="Default team")
        db.session.add_all([alpha, beta, default])
        db.session.flush()
        made = {}
        for name, team in (("beta", beta.id), ("none", None), ("default", default.id)):
            made[name] = assessments.create_assessment(
                name=f"{name} role", challenge_slugs=["churn-prediction"],
                time_limit_minutes=60, instructions="", expires_at=None, show_scores=False,
                created_by_id=users.recruiter)
            made[name].team_id = team
        alpha_assessment = db.session.get(Assessment, assessment_id)
        assert alpha_assessment is not None
        alpha_assessment.team_id = alpha.id
        ids = {}
        for index, (name, where, score) in enumerate((
                ("a1", assessment_id, 10.0), ("a2", assessment_id, 20.0),
                ("a3", assessment_id, 30.0), ("b1", made["beta"].id, 50.0),
                ("n1", made["none"].id, 40.0), ("d1", made["default"].id, 45.0))):
            ids[name] = seed.candidate(where, users.recruiter, name,
                                       {"churn-prediction": [seed.Graded(score)]}, index=index)
        db.session.commit()
    admin = _client(app, "admin@example.com")  # sees every team's reports
    # Beta's only candidate is compared with nobody: alpha's are another team's.
    assert _challenge_rank(admin, ids["b1"], html) == (
        "No other candidate was graded on this version yet.", "1")
    text, count = _challenge_rank(admin, ids["a3"], html)
    assert "100 percentile among 2 other candidates" in text and count == "3"
    # An assessment in no team is the default team's: ranked with the default team's own.
    text, count = _challenge_rank(admin, ids["n1"], html)
    assert "0 percentile among 1 other candidate " in text and count == "2"
