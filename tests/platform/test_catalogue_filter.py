"""The builder's catalogue: filter by kind, skill, difficulty; cards; statement preview."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from heldout.platform.models import Challenge
from heldout.platform.services import assessments, catalogue
from tests.platform.conftest import REPO

# The bundles of the catalogue these tests read (a fixed set: new bundles don't move them).
CATALOGUE = ("churn-eda-notebook", "churn-prediction", "late-delivery-features",
             "metrics-from-scratch", "retention-cohorts")


@pytest.fixture(scope="session")
def catalogue_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("catalogue")
    for slug in CATALOGUE:
        shutil.copytree(REPO / "challenges" / slug, root / slug)
    return root


@pytest.fixture
def catalogue_app(app_factory: Callable[..., Flask], catalogue_dir: Path) -> Flask:
    return _loaded(app_factory(HELDOUT_CHALLENGES_DIR=str(catalogue_dir)), catalogue_dir)


def _loaded(app: Flask, challenges_dir: Path) -> Flask:
    with app.app_context():
        report = catalogue.load_challenges(challenges_dir)
    assert report.errors == ()
    return app


@pytest.fixture
def recruiter(catalogue_app: Flask) -> FlaskClient:
    from werkzeug.security import generate_password_hash

    from heldout.platform.extensions import db
    from heldout.platform.models import User
    from tests.platform.conftest import PASSWORD

    with catalogue_app.app_context():
        for role in ("recruiter", "interviewer"):
            db.session.add(User(email=f"{role}@example.com", name=role.title(), role=role,
                                password_hash=generate_password_hash(PASSWORD,
                                                                     "pbkdf2:sha256:1000")))
        db.session.commit()
    client = catalogue_app.test_client()
    client.post("/login", data={"email": "recruiter@example.com", "password": PASSWORD})
    return client


def _visible_cards(page: str) -> list[str]:
    """Titles of the catalogue cards not hidden on the page."""
    cards = re.findall(r'<div class="card selectable"[^>]*?(hidden)?>\s*<label class="card-pick">'
                       r'.*?<span class="card-title">(.*?)</span>', page, re.S)
    return sorted(title for hidden, title in cards if not hidden)


def _chal(slug: str, kind: str, skills: list[str], difficulty: str) -> Challenge:
    return Challenge(slug=slug, title=slug.title(), kind=kind, skills=skills,
                     difficulty=difficulty, expected_minutes=30, version="v")


def test_filter_catalogue_by_each_facet() -> None:
    catalogue = [_chal("a", "sql", ["SQL", "window functions"], "medium"),
                 _chal("b", "notebook", ["pandas", "Jupyter"], "easy"),
                 _chal("c", "model_training", ["pandas", "scikit-learn"], "hard")]

    def slugs(view: assessments.CatalogueView) -> list[str]:
        return [c.slug for c in view.challenges]

    everything = assessments.filter_catalogue(catalogue, assessments.CatalogueFilter())
    assert slugs(everything) == ["a", "b", "c"] and everything.total == 3
    assert everything.kinds == ["model_training", "notebook", "sql"]
    assert everything.skills == ["Jupyter", "pandas", "scikit-learn", "SQL", "window functions"]
    assert everything.difficulties == ["easy", "medium", "hard"]
    f = assessments.CatalogueFilter
    assert slugs(assessments.filter_catalogue(catalogue, f(kind="sql"))) == ["a"]
    assert slugs(assessments.filter_catalogue(catalogue, f(skill="PANDAS"))) == ["b", "c"]
    assert slugs(assessments.filter_catalogue(catalogue, f(difficulty="easy"))) == ["b"]
    assert slugs(assessments.filter_catalogue(catalogue, f(skill="pandas",
                                                           difficulty="hard"))) == ["c"]
    assert slugs(assessments.filter_catalogue(catalogue, f(kind="sql", skill="pandas"))) == []


def test_cards_show_minutes_and_what_they_assess(recruiter: FlaskClient) -> None:
    page = recruiter.get("/assessments/new").text
    assert _visible_cards(page) == ["Explore churn in a notebook", "Features for late deliveries",
                                    "Metrics from scratch", "Predict customer churn",
                                    "Retention cohorts"]
    card = page.split('<span class="card-title">Retention cohorts</span>', 1)[1] \
        .split("</div>", 1)[0]
    assert "40 min" in card and "sql" in card and "medium" in card
    assert '<span class="tag">window functions</span>' in card
    assert "Preview statement" in card
    assert "Showing 5 of 5 challenges." in page


def test_filters_on_the_page(recruiter: FlaskClient) -> None:
    sql = recruiter.get("/assessments/new?kind=sql").text
    assert _visible_cards(sql) == ["Retention cohorts"]
    assert "Showing 1 of 5 challenges." in sql
    assert '<option value="sql" selected>' in sql
    pandas = recruiter.get("/assessments/new?skill=pandas").text
    assert _visible_cards(pandas) == ["Explore churn in a notebook",
                                      "Features for late deliveries"]
    easy = recruiter.get("/assessments/new?difficulty=easy").text
    assert _visible_cards(easy) == ["Explore churn in a notebook"]
    none = recruiter.get("/assessments/new?kind=sql&difficulty=easy").text
    assert _visible_cards(none) == []
    assert re.search(r'<p class="empty js-filter-empty" >No challenge matches these filters',
                     none)
    # Hidden cards stay in the form: what was chosen before filtering is still submitted.
    assert none.count('name="challenges"') == 5


def test_a_chosen_challenge_stays_visible_under_a_filter(catalogue_app: Flask,
                                                         recruiter: FlaskClient) -> None:
    response = recruiter.post("/assessments/new?kind=sql", data={
        "name": "", "challenges": ["churn-prediction"], "time_limit_minutes": "60"})
    assert response.status_code == 400
    assert _visible_cards(response.text) == ["Predict customer churn", "Retention cohorts"]


def test_statement_preview_renders_like_the_candidate_sees_it(recruiter: FlaskClient) -> None:
    page = recruiter.get("/catalogue/retention-cohorts")
    assert page.status_code == 200
    assert "<title>Preview: Retention cohorts" in page.text
    assert "<h1>Retention cohorts</h1>" in page.text  # the statement's own heading, rendered
    assert "<code>-- name: cohort_sizes</code>" in page.text
    assert '<span class="tag">DuckDB</span>' in page.text
    assert recruiter.get("/catalogue/no-such-challenge").status_code == 404


def test_preview_is_for_recruiters(catalogue_app: Flask, recruiter: FlaskClient) -> None:
    from tests.platform.conftest import PASSWORD

    interviewer = catalogue_app.test_client()
    interviewer.post("/login", data={"email": "interviewer@example.com", "password": PASSWORD})
    assert interviewer.get("/catalogue/retention-cohorts").status_code == 403
    anonymous = catalogue_app.test_client().get("/catalogue/retention-cohorts")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_empty_catalogue(app_factory: Callable[..., Flask], tmp_path: Path) -> None:
    empty = tmp_path / "no-bundles"
    empty.mkdir()
    app = _loaded(app_factory(HELDOUT_CHALLENGES_DIR=str(empty)), empty)
    from werkzeug.security import generate_password_hash

    from heldout.platform.extensions import db
    from heldout.platform.models import User
    from tests.platform.conftest import PASSWORD

    with app.app_context():
        db.session.add(User(email="recruiter@example.com", name="R", role="recruiter",
                            password_hash=generate_password_hash(PASSWORD, "pbkdf2:sha256:1000")))
        db.session.commit()
    client = app.test_client()
    client.post("/login", data={"email": "recruiter@example.com", "password": PASSWORD})
    page = client.get("/assessments/new").text
    assert "No challenges loaded." in page and "heldout load-challenges" in page


def test_filter_chosen_list_and_summed_minutes_in_a_real_browser(catalogue_app: Flask,
                                                                 recruiter: FlaskClient) -> None:
    """staff.js: the filter hides cards live, a chosen card stays, the list and sum follow."""
    import threading

    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from tests.platform.conftest import PASSWORD

    server = make_server("127.0.0.1", 0, catalogue_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--headless", "--no-sandbox", "--disable-gpu",
                      "--disable-background-networking"])
            page = browser.new_page()
            page.goto(f"{base}/login")
            page.fill("#email", "recruiter@example.com")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.goto(f"{base}/assessments/new")
            assert page.locator(".js-filter-submit").is_hidden()
            page.check("input[value=churn-prediction]")
            assert page.inner_text(".js-summed-minutes") == "60"
            page.select_option("#filter-kind", "sql")
            visible = page.locator(".cards .card:visible .card-title").all_inner_texts()
            assert sorted(visible) == ["Predict customer churn", "Retention cohorts"]
            assert page.inner_text(".js-filter-count") == "Showing 1 of 5 challenges."
            page.check("input[value=retention-cohorts]")
            assert page.inner_text(".js-summed-minutes") == "100"
            assert page.locator(".js-chosen-list li").all_inner_texts() == [
                "Predict customer churn 60 min", "Retention cohorts 40 min"]
            page.select_option("#filter-kind", "")
            page.select_option("#filter-difficulty", "easy")
            assert page.locator(".js-filter-empty").is_hidden()
            page.uncheck("input[value=churn-prediction]")
            page.uncheck("input[value=retention-cohorts]")
            assert page.locator(".js-chosen-empty").is_visible()
            page.select_option("#filter-skill", "SQL")
            assert page.locator(".js-filter-empty").is_visible()
            browser.close()
    finally:
        server.shutdown()
        thread.join()
