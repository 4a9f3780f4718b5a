"""Candidates side by side: a column each, an assessment's challenges and their checks as
rows (the table's rows, ``candidates``, with their counted evaluations' checks)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from heldout.platform.extensions import db
from heldout.platform.models import Assessment, Challenge, EvaluationRecord
from heldout.platform.services import standings
from heldout.platform.services.access import StaffViewer
from heldout.platform.services.assessments import get_assessment
from heldout.platform.services.candidates import CandidateRow, table_invites, table_rows


@dataclass(frozen=True)
class CompareCell:
    passed: bool | None  # None: no such check in this candidate's counted evaluation
    score: float | None
    max_score: float | None


@dataclass(frozen=True)
class CompareChallenge:
    challenge: Challenge
    scores: tuple[float | None, ...]  # one per candidate
    checks: tuple[tuple[str, tuple[CompareCell, ...]], ...]  # check name, a cell per candidate


@dataclass(frozen=True)
class Comparison:
    assessment: Assessment
    rows: tuple[CandidateRow, ...]  # the compared candidates, in the order asked
    challenges: tuple[CompareChallenge, ...]


MAX_COMPARED = 8


def compare(assessment_id: int, attempt_ids: Sequence[int], *, now: datetime,
            viewer: StaffViewer | None) -> Comparison:
    """Candidates side by side: one column each, challenges and their checks as rows.

    Only attempts of this assessment are compared; others asked for are ignored.
    """
    assessment = get_assessment(assessment_id)
    wanted = list(dict.fromkeys(attempt_ids))[:MAX_COMPARED]
    invites = [i for i in table_invites(assessment_id, wanted) if i.attempt is not None]
    ranked = standings.ranked(assessment.id, wanted)
    rows = [dataclasses.replace(r, percentile=ranked[r.attempt.id].percentile)
            if r.attempt is not None and r.attempt.id in ranked else r
            for r in table_rows(assessment, invites, now, viewer, wanted)]
    by_id = {r.attempt.id: r for r in rows if r.attempt is not None}
    chosen = tuple(by_id[i] for i in wanted if i in by_id)
    evaluations = {e.submission_id: e for e in db.session.scalars(
        select(EvaluationRecord).where(EvaluationRecord.submission_id.in_(
            [r.counted.id for row in chosen for r in row.results if r.counted is not None])))}
    sections = []
    for position, challenge in enumerate(assessment.challenges):
        names: list[str] = []
        per: list[dict[str, CompareCell]] = []
        for row in chosen:
            counted_one = row.results[position].counted
            evaluation = evaluations.get(counted_one.id) if counted_one is not None else None
            cells: dict[str, CompareCell] = {}
            for check in (evaluation.checks if evaluation is not None else []):
                name = str(check.get("name", ""))
                if name not in names:
                    names.append(name)
                cells[name] = CompareCell(bool(check.get("passed")), check.get("score"),
                                          check.get("max_score"))
            per.append(cells)
        missing = CompareCell(None, None, None)
        checks = tuple((name, tuple(cells.get(name, missing) for cells in per)) for name in names)
        sections.append(CompareChallenge(
            challenge, tuple(row.results[position].score for row in chosen), checks))
    return Comparison(assessment, chosen, tuple(sections))
