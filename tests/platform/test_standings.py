"""Standings and the percentile aggregate: kept equal to a computation from scratch as
scores land, are graded again and go away; the candidates table paged in SQL; exports
written as they are read. Engine-free (grading runs with a stand-in evaluator)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from heldout.graders.bundle import Bundle
from heldout.graders.result import Check
from heldout.graders.result import Evaluation as GradedResult
from heldout.platform.blobs import BlobStore
from heldout.platform.extensions import db
from heldout.platform.models import (
    Accommodation,
    Attempt,
    AttemptStanding,
    ChallengeStanding,
    ScoreAggregate,
    Submission,
    utcnow,
)
from heldout.platform.services import (
    assessments,
    audit,
    candidates,
    exports,
    grading,
    scoring,
    standings,
    stewardship,
)
from heldout.platform.tasks import grading_settings
from tests.platform import review_seed as seed

SLUG = "churn-prediction"
OTHER_VERSION = "sha256:" + "0" * 64


def scored(score: float) -> Any:
    def evaluate(bundle: Bundle, submission: Path) -> GradedResult:
        return GradedResult(challenge=bundle.slug, version=bundle.version, status="graded",
                            score=score, checks=(Check("run", "run", True, 0, 0, "ran"),),
                            metrics={}, run=None)
    return evaluate


def _stored() -> tuple[dict[Any, int], dict[int, Any], set[Any]]:
    aggregate = {(a, v, t): n for a, v, t, n in db.session.execute(
        select(ScoreAggregate.assessment_id, ScoreAggregate.versions, ScoreAggregate.total,
               ScoreAggregate.count))}
    kept = {a: (s, t, v) for a, s, t, v in db.session.execute(
        select(AttemptStanding.attempt_id, AttemptStanding.assessment_id,
               AttemptStanding.total, AttemptStanding.versions))}
    scores = {tuple(row) for row in db.session.execute(
        select(ChallengeStanding.attempt_id, ChallengeStanding.challenge_id,
               ChallengeStanding.score))}
    return aggregate, kept, scores


def assert_as_from_scratch(assessment_id: int) -> None:
    """What is stored equals a rebuild, and each rank read from the counts equals the
    ``scoring`` rule applied to every settled total of its version group."""
    db.session.commit()
    stored = _stored()
    standings.rebuild(db.session)
    assert _stored() == stored
    db.session.rollback()
    computed = standings.compute(db.session, list(stored[1]))
    groups: dict[str, list[int]] = {}
    for attempt_id, c in computed.items():
        if c.total is not None and c.versions is not None:
            groups.setdefault(c.versions, []).append(attempt_id)
    expected: dict[int, float | None] = {}
    for members in groups.values():
        ranks = scoring.percentile_ranks([computed[a].total or 0.0 for a in members])
        expected.update(zip(members, ranks, strict=True))
    read = standings.ranked(assessment_id, list(computed))
    assert {a: r.percentile for a, r in read.items()} == pytest.approx(expected)


def test_the_aggregate_equals_a_computation_from_scratch_through_grading_regrading_and_erasure(
        app: Flask, client: FlaskClient, users: Any, assessment_id: int, attempt: str) -> None:
    G = seed.Graded
    with app.app_context():
        for index, (name, graded) in enumerate({
                "Ana": [G(50, 5), G(90, 15)], "Ben": [G(70)], "Cy": [G(70)], "Dee": [G(40)],
                "Eve": [G(100, version=OTHER_VERSION)], "Fay": [G(None)]}.items()):
            seed.candidate(assessment_id, users.recruiter, name, {SLUG: graded}, index=index)
        db.session.commit()
        assert_as_from_scratch(assessment_id)
        assert db.session.scalar(select(ScoreAggregate.count).where(
            ScoreAggregate.total == 70.0)) == 2

    # A score lands through the grading job's store step.
    assert client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": "x = 1\n"}).status_code \
        == 302
    with app.app_context():
        submission_id = max(db.session.scalars(select(Submission.id)))
        assert_as_from_scratch(assessment_id)  # queued: not settled, not ranked
        assert grading.grade_submission(submission_id, grading_settings(),
                                        evaluate=scored(70.0)).status == "graded"
        assert_as_from_scratch(assessment_id)
        assert db.session.scalar(select(ScoreAggregate.count).where(
            ScoreAggregate.total == 70.0)) == 3
        # Graded again, to another score: the count moves from the old total to the new.
        submission = db.session.get(Submission, submission_id)
        assert submission is not None
        submission.status = scoring.GradingStatus.QUEUED
        db.session.commit()
        assert_as_from_scratch(assessment_id)
        assert grading.grade_submission(submission_id, grading_settings(),
                                        evaluate=scored(85.0)).status == "graded"
        assert_as_from_scratch(assessment_id)
        assert db.session.scalar(select(ScoreAggregate.count).where(
            ScoreAggregate.total == 70.0)) == 2
        # The best score counts from now on: every attempt of the assessment is refreshed.
        form = assessments.AssessmentForm(
            name="Hiring", challenge_slugs=(SLUG,), time_limit_minutes=90, instructions="",
            expires_at=None, show_scores=False, counting="best")
        assessments.update_assessment(assessment_id, form)
        assert_as_from_scratch(assessment_id)
        # Erasing a candidate takes their total out of the counts.
        stewardship.erase("ben@example.org", actor=None, origin=audit.NO_ORIGIN,
                          blobs=BlobStore(Path(app.config["HELDOUT_DATA_DIR"]) / "blobs"))
        assert_as_from_scratch(assessment_id)
        assert db.session.scalar(select(ScoreAggregate.count).where(
            ScoreAggregate.total == 70.0)) == 1


def test_rebuild_repairs_lost_standings(app: Flask, users: Any, assessment_id: int) -> None:
    with app.app_context():
        for index, score in enumerate((10.0, 20.0, 20.0)):
            seed.candidate(assessment_id, users.recruiter, f"C{index}",
                           {SLUG: [seed.Graded(score)]}, index=index)
        db.session.commit()
        before = _stored()
        for model in (ScoreAggregate, ChallengeStanding, AttemptStanding):
            db.session.execute(delete(model))
        db.session.commit()
        assert standings.rebuild(db.session) == 3
        db.session.commit()
        assert _stored() == before


def test_pages_in_sql_are_slices_of_one_ordering(
        app: Flask, users: Any, assessment_id: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(candidates, "PER_PAGE", 3)
    G = seed.Graded
    with app.app_context():
        for index, graded in enumerate(([G(50)], [G(70)], [G(None)], [G(70)], [], [G(20)],
                                        [G(90, version=OTHER_VERSION)])):
            attempt_id = seed.candidate(assessment_id, users.recruiter, f"Cand {7 - index}",
                                        {SLUG: graded} if graded else {}, index=index,
                                        minutes_used=10 + 7 * index)
        # Twice the time: the last one's 52 minutes are 26 of the assessment's (clock.py),
        # so the time sort places them between the 24 and 31 minutes of others.
        accommodated = db.session.get_one(Attempt, attempt_id)
        db.session.add(Accommodation(invite_id=accommodated.invite_id, time_percent=200,
                                     set_by_id=users.recruiter))
        db.session.commit()
        now = utcnow()
        for sort in (*candidates.SORTS, f"c:{SLUG}"):
            for descending in (True, False):
                _check_ordering(assessment_id, sort, descending, now)


def _check_ordering(assessment_id: int, sort: str, descending: bool, now: Any) -> None:
    query = candidates.TableQuery(sort=sort, descending=descending)
    _, every = candidates.every_row(assessment_id, query, now=now, viewer=None)
    listed = list(every)
    pages = []
    for page in (1, 2, 3):
        table = candidates.candidates_table(
            assessment_id, candidates.TableQuery(sort=sort, descending=descending, page=page),
            now=now, viewer=None)
        assert (table.matched, table.pages, table.total_rows) == (7, 3, 7)
        pages += [r.invite.id for r in table.rows]
    assert pages == [r.invite.id for r in listed], (sort, descending)
    key = {"total": lambda r: r.total, "percentile": lambda r: r.percentile,
           f"c:{SLUG}": lambda r: r.results[0].score, "time": lambda r: r.time_used,
           "name": lambda r: r.invite.candidate_name.casefold()}.get(sort)
    if key is not None:
        values = [key(r) for r in listed]
        present = [v for v in values if v is not None]
        assert values == present + [None] * (len(values) - len(present)), sort  # None last
        assert present == sorted(present, reverse=descending), (sort, descending)


def test_filters_are_conditions_in_sql(app: Flask, users: Any, assessment_id: int) -> None:
    G = seed.Graded
    with app.app_context():
        for index, (name, graded) in enumerate((("Ana 100%", [G(80)]), ("Ben_x", [G(30)]),
                                                ("Cy", [G(None)]))):
            seed.candidate(assessment_id, users.recruiter, name, {SLUG: graded}, index=index)
        db.session.commit()

        def names(**asked: Any) -> list[str]:
            table = candidates.candidates_table(assessment_id, candidates.TableQuery(
                sort="name", descending=False, **asked), now=utcnow(), viewer=None)
            return [r.invite.candidate_name for r in table.rows]

        assert names(min_total=50.0) == ["Ana 100%"]
        assert names(search="100%") == ["Ana 100%"]  # a LIKE wildcard is a plain character
        assert names(search="B_n") == []  # nor is _
        assert names(search="BEN_") == ["Ben_x"]
        assert names(state="finished") == ["Ana 100%", "Ben_x", "Cy"]
        assert names(state="no such state") == []
        assert names(review="not reviewed") == ["Ana 100%", "Ben_x", "Cy"]


def test_the_streamed_json_is_the_document_json_dumps_makes(
        app: Flask, users: Any, assessment_id: int) -> None:
    with app.app_context():
        assessment, rows = candidates.every_row(assessment_id, candidates.TableQuery(),
                                                now=utcnow(), viewer=None)
        empty = "".join(exports.json_chunks(assessment, rows))
        seed.candidate(assessment_id, users.recruiter, "Zoë \"Q\"", {SLUG: [seed.Graded(60)]})
        seed.candidate(assessment_id, users.recruiter, "Al", {}, index=1)
        db.session.commit()
        assessment, rows = candidates.every_row(assessment_id, candidates.TableQuery(),
                                                now=utcnow(), viewer=None)
        listed = list(rows)
        text = "".join(exports.json_chunks(assessment, listed))
        head = {"id": assessment.id, "name": assessment.name,
                "challenges": [c.slug for c in assessment.challenges]}
        assert text == json.dumps({"assessment": head, "candidates": [
            exports.row_record(r) for r in listed]}, indent=2, ensure_ascii=False)
        assert empty == json.dumps({"assessment": head, "candidates": []}, indent=2,
                                   ensure_ascii=False)
