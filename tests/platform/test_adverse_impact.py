"""The adverse-impact report and the voluntary self-identification it counts.

A synthetic population with a known ratio (group B passes at 30 of 100, group A at 50 of
100: 0.6, under four fifths) must come out of the real page and its CSV exactly; the
answers come from the landing page's form, stay out of every page that names a candidate,
and are part of the candidate's own export and erasure.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.platform.blobs import BlobStore
from heldout.platform.config import load_settings
from heldout.platform.errors import ConfigError
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, AuditEvent, SelfIdentification, utcnow
from heldout.platform.services import attempts, audit, stewardship
from tests.platform import review_seed as seed
from tests.platform.conftest import PASSWORD, Auth, NewInvite, Users

SLUG = "churn-prediction"
# An answer no other page could show by chance.
CATEGORIES = "Tea: Earl Grey, Oolong, Rooibos; Shoe size: Small, Large"


def _population(app: Flask, assessment_id: int, users: Users) -> None:
    """Group A (Female): 50 of 100 at 80, the rest at 20. Group B (Male): 30 of 100 at
    exactly the cut (60, which passes), the rest at 59.9. Ten who did not say, all at 90.
    Two never graded (no total: not counted) and a Male candidate who submitted nothing."""
    people = ([("Female", 80.0)] * 50 + [("Female", 20.0)] * 50
              + [("Male", 60.0)] * 30 + [("Male", 59.9)] * 70 + [(None, 90.0)] * 10)
    with app.app_context():
        for index, (sex, score) in enumerate(people):
            attempt_id = seed.candidate(assessment_id, users.recruiter, f"Person {index}",
                                        {SLUG: [seed.Graded(score)]}, index=index)
            if sex is not None:
                db.session.add(SelfIdentification(assessment_id=assessment_id,
                                                  attempt_id=attempt_id,
                                                  answers={"Sex": sex}))
        for index, sex in enumerate(("Female", "Female", "Male"), start=len(people)):
            graded: dict[str, Sequence[seed.Graded]] = \
                {SLUG: [seed.Graded(None)]} if sex == "Female" else {}
            attempt_id = seed.candidate(assessment_id, users.recruiter, f"Person {index}",
                                        graded, index=index)
            db.session.add(SelfIdentification(assessment_id=assessment_id,
                                              attempt_id=attempt_id, answers={"Sex": sex}))
        db.session.commit()


def _rows(text: str) -> dict[tuple[str, str], dict[str, str]]:
    return {(r["category"], r["group"]): r for r in csv.DictReader(io.StringIO(text))}


def test_a_known_ratio_comes_out_of_the_page_and_the_csv(
        app: Flask, client: FlaskClient, auth: Auth, users: Users, assessment_id: int) -> None:
    _population(app, assessment_id, users)
    auth.login("admin")
    page = client.get(f"/admin/assessments/{assessment_id}/adverse-impact?cut=60")
    assert page.status_code == 200, page.text
    html = page.text
    male = html.split('data-group="Male"')[1].split("</tr>")[0]
    assert "<td class=\"num\">100</td><td class=\"num\">30</td>" in male
    assert "30.0%" in male and "0.60" in male and "under four fifths" in male
    female = html.split('data-group="Female"')[1].split("</tr>")[0]
    assert "50.0%" in female and "1.00" in female and "highest rate" in female
    assert "<strong>Flagged:</strong> Male passes" in html
    assert "210 candidates with a settled total score" in html

    exported = client.get(f"/admin/assessments/{assessment_id}/adverse-impact.csv?cut=60")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = _rows(exported.text)
    assert rows[("Sex", "Male")] == {
        "category": "Sex", "group": "Male", "candidates": "100", "passed": "30",
        "pass_rate": "0.3000", "impact_ratio": "0.6000", "flagged": "yes",
        "small_sample": "no", "cut_score": "60"}
    assert rows[("Sex", "Female")]["impact_ratio"] == "1.0000"
    assert rows[("Sex", "Female")]["flagged"] == "no"
    # Shown as its own row, never compared (its 100% would otherwise be the highest rate).
    assert rows[("Sex", "Prefer not to say")] == {
        "category": "Sex", "group": "Prefer not to say", "candidates": "10", "passed": "10",
        "pass_rate": "1.0000", "impact_ratio": "", "flagged": "no", "small_sample": "no",
        "cut_score": "60"}
    # Race was never answered: everyone is in its "Prefer not to say" row; no ratios.
    assert rows[("Race or ethnicity", "Prefer not to say")]["candidates"] == "210"
    assert rows[("Race or ethnicity", "White")]["impact_ratio"] == ""
    # A group of no one is a small sample; the counts name nobody.
    assert rows[("Race or ethnicity", "White")]["small_sample"] == "yes"
    assert "Person " not in exported.text and "Person " not in html
    with app.app_context():
        assert db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.action == "export.adverse_impact")).all() == ["export.adverse_impact"]

    # The default cut score (50): everyone of group B now passes, A still at half.
    default = _rows(client.get(
        f"/admin/assessments/{assessment_id}/adverse-impact.csv").text)
    assert default[("Sex", "Male")]["pass_rate"] == "1.0000"
    assert default[("Sex", "Female")]["impact_ratio"] == "0.5000"


def test_small_groups_are_warned_about(app: Flask, client: FlaskClient, auth: Auth,
                                       users: Users, assessment_id: int) -> None:
    with app.app_context():
        for index, (sex, score) in enumerate([("Female", 90.0)] * 40 + [("Male", 90.0)] * 4):
            attempt_id = seed.candidate(assessment_id, users.recruiter, f"P {index}",
                                        {SLUG: [seed.Graded(score)]}, index=index)
            db.session.add(SelfIdentification(assessment_id=assessment_id,
                                              attempt_id=attempt_id, answers={"Sex": sex}))
        db.session.commit()
    auth.login("admin")
    rows = _rows(client.get(f"/admin/assessments/{assessment_id}/adverse-impact.csv").text)
    assert rows[("Sex", "Female")]["small_sample"] == "no"
    assert rows[("Sex", "Male")]["small_sample"] == "yes"   # 4 < 30 candidates
    assert rows[("Sex", "Male")]["impact_ratio"] == "1.0000"


@pytest.mark.parametrize("cut", ["abc", "150", "-1", "nan"])
def test_a_bad_cut_score_is_refused(client: FlaskClient, auth: Auth,
                                    assessment_id: int, cut: str) -> None:
    auth.login("admin")
    page = client.get(f"/admin/assessments/{assessment_id}/adverse-impact?cut={cut}")
    assert page.status_code == 400
    assert "The cut score must be a number from 0 to 100." in page.text
    assert client.get(
        f"/admin/assessments/{assessment_id}/adverse-impact.csv?cut={cut}").status_code == 400


@pytest.mark.parametrize("role", ["recruiter", "interviewer"])
def test_only_admins_see_the_report_or_its_link(client: FlaskClient, auth: Auth,
                                                assessment_id: int, role: str) -> None:
    auth.login(role)
    assert client.get(f"/admin/assessments/{assessment_id}/adverse-impact").status_code == 403
    assert client.get(
        f"/admin/assessments/{assessment_id}/adverse-impact.csv").status_code == 403
    if role == "recruiter":
        assert "adverse-impact" not in client.get(f"/assessments/{assessment_id}").text
    auth.logout()
    auth.login("admin")
    assert "adverse-impact" in client.get(f"/assessments/{assessment_id}").text


def test_self_identification_from_the_landing_page_stays_apart(
        app: Flask, client: FlaskClient, users: Users, assessment_id: int,
        make_invite: Callable[..., NewInvite]) -> None:
    app.config["HELDOUT_SELF_ID_CATEGORIES"] = CATEGORIES
    landing = client.get(client.get(make_invite("Cara", "cara@example.org").url)
                         .headers["Location"])
    assert "About you (optional)" in landing.text
    assert '<option value="">Prefer not to say</option>' in landing.text
    assert "Rooibos" in landing.text

    # A made-up answer is refused and nothing starts.
    refused = client.post("/invite", data={"consent": "on", "self_id_0": "Espresso"})
    assert refused.status_code == 400 and "Choose one of the listed answers" in refused.text
    started = client.post("/invite", data={"consent": "on", "self_id_0": "Rooibos",
                                           "self_id_1": ""})
    assert started.status_code == 302, started.text
    # Prefer not to say everywhere: nothing stored at all.
    assert app.test_client().post(make_invite("Dan", "dan@example.org").url,
                                  data={"consent": "on"}).status_code == 302
    with app.app_context():
        (row,) = db.session.scalars(select(SelfIdentification)).all()
        assert row.answers == {"Tea": "Rooibos"}
        attempt = db.session.get(Attempt, row.attempt_id)
        assert attempt is not None and attempt.invite.candidate_name == "Cara"
        public_id, attempt_id = attempt.public_id, attempt.id
        seed.add_submission(attempt_id, SLUG, seed.Graded(75.0), utcnow())
        attempts.close_attempt(attempt, at=utcnow(), reason="candidate")
        db.session.commit()
    # The candidate's own pages don't repeat it.
    assert "Rooibos" not in client.get(f"/a/{public_id}/done").text

    # Never beside a name: not on the report, the candidates table or its exports.
    staff = app.test_client()
    for role in ("interviewer", "admin"):
        staff.post("/login", data={"email": f"{role}@example.com", "password": PASSWORD})
        for url in (f"/attempts/{attempt_id}/report",
                    f"/assessments/{assessment_id}/candidates",
                    f"/assessments/{assessment_id}/candidates.csv",
                    f"/assessments/{assessment_id}"):
            answer = staff.get(url)
            assert answer.status_code in (200, 403), (url, answer.status_code)
            assert "Rooibos" not in answer.text, url
        staff.post("/logout")
    staff.post("/login", data={"email": "admin@example.com", "password": PASSWORD})
    report = staff.get(f"/admin/assessments/{assessment_id}/adverse-impact.csv").text
    assert _rows(report)[("Tea", "Rooibos")]["candidates"] == "1"

    # The candidate's own export holds it; erasure removes it.
    with app.app_context():
        blobs = BlobStore(Path(app.config["HELDOUT_DATA_DIR"]) / "blobs")
        found = stewardship.holdings("cara@example.org")
        assert found.count("self_identification") == 1
        with zipfile.ZipFile(io.BytesIO(stewardship.export_zip(found, blobs,
                                                               now=utcnow()))) as archive:
            exported = json.loads(archive.read("data/self_identification.json"))
        assert exported[0]["answers"] == {"Tea": "Rooibos"}
        receipt = stewardship.erase("cara@example.org", actor=None, blobs=blobs,
                                    origin=audit.NO_ORIGIN)
        assert receipt.rows["self_identification"] == 1
        assert db.session.scalars(select(SelfIdentification)).all() == []


def test_the_setting_is_parsed_strictly() -> None:
    assert load_settings({"HELDOUT_SELF_ID_CATEGORIES": ""})["HELDOUT_SELF_ID_CATEGORIES"] == ""
    for bad in ("Sex", "Sex: Female", "Sex: A, A", "Sex: A, B; Sex: C, D"):
        with pytest.raises(ConfigError, match="HELDOUT_SELF_ID_CATEGORIES"):
            load_settings({"HELDOUT_SELF_ID_CATEGORIES": bad})


def test_no_questions_when_none_are_configured(
        app: Flask, client: FlaskClient, make_invite: Callable[..., NewInvite]) -> None:
    app.config["HELDOUT_SELF_ID_CATEGORIES"] = ""
    landing = client.get(client.get(make_invite().url).headers["Location"])
    assert landing.status_code == 200 and "About you" not in landing.text
