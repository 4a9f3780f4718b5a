"""The adverse-impact report: pass rates at a cut score per self-identified group, and
each group's impact ratio to the highest rate (the four-fifths rule).

Who passes is read from the settled totals kept as standings
(``standings.settled_totals``: the scoring rules' total, nothing recomputed here); who is
in which group from ``SelfIdentification``, joined by attempt id only: no name, e-mail or
invite is read, so nothing here can put an answer beside a person.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sqlalchemy import select

from heldout.platform.errors import InvalidInput
from heldout.platform.extensions import db
from heldout.platform.models import Assessment, SelfIdentification
from heldout.platform.services.assessments import get_assessment
from heldout.platform.services.self_identification import PREFER_NOT_TO_SAY, questions
from heldout.platform.services.spreadsheets import escape_cell
from heldout.platform.services.standings import settled_totals

# The cut score when none is chosen: a total of at least half the points passes.
DEFAULT_CUT = 50.0
# An impact ratio under four fifths is flagged (the US Uniform Guidelines' rule of thumb).
FOUR_FIFTHS = Fraction(4, 5)
# A ratio drawn from a group of fewer candidates, or from fewer expected passes (the
# group's size times the category's overall pass rate), is too noisy to act on alone.
SMALL_GROUP = 30
SMALL_EXPECTED_PASSES = 5


def parse_cut(text: str | None) -> float:
    """The cut score typed in the form: a number from 0 to 100 (empty: ``DEFAULT_CUT``)."""
    if text is None or not text.strip():
        return DEFAULT_CUT
    try:
        cut = float(text)
    except ValueError:
        raise InvalidInput("The cut score must be a number from 0 to 100.",
                           field="cut") from None
    if not 0 <= cut <= 100:
        raise InvalidInput("The cut score must be a number from 0 to 100.", field="cut")
    return cut


@dataclass(frozen=True)
class GroupRow:
    """One answer of one category: its counts, pass rate and impact ratio."""

    group: str
    scored: int                  # candidates with a settled total
    passed: int                  # of them, at or above the cut score
    ratio: Fraction | None       # pass rate / the highest group's; None: not compared
    small: bool                  # too few candidates or expected passes to judge
    stated: bool = True          # False: the "Prefer not to say" row (never compared)

    @property
    def rate(self) -> Fraction | None:
        return Fraction(self.passed, self.scored) if self.scored else None

    @property
    def flagged(self) -> bool:
        return self.ratio is not None and self.ratio < FOUR_FIFTHS


@dataclass(frozen=True)
class CategoryReport:
    category: str
    rows: tuple[GroupRow, ...]
    highest: str | None          # the group whose rate the ratios divide by

    @property
    def flagged(self) -> tuple[GroupRow, ...]:
        return tuple(r for r in self.rows if r.flagged)


@dataclass(frozen=True)
class ImpactReport:
    assessment: Assessment
    cut: float
    scored: int                  # candidates with a settled total, whatever they answered
    categories: tuple[CategoryReport, ...]


def _category(category: str, offered: tuple[str, ...], results: list[tuple[bool, str | None]]
              ) -> CategoryReport:
    scored: Counter[str] = Counter()
    passed: Counter[str] = Counter()
    for did_pass, answer in results:
        group = answer if answer is not None else PREFER_NOT_TO_SAY
        scored[group] += 1
        passed[group] += did_pass
    # Answers no longer offered (the setting changed) are still counted, after the others.
    groups = [*offered, *sorted(g for g in scored if g not in offered and g != PREFER_NOT_TO_SAY)]
    stated_scored = sum(scored[g] for g in groups)
    stated_passed = sum(passed[g] for g in groups)
    overall = Fraction(stated_passed, stated_scored) if stated_scored else Fraction(0)
    rates = {g: Fraction(passed[g], scored[g]) for g in groups if scored[g]}
    top = max(rates.values(), default=Fraction(0))
    highest = next((g for g in groups if rates.get(g) == top), None) if top else None
    rows = [GroupRow(g, scored[g], passed[g],
                     rates[g] / top if top and g in rates else None,
                     scored[g] < SMALL_GROUP or scored[g] * overall < SMALL_EXPECTED_PASSES)
            for g in groups]
    rows.append(GroupRow(PREFER_NOT_TO_SAY, scored[PREFER_NOT_TO_SAY],
                         passed[PREFER_NOT_TO_SAY], None, False, stated=False))
    return CategoryReport(category, tuple(rows), highest)


def impact_report(assessment_id: int, cut: float) -> ImpactReport:
    """Every category asked about, over the assessment's candidates with a settled total
    (a candidate who answered nothing counts as "Prefer not to say" in each category)."""
    assessment = get_assessment(assessment_id)
    totals = settled_totals(assessment.id)
    answers: dict[int, dict[str, Any]] = {
        attempt_id: stated for attempt_id, stated in db.session.execute(
            select(SelfIdentification.attempt_id, SelfIdentification.answers)
            .where(SelfIdentification.assessment_id == assessment.id))}
    categories = tuple(
        _category(q.category, q.answers,
                  [(total >= cut, answers.get(attempt_id, {}).get(q.category))
                   for attempt_id, total in totals.items()])
        for q in questions())
    return ImpactReport(assessment, cut, len(totals), categories)


def _number(value: Fraction | None, places: int) -> str:
    return "" if value is None else f"{float(value):.{places}f}"


def to_csv(report: ImpactReport) -> str:
    """The report as CSV: one line per group of each category, with its counts."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["category", "group", "candidates", "passed", "pass_rate", "impact_ratio",
                     "flagged", "small_sample", "cut_score"])
    for category in report.categories:
        for row in category.rows:
            writer.writerow([escape_cell(category.category), escape_cell(row.group),
                             row.scored, row.passed, _number(row.rate, 4),
                             _number(row.ratio, 4), "yes" if row.flagged else "no",
                             "yes" if row.small else "no", f"{report.cut:g}"])
    return out.getvalue()
