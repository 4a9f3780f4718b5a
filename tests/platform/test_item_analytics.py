"""Item analytics: the statistics on a known synthetic population, the population a hiring
team's attempts make (versions, counting rule, teams kept apart), and the staff page."""

from __future__ import annotations

import importlib.util
import sys
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.platform.errors import NotFound
from heldout.platform.extensions import db
from heldout.platform.models import (
    Assessment,
    AssessmentChallenge,
    Challenge,
    ChallengeVersion,
    Draft,
    Team,
    TeamMember,
    User,
    utcnow,
)
from heldout.platform.services import access, item_analytics
from heldout.platform.services.item_analytics import (
    Discrimination,
    ItemAttempt,
    item_statistics,
    pearson,
    version_at,
)
from tests.platform.conftest import PASSWORD, Users

SLUG = "churn-prediction"
OLD = "sha256:" + "0" * 64


def _load_seed() -> ModuleType:
    path = Path(__file__).with_name("review_seed.py")
    spec = importlib.util.spec_from_file_location("heldout_test_review_seed", path)
    assert spec is not None and spec.loader is not None
    module = sys.modules.setdefault(spec.name, importlib.util.module_from_spec(spec))
    spec.loader.exec_module(module)
    return module


seed = _load_seed()


# --- the statistics on a known population -------------------------------------------------

# Five graded and ended attempts (score x, rest of the assessment y, minutes), one
# ended with nothing graded, one running with a score (its total not settled), one running
# with nothing yet.
KNOWN = [
    ItemAttempt(1, True, 20.0, 30.0, 10.0),
    ItemAttempt(2, True, 40.0, 50.0, 20.0),
    ItemAttempt(3, True, 60.0, 40.0, 30.0),
    ItemAttempt(4, True, 80.0, 70.0, 50.0),
    ItemAttempt(5, True, 100.0, 90.0, 70.0),
    ItemAttempt(6, True, None),
    ItemAttempt(7, False, 90.0, None, None),
    ItemAttempt(8, False, None),
]
# By hand: x = 20..100, mean 60, deviations -40 -20 0 20 40; y = 30 50 40 70 90, mean 56,
# deviations -26 -6 -16 14 34. Sum of products 1040 + 120 + 0 + 280 + 1360 = 2800; sums of
# squares 4000 and 676 + 36 + 256 + 196 + 1156 = 2320. r = 2800 / sqrt(4000 * 2320)
# = 2800 / 3046.309 = 0.919145.
HAND_R = 0.919145


def test_the_statistics_of_a_known_population() -> None:
    stats = item_statistics(KNOWN)
    assert stats.attempts == 8
    assert stats.ended == 6 and stats.in_progress == 2
    assert stats.completed == 5
    assert stats.completion_rate == pytest.approx(100 * 5 / 6)
    assert sorted(stats.scores) == [20.0, 40.0, 60.0, 80.0, 90.0, 100.0]
    assert stats.median_score == 70.0  # (60 + 80) / 2
    assert stats.median_minutes == 30.0 and stats.timed == 5
    assert stats.quartile_minutes is not None
    assert stats.discrimination.pairs == 5  # the running attempt has no settled rest
    assert stats.discrimination.r == pytest.approx(HAND_R, abs=1e-6)
    assert stats.discrimination.reading == "very good"
    assert stats.small_sample


def test_an_empty_population_has_no_figures() -> None:
    stats = item_statistics([])
    assert stats.attempts == 0 and stats.completion_rate is None
    assert stats.median_score is None and stats.median_minutes is None
    assert stats.checks == () and stats.discrimination == Discrimination(None, 0)
    assert stats.discrimination.reading == "not enough data"


def test_pearson_needs_three_pairs_and_values_that_vary() -> None:
    assert pearson([1.0, 2.0], [2.0, 4.0]) is None
    assert pearson([50.0, 50.0, 50.0], [10.0, 20.0, 30.0]) is None  # everyone scored alike
    assert pearson([1.0, 2.0, 3.0], [3.0, 2.0, 1.0]) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="pairs"):
        pearson([1.0, 2.0, 3.0], [1.0, 2.0])


@pytest.mark.parametrize(("r", "reading"), [(-0.1, "negative"), (0.0, "weak"), (0.19, "weak"),
                                            (0.2, "fair"), (0.3, "good"), (0.45, "very good")])
def test_discrimination_readings(r: float, reading: str) -> None:
    assert Discrimination(r, 40).reading == reading


def test_thirty_attempts_is_no_longer_a_small_sample() -> None:
    many = [ItemAttempt(i, True, float(i)) for i in range(30)]
    assert not item_statistics(many).small_sample
    assert item_statistics(many[:29]).small_sample


# --- the population of a hiring team --------------------------------------------------


def _challenge(slug: str) -> Challenge:
    found = db.session.scalar(select(Challenge).where(Challenge.slug == slug))
    assert found is not None
    return found


def _assessment(name: str, slugs: list[str], creator: int, *, team_id: int | None = None,
                counting: str = "last") -> int:
    assessment = Assessment(name=name, time_limit_minutes=60, created_by_id=creator,
                            team_id=team_id, counting=counting)
    db.session.add(assessment)
    db.session.flush()
    for position, slug in enumerate(slugs):
        db.session.add(AssessmentChallenge(assessment_id=assessment.id,
                                           challenge_id=_challenge(slug).id, position=position))
    db.session.flush()
    return assessment.id


@pytest.fixture
def world(app: Flask, users: Users) -> dict[str, int]:
    """Two teams. Ours: a two-challenge assessment (churn and a second challenge) and a
    churn-only one counting the best score; theirs: a churn-only assessment."""
    with app.app_context():
        churn = _challenge(SLUG)
        db.session.add(Challenge(slug="second", version="sha256:" + "2" * 64, title="Second",
                                 kind="function", expected_minutes=20))
        ours, theirs = Team(slug="ours", name="Ours"), Team(slug="theirs", name="Theirs")
        db.session.add_all([ours, theirs])
        db.session.flush()
        # An older version of churn, loaded a day before the attempts.
        db.session.add(ChallengeVersion(challenge_id=churn.id, version=OLD,
                                        loaded_at=seed.START - timedelta(days=30)))
        for version in churn.versions:
            if version.version != OLD:
                version.loaded_at = seed.START - timedelta(days=1)
        db.session.add_all([TeamMember(team_id=ours.id, user_id=users.interviewer),
                            TeamMember(team_id=ours.id, user_id=users.recruiter)])
        recruiter = users.recruiter
        pair = _assessment("Pair", [SLUG, "second"], recruiter, team_id=ours.id)
        best = _assessment("Best", [SLUG], recruiter, team_id=ours.id, counting="best")
        other = _assessment("Other team", [SLUG], recruiter, team_id=theirs.id)
        G = seed.Graded
        # x (churn) and the second challenge's score: rest = second's score.
        for i, (x, second) in enumerate([(20.0, 30.0), (40.0, 50.0), (60.0, 40.0),
                                         (80.0, 70.0), (100.0, 90.0)]):
            seed.candidate(pair, recruiter, f"P{i}", {SLUG: [G(x, 30)], "second": [G(second, 50)]},
                           index=i, minutes_used=55)
        # Graded on the old version: not on the current version's page.
        seed.candidate(pair, recruiter, "Old", {SLUG: [G(55.0, 20, version=OLD)]}, index=10)
        # Best counting: 80 then 50 counts 80; graded 25 minutes after the start.
        seed.candidate(best, recruiter, "Bea", {SLUG: [G(80.0, 25), G(50.0, 45)]}, index=11)
        # Finished with nothing submitted: started after the current version was loaded.
        seed.candidate(best, recruiter, "Nil", {}, index=12)
        # The other team's candidate never counts for ours.
        seed.candidate(other, recruiter, "Tess", {SLUG: [G(5.0, 10)]}, index=13)
        db.session.commit()
        return {"ours": ours.id, "theirs": theirs.id, "pair": pair, "best": best,
                "churn": churn.id}


def test_population_of_a_team_on_one_version(app: Flask, world: dict[str, int]) -> None:
    with app.app_context():
        churn = db.session.get(Challenge, world["churn"])
        assert churn is not None
        items = item_analytics.population(churn, churn.version, world["ours"], utcnow())
        stats = item_statistics(items)
        # Five of "Pair", Bea and Nil; not Old (another version), not Tess (another team).
        assert stats.attempts == 7 and stats.ended == 7 and stats.completed == 6
        assert sorted(stats.scores) == [20.0, 40.0, 60.0, 80.0, 80.0, 100.0]
        assert stats.discrimination.pairs == 5
        assert stats.discrimination.r == pytest.approx(HAND_R, abs=1e-6)
        # Bea's counted submission (best rule: the 80 at minute 25) from the attempt's start,
        # the assessment holding churn alone; Pair's, from their first work on it (that
        # very submission: 0 minutes).
        minutes = sorted(i.minutes for i in items if i.minutes is not None)
        assert minutes == [0.0] * 5 + [25.0]
        checks = item_analytics.check_rates(
            item_analytics.counted_on(churn, churn.version, world["ours"]))
        assert {c.name: (c.passed, c.graded) for c in checks} == {"run": (6, 6),
                                                                  "roc_auc": (6, 6)}
        old = item_statistics(item_analytics.population(churn, OLD, world["ours"], utcnow()))
        assert old.attempts == 1 and old.scores == (55.0,)
        theirs = item_statistics(item_analytics.population(churn, churn.version,
                                                           world["theirs"], utcnow()))
        assert theirs.scores == (5.0,)
        db.engine.dispose()


def test_check_pass_rates_are_counted_over_the_counted_evaluations(
        app: Flask, world: dict[str, int], users: Users) -> None:
    """Counted in SQL: a check that failed, one only some evaluations ran, a submission that
    no longer counts (best rule: Bea's 50 is not counted), in the order first met."""
    with app.app_context():
        churn = db.session.get(Challenge, world["churn"])
        assert churn is not None
        failing = [{"name": "run", "passed": True}, {"name": "roc_auc", "passed": False},
                   {"name": "hidden", "passed": False}]
        seed.candidate(world["best"], users.recruiter, "Hal",
                       {SLUG: [seed.Graded(0.0, 20, checks=failing)]}, index=20)
        db.session.commit()
        rates = item_analytics.check_rates(
            item_analytics.counted_on(churn, churn.version, world["ours"]))
        assert [(c.name, c.passed, c.graded) for c in rates] == [
            ("run", 7, 7), ("roc_auc", 6, 7), ("hidden", 0, 1)]
        assert rates[2].rate == 0.0 and rates[1].rate == pytest.approx(100 * 6 / 7)
        # Nothing counted on the old version of this team but Old's, which passed.
        old = item_analytics.check_rates(item_analytics.counted_on(churn, OLD, world["ours"]))
        assert [(c.name, c.passed, c.graded) for c in old] == [("run", 1, 1), ("roc_auc", 1, 1)]
        db.engine.dispose()


def test_time_runs_from_the_first_draft_save(app: Flask, world: dict[str, int]) -> None:
    with app.app_context():
        churn = db.session.get(Challenge, world["churn"])
        assert churn is not None
        attempt_id = item_analytics.population(churn, churn.version, world["ours"],
                                               utcnow())[0].attempt_id
        db.session.add(Draft(attempt_id=attempt_id, challenge_id=churn.id, name="solution.py",
                             content="x", created_at=seed.START + timedelta(minutes=12),
                             updated_at=seed.START + timedelta(minutes=20)))
        db.session.commit()
        items = item_analytics.population(churn, churn.version, world["ours"], utcnow())
        mine = next(i for i in items if i.attempt_id == attempt_id)
        assert mine.minutes == 18.0  # submitted at minute 30, first saved at minute 12
        db.engine.dispose()


def test_the_version_held_at_a_time(app: Flask, world: dict[str, int]) -> None:
    with app.app_context():
        churn = db.session.get(Challenge, world["churn"])
        assert churn is not None
        versions = list(churn.versions)
        assert version_at(versions, seed.START, "x") == churn.version
        assert version_at(versions, seed.START - timedelta(days=10), "x") == OLD
        assert version_at(versions, seed.START - timedelta(days=99), "x") == OLD  # the first
        assert version_at([], seed.START, "fallback") == "fallback"
        db.engine.dispose()


def test_team_choices(app: Flask, world: dict[str, int], users: Users) -> None:
    with app.app_context():
        def viewer(user_id: int) -> access.StaffViewer:
            user = db.session.get(User, user_id)
            assert user is not None
            return access.StaffViewer.of(user)

        interviewer = viewer(users.interviewer)
        assert [c.id for c in access.team_choices(interviewer)] == [world["ours"]]
        with pytest.raises(NotFound, match="No team"):
            access.team_choice(interviewer, world["theirs"])
        # In no team: the default team alone (no row names it here).
        loner = User(email="loner@example.com", name="Loner", role="interviewer",
                     password_hash="x")
        db.session.add(loner)
        db.session.commit()
        assert [c.id for c in access.team_choices(viewer(loner.id))] == [None]
        admin = access.team_choices(viewer(users.admin))
        assert {c.id for c in admin} == {None, world["ours"], world["theirs"]}
        db.engine.dispose()


# --- the page ---------------------------------------------------------------------------


def _sign_in(client: FlaskClient, role: str) -> None:
    response = client.post("/login", data={"email": f"{role}@example.com", "password": PASSWORD})
    assert response.status_code == 302


def _url(app: Flask, version: str | None = None) -> str:
    with app.app_context():
        churn = _challenge(SLUG)
        chosen = version or churn.version
        db.engine.dispose()
    return f"/catalogue/{SLUG}/versions/{chosen.removeprefix('sha256:')}/analytics"


def test_the_page_shows_the_team_s_figures(app: Flask, client: FlaskClient,
                                           world: dict[str, int]) -> None:
    _sign_in(client, "interviewer")
    page = client.get(_url(app))
    assert page.status_code == 200, page.text
    html = page.text
    assert 'data-figure="attempts">7' in html
    assert "85.7%" in html  # 6 of 7 ended attempts completed
    assert "r = 0.92" in html and "very good" in html
    assert "Small sample" in html
    assert 'class="chart chart-distribution"' in html and 'data-count="6"' in html
    assert 'data-check="roc_auc"' in html
    assert "Candidates of the team" in html and ">Ours<" in html
    # Another team's id in the query: not one of theirs, so not found.
    assert client.get(_url(app) + f"?team={world['theirs']}").status_code == 404
    # An unknown version: not found, with what to do.
    assert client.get(_url(app, "sha256:" + "9" * 64)).status_code == 404
    old = client.get(_url(app, OLD))
    assert old.status_code == 200 and 'data-figure="attempts">1' in old.text


def test_an_admin_picks_any_team_and_sees_it_empty_or_full(app: Flask, client: FlaskClient,
                                                            world: dict[str, int]) -> None:
    _sign_in(client, "admin")
    theirs = client.get(_url(app) + f"?team={world['theirs']}")
    assert theirs.status_code == 200
    assert 'data-figure="attempts">1' in theirs.text
    default = client.get(_url(app))  # the admin's first choice: the default team, empty
    assert default.status_code == 200
    assert "No attempts on this version yet" in default.text


def test_the_pages_staff_use_link_to_the_analytics(app: Flask, client: FlaskClient,
                                                   world: dict[str, int]) -> None:
    _sign_in(client, "recruiter")
    url = _url(app)
    assert url in client.get(f"/catalogue/{SLUG}").text
    assert url in client.get(f"/assessments/{world['best']}").text
    assert url in client.get(f"/assessments/{world['best']}/candidates").text
