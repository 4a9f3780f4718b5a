"""Role templates: each role starts from its own challenges of the catalogue, stands in the best
fits by skill tags and kinds for those a catalogue lacks, and says why."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.graders.kinds import KINDS
from heldout.platform.errors import NotFound
from heldout.platform.extensions import db
from heldout.platform.models import Assessment, Challenge
from heldout.platform.services import catalogue, roles
from tests.platform import test_catalogue_filter as shared
from tests.platform.conftest import REPO

# The catalogue fixtures of test_catalogue_filter, shared by name.
catalogue_dir = shared.catalogue_dir
catalogue_app = shared.catalogue_app
recruiter = shared.recruiter


def _picks(app: Flask, key: str) -> list[roles.Pick]:
    with app.app_context():
        return roles.pick_challenges(roles.get_role(key), catalogue.available_challenges())


def test_every_template_is_an_assessment_of_the_shipped_catalogue(
        app_factory: Callable[..., Flask]) -> None:
    """The whole challenges/ directory: each role's own 2 to 4 challenges are there, picked
    in their order, and cover every kind the role does."""
    root = REPO / "challenges"
    app = app_factory(HELDOUT_CHALLENGES_DIR=str(root))
    with app.app_context():
        report = catalogue.load_challenges(root)
        assert report.errors == ()
        shipped = catalogue.available_challenges()
    kinds = {c.kind for c in shipped}
    for role in roles.ROLES:
        assert 2 <= len(role.challenges) <= roles.MAX_PICKS, role.key
        assert set(role.kinds) <= kinds, f"{role.key} does a kind the catalogue lacks"
        picks = roles.pick_challenges(role, shipped)
        assert [p.challenge.slug for p in picks] == list(role.challenges), role.key
        assert all(p.chosen and p.reason for p in picks), role.key
        assert roles.missing_kinds(role, picks) == (), role.key
        assert 60 <= sum(p.challenge.expected_minutes for p in picks) <= 240, role.key


@pytest.mark.parametrize(("key", "expected"), [
    ("ml-engineer", ["late-delivery-features", "metrics-from-scratch", "churn-prediction"]),
    ("data-scientist", ["churn-eda-notebook", "metrics-from-scratch", "late-delivery-features"]),
    ("data-engineer", ["late-delivery-features", "retention-cohorts", "churn-prediction"]),
    ("mlops-engineer", ["metrics-from-scratch"]),
    ("researcher", ["metrics-from-scratch"]),
    ("data-labelling-lead", []),
])
def test_the_best_fits_stand_in_for_what_a_catalogue_lacks(catalogue_app: Flask, key: str,
                                                           expected: list[str]) -> None:
    picks = _picks(catalogue_app, key)
    assert [p.challenge.slug for p in picks] == expected
    own = roles.get_role(key).challenges
    assert [p.chosen for p in picks] == [p.challenge.slug in own for p in picks]


def test_the_reasons_name_the_matched_skills_and_kind(catalogue_app: Flask) -> None:
    engineer = {p.challenge.slug: p for p in _picks(catalogue_app, "data-engineer")}
    cohorts = engineer["retention-cohorts"]
    assert cohorts.matched_skills == ("SQL", "window functions", "cohort analysis", "DuckDB")
    assert cohorts.matched_kind
    assert cohorts.reason == ("Assesses SQL, window functions, cohort analysis, DuckDB; a sql "
                              "challenge, which this role does day to day")
    churn = engineer["churn-prediction"]
    assert churn.matched_skills == ("missing values",) and not churn.matched_kind
    assert churn.reason == "Assesses missing values"
    mlops = _picks(catalogue_app, "mlops-engineer")
    assert roles.missing_kinds(roles.get_role("mlops-engineer"), mlops) == ("deployment",)


def test_ranking_cap_and_case_insensitive_tags() -> None:
    role = roles.Role("data-engineer", "R", "", skills=("SQL", "pandas"))
    assert role.kinds == ("feature_engineering", "sql")  # what those kinds declare

    def challenge(slug: str, kind: str, skills: list[str], minutes: int) -> Challenge:
        return Challenge(slug=slug, title=slug, kind=kind, skills=skills,
                         expected_minutes=minutes, version="v")

    catalogue_rows = [
        challenge("unrelated", "notebook", ["Jupyter"], 10),
        challenge("kind-only", "sql", [], 10),
        challenge("both-long", "sql", ["sql", "Pandas"], 90),
        challenge("both-short", "sql", ["SQL", "pandas"], 30),
        challenge("one-skill", "function", ["PANDAS"], 20),
        challenge("one-more", "function", ["pandas"], 25),
    ]
    picks = roles.pick_challenges(role, catalogue_rows)
    assert [p.challenge.slug for p in picks] == ["both-short", "both-long", "one-skill",
                                                 "one-more"]
    assert len(picks) == roles.MAX_PICKS
    assert picks[1].matched_skills == ("sql", "Pandas")  # the challenge's own spelling
    assert roles.pick_challenges(role, [catalogue_rows[0]]) == []
    assert roles.suggested_minutes(picks) == 210  # 165 min and a quarter, up to 15s
    assert roles.suggested_minutes([]) == 15


def test_a_role_s_own_challenges_come_first_and_the_best_fit_stands_in() -> None:
    role = roles.Role("data-engineer", "R", "", skills=("SQL",),
                      challenges=("unrelated", "not-in-this-catalogue", "kind-only"))

    def challenge(slug: str, kind: str, skills: list[str]) -> Challenge:
        return Challenge(slug=slug, title=slug, kind=kind, skills=skills, expected_minutes=30,
                         version="v")

    catalogue_rows = [challenge("kind-only", "sql", []), challenge("tagged", "sql", ["SQL"]),
                      challenge("unrelated", "notebook", ["Jupyter"])]
    picks = roles.pick_challenges(role, catalogue_rows)
    assert [(p.challenge.slug, p.chosen) for p in picks] == [
        ("unrelated", True), ("kind-only", True), ("tagged", False)]
    assert picks[0].reason == "Part of this role's template"
    assert picks[1].reason == "A sql challenge, which this role does day to day"
    assert picks[2].reason == ("Assesses SQL; a sql challenge, which this role does day to day")


def test_unknown_role() -> None:
    with pytest.raises(NotFound, match="astronaut") as raised:
        roles.get_role("astronaut")
    assert ("ml-engineer, data-scientist, data-engineer, mlops-engineer, researcher, "
            "data-labelling-lead") in raised.value.hint


def test_builder_from_a_template_preselects_and_explains(catalogue_app: Flask,
                                                         recruiter: FlaskClient) -> None:
    start = recruiter.get("/assessments/new").text
    for role in roles.ROLES:
        assert f'href="/assessments/new?role={role.key}"' in start and role.title in start
    page = recruiter.get("/assessments/new?role=data-engineer").text
    checked = re.findall(r'name="challenges" value="([^"]+)" checked', page)
    assert sorted(checked) == ["churn-prediction", "late-delivery-features", "retention-cohorts"]
    assert "Data engineer: 3 challenges picked, 160 minutes expected" in page
    assert ("<strong>Retention cohorts</strong> — Assesses SQL, window functions, cohort "
            "analysis, DuckDB; a sql challenge, which this role does day to day.") in page
    assert 'value="Data engineer assessment"' in page
    assert 'name="time_limit_minutes" type="number" min="5" max="1440" required value="210"' \
        in page
    assert '<strong class="js-summed-minutes">160</strong>' in page
    chosen = page.split('<ol class="chosen-list js-chosen-list"', 1)[1].split("</ol>", 1)[0]
    assert re.findall(r"<li>(.*?) <span", chosen) == ["Features for late deliveries",
                                                      "Predict customer churn",
                                                      "Retention cohorts"]
    assert 'class="muted js-chosen-empty" hidden' in page
    empty = recruiter.get("/assessments/new").text
    assert "None yet: tick challenges in the catalogue." in empty
    assert 'class="muted js-chosen-empty" hidden' not in empty
    mlops = recruiter.get("/assessments/new?role=mlops-engineer").text
    assert "No deployment challenge in the catalogue yet for this role." in mlops
    assert recruiter.get("/assessments/new?role=astronaut").status_code == 404


def test_create_from_a_template(catalogue_app: Flask, recruiter: FlaskClient) -> None:
    response = recruiter.post("/assessments/new", data={
        "name": "Data engineer assessment", "time_limit_minutes": "210",
        "challenges": ["retention-cohorts", "late-delivery-features", "churn-prediction"],
        "instructions": "SQL docs allowed"})
    assert response.status_code == 302
    with catalogue_app.app_context():
        created = db.session.scalars(select(Assessment)).one()
        assert [c.slug for c in created.challenges] == ["retention-cohorts",
                                                        "late-delivery-features",
                                                        "churn-prediction"]
        assert created.instructions == "SQL docs allowed"


def test_mlops_picks_the_deployment_challenge_first(app_factory: Callable[..., Flask],
                                                    tmp_path: Path) -> None:
    root = tmp_path / "mlops"
    for slug in ("churn-service", "metrics-from-scratch"):
        shutil.copytree(REPO / "challenges" / slug, root / slug)
    app = app_factory(HELDOUT_CHALLENGES_DIR=str(root))
    with app.app_context():
        catalogue.load_challenges(root)
        picks = roles.pick_challenges(roles.get_role("mlops-engineer"),
                                      catalogue.available_challenges())
        assert [(p.challenge.slug, p.matched_skills, p.matched_kind) for p in picks] == [
            ("churn-service", ("model serving", "WSGI", "input validation", "latency"), True),
            ("metrics-from-scratch", ("data splitting",), True)]
        assert roles.missing_kinds(roles.get_role("mlops-engineer"), picks) == ()


def test_the_kinds_a_role_does_are_what_the_kinds_declare() -> None:
    keys = {role.key for role in roles.ROLES}
    for name in KINDS.known():
        assert set(KINDS.get(name).roles) <= keys, f"{name} names a role template that is not there"
    assert {role.key: role.kinds for role in roles.ROLES} == {
        "ml-engineer": ("feature_engineering", "function", "model_training"),
        "data-scientist": ("model_training", "notebook"),
        "data-engineer": ("feature_engineering", "sql"),
        "mlops-engineer": ("deployment", "function"),
        "researcher": ("function",),
        "data-labelling-lead": (),
    }
