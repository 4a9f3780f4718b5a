"""A candidate who started and submitted nothing has no score: "no submission", never a 0.

Checked on every page that shows or ranks a total: the candidates table (cell, sort,
filter, percentiles of the others), compare, the report, the exports and the invites table.
"""

from __future__ import annotations

import csv
import io
from types import ModuleType
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from heldout.platform.extensions import db
from heldout.platform.models import utcnow
from heldout.platform.services import candidates
from tests.platform import review_seed as seed

SLUG = "churn-prediction"


@pytest.fixture
def seeded(app: Flask, users: Any, assessment_id: int) -> dict[str, int]:
    """Ana 90, Ben 40, and Gus, who started, finished and submitted nothing."""
    ids = {}
    with app.app_context():
        ids["Ana"] = seed.candidate(assessment_id, users.recruiter, "Ana",
                                    {SLUG: [seed.Graded(90, 20)]}, index=0)
        ids["Ben"] = seed.candidate(assessment_id, users.recruiter, "Ben",
                                    {SLUG: [seed.Graded(40, 20)]}, index=1)
        ids["Gus"] = seed.candidate(assessment_id, users.recruiter, "Gus", {},
                                    minutes_used=5, index=2)
        db.session.commit()
    return ids


def _squash(text: str) -> str:
    return " ".join(text.split())


def _rows(page: str, html: ModuleType, cls: str, key: str) -> dict[str, dict[str, Any]]:
    rows = {}
    for row in html.table_rows(html.parse(page).one("table", cls=cls)):
        cell = row[key]
        rows[cell.text().removesuffix(cell.one("span").text()).strip()] = row
    return rows


def _names(page: str, html: ModuleType) -> list[str]:
    return list(_rows(page, html, "scores", "Candidate"))


def test_total_is_none_when_nothing_was_submitted(app: Flask, assessment_id: int,
                                                  seeded: dict[str, int]) -> None:
    with app.app_context():
        table = candidates.candidates_table(assessment_id, candidates.TableQuery(), now=utcnow(),
                                            viewer=None)
        gus = next(r for r in table.rows if r.invite.candidate_name == "Gus")
        assert gus.total is None and gus.percentile is None and gus.no_submission
        ana = next(r for r in table.rows if r.invite.candidate_name == "Ana")
        assert ana.total == 90 and not ana.no_submission
        # The others' percentiles: each other, not Gus as a 0 (Ben would be 50, Ana 100).
        assert ana.percentile == 100.0
        assert next(r for r in table.rows if r.invite.candidate_name == "Ben").percentile == 0.0


def test_candidates_table_says_no_submission(client: FlaskClient, auth: Any, assessment_id: int,
                                             seeded: dict[str, int], html: ModuleType) -> None:
    auth.login("interviewer")
    rows = _rows(client.get(f"/assessments/{assessment_id}/candidates").text, html,
                 "scores", "Candidate")
    assert _squash(rows["Gus"]["Total"].text()) == "— no submission"
    assert rows["Gus"]["Percentile"].text() == "—"
    assert rows["Ana"]["Total"].text() == "90"


@pytest.mark.parametrize(("query", "expected"), [
    ("sort=total&dir=desc", ["Ana", "Ben", "Gus"]),
    ("sort=total&dir=asc", ["Ben", "Ana", "Gus"]),       # absent sorts last, not lowest
    ("sort=percentile&dir=asc", ["Ben", "Ana", "Gus"]),
    ("min=0&sort=name&dir=asc", ["Ana", "Ben"]),          # no score is not "at least 0"
])
def test_no_submission_is_never_ranked_as_a_zero(client: FlaskClient, auth: Any,
                                                 assessment_id: int, seeded: dict[str, int],
                                                 html: ModuleType, query: str,
                                                 expected: list[str]) -> None:
    auth.login("interviewer")
    page = client.get(f"/assessments/{assessment_id}/candidates?{query}").text
    assert _names(page, html) == expected


def test_compare_shows_no_submission_not_total_0(client: FlaskClient, auth: Any,
                                                 assessment_id: int, seeded: dict[str, int],
                                                 html: ModuleType) -> None:
    auth.login("interviewer")
    page = client.get(f"/assessments/{assessment_id}/compare?attempt={seeded['Gus']}"
                      f"&attempt={seeded['Ana']}").text
    table = html.parse(page).one("table", cls="compare")
    rows = {tr.one("th").text(): [_squash(td.text()) for td in tr.find_all("td")]
            for tr in table.one("tbody").find_all("tr")}
    assert rows["Total"] == ["— no submission", "90"]
    assert rows["Percentile"] == ["—", "100"]   # Ana's peers: Ben (40) alone, not Gus as a 0


def test_report_says_no_submission(client: FlaskClient, auth: Any, assessment_id: int,
                                   seeded: dict[str, int], html: ModuleType) -> None:
    auth.login("interviewer")
    page = client.get(f"/attempts/{seeded['Gus']}/report").text
    tree = html.parse(page)
    assert tree.one(cls="total-value").text() == "—"
    assert "no submission" in _squash(tree.one(cls="total").text())
    assert "No submission: the candidate submitted nothing" in page
    assert "The total waits for grading" not in page
    assert 'id="skills-title"' not in page   # no profile of zeros either


def test_exports_leave_the_total_empty(client: FlaskClient, auth: Any, assessment_id: int,
                                       seeded: dict[str, int]) -> None:
    auth.login("interviewer")
    answer = client.get(f"/assessments/{assessment_id}/candidates.csv?sort=total&dir=asc")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["candidate"] for r in rows] == ["Ben", "Ana", "Gus"]
    gus = rows[-1]
    assert (gus["total"], gus["percentile"], gus[f"score:{SLUG}"]) == ("", "", "")
    data = client.get(f"/assessments/{assessment_id}/candidates.json").get_json()
    by_name = {c["candidate"]: c for c in data["candidates"]}
    assert by_name["Gus"]["total"] is None and by_name["Gus"]["percentile"] is None
    assert by_name["Gus"]["challenge_states"] == {SLUG: "not submitted"}
    assert by_name["Ana"]["total"] == 90


def test_invites_table_says_no_submission_not_grading(client: FlaskClient, auth: Any,
                                                      assessment_id: int, seeded: dict[str, int],
                                                      html: ModuleType) -> None:
    auth.login("recruiter")
    page = client.get(f"/assessments/{assessment_id}").text
    rows = {}
    for row in html.table_rows(html.parse(page).one("table", cls="invites")):
        rows[row["Candidate"].one("span", cls="who").text()] = row
    assert rows["Gus"]["Score"].text() == "no submission"
    assert rows["Ana"]["Score"].text() == "90"
