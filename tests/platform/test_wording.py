"""Words candidates read: the runtime environment named from the image's pins, the kinds
of work the landing page promises, and explanations addressed to the candidate."""

from __future__ import annotations

import html
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from heldout.platform.markdown import environment_paragraph
from heldout.platform.models import Assessment, AssessmentChallenge, Challenge
from heldout.platform.services import assessments
from heldout.sandbox.environment import (
    HEADLINE_PACKAGES,
    PYTHON_VERSION,
    REQUIREMENTS,
    pinned_packages,
)
from heldout.sandbox.profiles import PROFILES
from tests.platform.conftest import NewInvite

REPO = Path(__file__).resolve().parents[2]


def test_the_paragraph_names_every_headline_pin_of_the_image() -> None:
    pins = pinned_packages()
    paragraph = environment_paragraph()
    assert f"Python {PYTHON_VERSION} " in paragraph
    for name, shown in HEADLINE_PACKAGES:
        assert f"{shown} {pins[name]}" in paragraph, name
    # Read from the file the image is built from, not a copy of it.
    line = next(ln for ln in REQUIREMENTS.read_text().splitlines() if ln.startswith("lightgbm=="))
    assert f"lightgbm {line.split('==')[1]}" in paragraph


def test_a_profiles_cpu_build_is_named_as_one() -> None:
    deep = next(name for name, profile in PROFILES.items() if profile.requirements is not None)
    torch = pinned_packages(PROFILES[deep].requirements or Path())["torch"].split("+")[0]
    assert f"PyTorch {torch} for the CPU" in environment_paragraph(deep)
    assert "PyTorch" not in environment_paragraph()


def test_pins_are_read_from_the_file_given(tmp_path: Path) -> None:
    other = tmp_path / "requirements.txt"
    other.write_text("# comment\nNumPy==1.0.0\nduckdb==9.9  # trailing\n\n")
    assert pinned_packages(other) == {"numpy": "1.0.0", "duckdb": "9.9"}


def test_no_statement_names_packages_by_hand() -> None:
    for statement in (REPO / "challenges").glob("*/statement.md"):
        text = statement.read_text()
        assert " is available" not in text, statement
        assert "Python 3." not in text, statement


def test_the_workspace_statement_ends_with_the_environment(client: FlaskClient,
                                                           attempt: str) -> None:
    page = html.unescape(client.get(f"/a/{attempt}/c/churn-prediction").text)
    assert environment_paragraph() in page


def test_the_landing_page_names_the_environment_and_the_kinds(client: FlaskClient,
                                                              invite: NewInvite) -> None:
    page = html.unescape(client.get(invite.url, follow_redirects=True).text)
    assert environment_paragraph() in page
    assert "You write Python in the browser" in page


def test_what_candidates_write_follows_the_kinds(app: Flask) -> None:
    def kinds(*names: str) -> str:
        assessment = Assessment(name="x")
        assessment.items = []
        for name in names:
            assessment.items.append(AssessmentChallenge(challenge=Challenge(kind=name)))
        return assessments.what_candidates_write(assessment)

    with app.app_context():
        assert kinds("model_training") == "Python"
        assert kinds("sql") == "SQL queries"
        assert kinds("sql", "notebook", "function", "deployment") == \
            "SQL queries, a Jupyter notebook and Python"


def test_every_check_explanation_shown_to_candidates_addresses_them() -> None:
    from heldout.graders.checks import CHECKS
    from heldout.platform.services import public_runs

    names = CHECKS.known()  # every kind's own checks too: the registry loads the kinds
    assert {"run", "tests", "downstream", "startup"} <= set(names)
    for name in names:
        kind = CHECKS.get(name).kind
        shown = public_runs.explanation(name, kind)
        assert shown, name
        assert "candidate's" not in shown and "bundle's" not in shown, (name, shown)
    assert public_runs.explanation("run", "run").startswith("your program ran")
    assert public_runs.explanation("tests: ties", "test").startswith("your functions")
    assert public_runs.explanation("roc_auc", "metric") == \
        public_runs.explanation("metric", "metric")


def test_staff_keep_their_wording() -> None:
    from heldout.platform.services import reports

    assert reports.check_explanation("run", "run").startswith("the candidate's program")
    assert reports.check_explanation("tests: ties", "test").startswith("the candidate's")
    assert "hidden" in reports.check_explanation("roc_auc", "metric")
    assert reports.check_explanation("no-such-check", "test") == ""
