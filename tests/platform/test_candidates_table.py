"""The candidates table: server-side sort and filter, percentiles, compare."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from heldout.platform.extensions import db
from heldout.platform.models import utcnow
from heldout.platform.services import assessments, candidates, scoring
from tests.platform import review_seed as seed

SLUG = "churn-prediction"
OTHER_VERSION = "sha256:" + "0" * 64


@pytest.fixture
def crafted(app: Flask, users: Any, assessment_id: int) -> dict[str, int]:
    """Four candidates on the current version (90, 70, 70, 40), one alone on another
    version (100), one still being graded: attempt ids by name."""
    G = seed.Graded
    plan = {
        "Ana": ([G(50, 5), G(90, 15)], 20),
        "Ben": ([G(70, 40)], 50),
        "Cy": ([G(70, 30)], 40),
        "Dee": ([G(40, 25)], 30),
        "Eve": ([G(100, 40, version=OTHER_VERSION)], 45),
        "Fay": ([G(None, 5)], 10),
    }
    ids = {}
    with app.app_context():
        for index, (name, (graded, minutes)) in enumerate(plan.items()):
            ids[name] = seed.candidate(assessment_id, users.recruiter, name, {SLUG: graded},
                                       minutes_used=minutes, index=index)
        db.session.commit()
    return ids


def _names(page: str, html: ModuleType) -> list[str]:
    tree = html.parse(page)
    names = []
    for row in html.table_rows(tree.one("table", cls="scores")):
        cell = row["Candidate"]
        names.append(cell.text().removesuffix(cell.one("span").text()).strip())
    return names


def _rows(page: str, html: ModuleType) -> dict[str, dict[str, Any]]:
    tree = html.parse(page)
    rows = {}
    for row in html.table_rows(tree.one("table", cls="scores")):
        cell = row["Candidate"]
        rows[cell.text().removesuffix(cell.one("span").text()).strip()] = row
    return rows


def test_percentile_is_the_share_of_other_graded_candidates_below_ties_half() -> None:
    assert scoring.percentile_rank(90, [70, 70, 40]) == 100.0
    assert scoring.percentile_rank(70, [90, 70, 40]) == 50.0
    assert scoring.percentile_rank(40, [90, 70, 70]) == 0.0
    assert scoring.percentile_rank(50, [50]) == 50.0
    assert scoring.percentile_rank(10, []) is None
    # The batch form ranks each score among the rest, the same way.
    assert scoring.percentile_ranks([90, 70, 70, 40]) == [100.0, 50.0, 50.0, 0.0]
    assert scoring.percentile_ranks([10]) == [None]


def test_percentile_and_time_used_shown_per_candidate(client: FlaskClient, auth: Any,
                                                       assessment_id: int, crafted: dict[str, int],
                                                       html: ModuleType) -> None:
    auth.login("interviewer")
    rows = _rows(client.get(f"/assessments/{assessment_id}/candidates").text, html)
    percentiles = {name: row["Percentile"].text() for name, row in rows.items()}
    # Eve was graded on another version: nobody to compare with. Fay is still grading.
    assert percentiles == {"Ana": "100", "Ben": "50", "Cy": "50", "Dee": "0", "Eve": "—",
                           "Fay": "—"}
    assert rows["Ana"]["Total"].text() == "90"  # the latest graded submission counts
    assert rows["Ben"]["Time used"].text() == "50 min 00 s"
    assert rows["Fay"]["Predict customer churn"].text() == "grading"
    assert rows["Ana"]["Review"].text() == "not reviewed"


@pytest.mark.parametrize(("query", "expected"), [
    ("sort=total&dir=desc", ["Eve", "Ana", "Ben", "Cy", "Dee", "Fay"]),
    ("sort=total&dir=asc", ["Dee", "Ben", "Cy", "Ana", "Eve", "Fay"]),
    ("sort=time&dir=asc", ["Fay", "Ana", "Dee", "Cy", "Eve", "Ben"]),
    ("sort=name&dir=desc", ["Fay", "Eve", "Dee", "Cy", "Ben", "Ana"]),
    ("sort=percentile&dir=desc", ["Ana", "Ben", "Cy", "Dee", "Eve", "Fay"]),
    (f"sort=c:{SLUG}&dir=asc", ["Dee", "Ben", "Cy", "Ana", "Eve", "Fay"]),
    ("sort=invited&dir=desc", ["Fay", "Eve", "Dee", "Cy", "Ben", "Ana"]),
    ("sort=nonsense", ["Fay", "Eve", "Dee", "Cy", "Ben", "Ana"]),
    ("q=ANA", ["Ana"]),
    ("q=cy%40example", ["Cy"]),
    ("min=70&sort=name&dir=asc", ["Ana", "Ben", "Cy", "Eve"]),
    ("min=abc&sort=name&dir=asc", ["Ana", "Ben", "Cy", "Dee", "Eve", "Fay"]),
    ("state=finished&min=95", ["Eve"]),
])
def test_sort_and_filter_by_query_string(client: FlaskClient, auth: Any, assessment_id: int,
                                         crafted: dict[str, int], html: ModuleType,
                                         query: str, expected: list[str]) -> None:
    auth.login("interviewer")
    page = client.get(f"/assessments/{assessment_id}/candidates?{query}").text
    assert _names(page, html) == expected


def test_sorted_column_is_announced_and_links_flip_direction(
        client: FlaskClient, auth: Any, assessment_id: int, crafted: dict[str, int],
        html: ModuleType) -> None:
    auth.login("interviewer")
    tree = html.parse(client.get(f"/assessments/{assessment_id}/candidates"
                                 "?sort=total&dir=desc&q=e").text)
    (sorted_th,) = [th for th in tree.find_all("th") if "aria-sort" in th.attrs]
    assert sorted_th.attrs["aria-sort"] == "descending" and "Total" in sorted_th.text()
    link = sorted_th.one("a").attrs["href"]
    assert "dir=asc" in link and "q=e" in link  # the filter is kept


def test_no_match_says_so(client: FlaskClient, auth: Any, assessment_id: int,
                          crafted: dict[str, int]) -> None:
    auth.login("interviewer")
    page = client.get(f"/assessments/{assessment_id}/candidates?q=zzz").text
    assert "No candidate matches these filters" in page and "0 of 6 candidates" in page


def test_review_filter(app: Flask, client: FlaskClient, auth: Any, assessment_id: int,
                       crafted: dict[str, int], html: ModuleType) -> None:
    auth.login("interviewer")
    form = {f"level-{c}": "3" for c in ("correctness", "ml_judgement", "code_quality",
                                         "communication")}
    client.post(f"/attempts/{crafted['Cy']}/review", data={**form, "recommendation": "yes",
                                                           "notes": "", "action": "submit"})
    page = client.get(f"/assessments/{assessment_id}/candidates?review=reviewed").text
    assert _names(page, html) == ["Cy"]
    assert _rows(page, html)["Cy"]["Review"].text() == "1 reviewed Yes"
    page = client.get(f"/assessments/{assessment_id}/candidates?review=not+reviewed"
                      "&sort=name&dir=asc").text
    assert _names(page, html) == ["Ana", "Ben", "Dee", "Eve", "Fay"]


def test_compare_candidates_side_by_side(app: Flask, client: FlaskClient, auth: Any,
                                         users: Any, assessment_id: int,
                                         crafted: dict[str, int], html: ModuleType) -> None:
    with app.app_context():
        elsewhere = assessments.create_assessment(
            name="Other", challenge_slugs=[SLUG], time_limit_minutes=60, instructions="",
            expires_at=None, show_scores=False, created_by_id=users.recruiter).id
        stranger = seed.candidate(elsewhere, users.recruiter, "Stranger",
                                  {SLUG: [seed.Graded(99)]}, index=99)
        db.session.commit()
    auth.login("interviewer")
    page = client.get(f"/assessments/{assessment_id}/compare?attempt={crafted['Dee']}"
                      f"&attempt={crafted['Ana']}&attempt={stranger}&attempt=x").text
    tree = html.parse(page)
    table = tree.one("table", cls="compare")
    heads = [th.text() for th in table.one("thead").find_all("th")]
    assert heads == ["Candidate", "Dee", "Ana"]  # in the order asked; the stranger is not here
    rows = {tr.one("th").text(): [td.text() for td in tr.find_all("td")]
            for tr in table.one("tbody").find_all("tr")}
    assert rows["Total"] == ["40", "90"]
    assert rows["Percentile"] == ["0", "100"]
    assert rows["Predict customer churn"] == ["40", "90"]
    assert rows["roc_auc"] == ["✓ 40 / 100", "✓ 90 / 100"]
    assert rows["run"] == ["✓", "✓"]
    assert "Stranger" not in page


def test_compare_needs_two(client: FlaskClient, auth: Any, assessment_id: int,
                           crafted: dict[str, int]) -> None:
    auth.login("interviewer")
    page = client.get(f"/assessments/{assessment_id}/compare?attempt={crafted['Ana']}").text
    assert "Choose at least two candidates to compare" in page


def test_candidates_table_service_without_http(app: Flask, assessment_id: int,
                                               crafted: dict[str, int]) -> None:
    with app.app_context():
        table = candidates.candidates_table(assessment_id, candidates.TableQuery(sort="total"),
                                            now=utcnow(), viewer=None)
        assert [r.invite.candidate_name for r in table.rows][:2] == ["Eve", "Ana"]
        assert table.total_rows == 6


def test_report_percentile_agrees_with_the_table(client: FlaskClient, auth: Any,
                                                 assessment_id: int, crafted: dict[str, int],
                                                 html: ModuleType) -> None:
    auth.login("interviewer")
    rows = _rows(client.get(f"/assessments/{assessment_id}/candidates").text, html)
    for name, attempt_id in crafted.items():
        tree = html.parse(client.get(f"/attempts/{attempt_id}/report").text)
        values = tree.find_all(cls="percentile-value")
        shown = values[0].text() if values else "—"
        assert shown == rows[name]["Percentile"].text(), name


def test_pages_of_one_hundred(app: Flask, client: FlaskClient, auth: Any, users: Any,
                              assessment_id: int, html: ModuleType) -> None:
    with app.app_context():
        for index in range(candidates.PER_PAGE + 5):
            seed.candidate(assessment_id, users.recruiter, f"C{index:03d}",
                           {SLUG: [seed.Graded(float(index % 100))]}, index=index)
        db.session.commit()
    auth.login("interviewer")
    first = client.get(f"/assessments/{assessment_id}/candidates?sort=name&dir=asc").text
    assert len(_names(first, html)) == candidates.PER_PAGE and "page 1 of 2" in first
    second = client.get(f"/assessments/{assessment_id}/candidates?sort=name&dir=asc&page=2").text
    assert _names(second, html) == [f"C{i:03d}" for i in range(100, 105)]
    # The exports hold every row, not a page.
    csv_text = client.get(f"/assessments/{assessment_id}/candidates.csv").text
    assert len(csv_text.strip().splitlines()) == candidates.PER_PAGE + 5 + 1
