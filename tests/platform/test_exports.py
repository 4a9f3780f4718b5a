"""Exports of the candidates table: CSV (formula cells escaped) and JSON."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from heldout.platform.extensions import db
from heldout.platform.services import spreadsheets
from tests.platform import review_seed as seed

SLUG = "churn-prediction"


HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+2", "-3+4", "@SUM(A1)",
           "\tTabbed", "\rReturn"]


@pytest.mark.parametrize("value", HOSTILE)
def test_formula_like_cells_become_text(value: str) -> None:
    assert spreadsheets.escape_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Ana Lima", "ana@example.org", "", "1=1", "a-b", "x@y",
                                   "in the middle \uff1d", "\u00c5sa",
                                   "\uff46\uff55\uff4c\uff4c width"])
def test_ordinary_cells_are_unchanged(value: str) -> None:
    assert spreadsheets.escape_cell(value) == value


# Look-alikes a spreadsheet may take for the real sign: fullwidth and small forms.
LOOK_ALIKES = ["\uff1dHYPERLINK(\"http://evil.example\")", "\ufe66SUM(A1)", "\uff0b1+2",
               "\ufe621+2", "\uff0d3+4", "\ufe633+4", "\uff20SUM(A1)", "\ufe6bSUM(A1)"]


@pytest.mark.parametrize("value", LOOK_ALIKES)
def test_cells_starting_with_a_look_alike_sign_become_text(value: str) -> None:
    """Only the ASCII signs were caught: a cell typed as U+FF1D HYPERLINK(…) stayed a formula to
    a spreadsheet that reads the fullwidth sign as '='."""
    assert spreadsheets.escape_cell(value) == "'" + value


@pytest.fixture
def seeded(app: Flask, users: Any, assessment_id: int) -> dict[str, int]:
    ids = {}
    with app.app_context():
        for index, name in enumerate(HOSTILE):
            ids[name] = seed.candidate(assessment_id, users.recruiter, name,
                                       {SLUG: [seed.Graded(10.0 * (index + 1))]},
                                       email=f"c{index}@example.org", index=index)
        ids["Plain"] = seed.candidate(assessment_id, users.recruiter, "Plain",
                                      {SLUG: [seed.Graded(55.55)]}, email="-@example.org",
                                      minutes_used=12.5, index=50)
        db.session.commit()
    return ids


def test_csv_export(client: FlaskClient, auth: Any, assessment_id: int,
                    seeded: dict[str, int]) -> None:
    auth.login("interviewer")
    response = client.get(f"/assessments/{assessment_id}/candidates.csv?sort=total&dir=asc")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    escaped = ["'" + v for v in HOSTILE]
    assert [r["candidate"] for r in rows] == [*escaped[:5], "Plain", escaped[5]]
    plain = rows[5]
    assert plain["email"] == "'-@example.org"
    assert plain[f"score:{SLUG}"] == "55.55" and plain["total"] == "55.55"
    assert plain["time_used_seconds"] == "750"
    assert plain["percentile"] == "83.33"  # 5 of the 6 others scored lower
    assert plain["review_status"] == "not reviewed" and plain["recommendation"] == ""
    # No cell of the file starts with a formula character.
    for row in csv.reader(io.StringIO(response.text)):
        for cell in row:
            assert not cell.startswith(spreadsheets.FORMULA_STARTS), cell


def test_csv_export_follows_the_filter(client: FlaskClient, auth: Any, assessment_id: int,
                                       seeded: dict[str, int]) -> None:
    auth.login("recruiter")
    response = client.get(f"/assessments/{assessment_id}/candidates.csv?q=plain")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["candidate"] for r in rows] == ["Plain"]


def test_json_export(client: FlaskClient, auth: Any, assessment_id: int,
                     seeded: dict[str, int]) -> None:
    auth.login("interviewer")
    response = client.get(f"/assessments/{assessment_id}/candidates.json?sort=name&dir=asc")
    assert response.status_code == 200 and response.mimetype == "application/json"
    data = json.loads(response.text)
    assert data["assessment"]["challenges"] == [SLUG]
    by_name = {c["candidate"]: c for c in data["candidates"]}
    # JSON carries the values as they are: a consumer is no spreadsheet.
    assert set(by_name) == set(HOSTILE) | {"Plain"}
    plain = by_name["Plain"]
    assert plain["scores"] == {SLUG: 55.55} and plain["total"] == 55.55
    assert plain["percentile"] == 83.33
    assert plain["attempt_id"] == seeded["Plain"] and plain["time_used_seconds"] == 750
    assert plain["challenge_states"] == {SLUG: "graded"}


def test_exports_need_staff(client: FlaskClient, assessment_id: int) -> None:
    response = client.get(f"/assessments/{assessment_id}/candidates.csv")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
