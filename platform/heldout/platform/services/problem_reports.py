"""Problem reports: a candidate says what is wrong with a challenge from its workspace; the
report keeps the attempt and the challenge version, admins read it and mark it resolved.

The candidate's attempt is named by its public id (the browser bound to it, checked by the
web layer); admins act as themselves, and each change of state is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.extensions import db
from heldout.platform.i18n import N_
from heldout.platform.models import Assessment, Attempt, Invite, ProblemReport, User
from heldout.platform.services import access, attempts, audit
from heldout.platform.services.audit import NO_ORIGIN, Origin
from heldout.platform.services.paging import page_window

# What a candidate may say is wrong, with the words the form and the admins' list show.
CATEGORIES: dict[str, str] = {
    "statement": N_("The statement is unclear or wrong"),
    "data": N_("A data or starter file is missing or wrong"),
    "checks": N_("The checks or the grading seem wrong"),
    "environment": N_("The editor, the run or a library does not work"),
    "other": N_("Something else"),
}
MAX_TEXT = 2000
STATUSES = ("open", "resolved")
PER_PAGE = 50


@dataclass(frozen=True)
class ProblemInput:
    """What the candidate's form sent (unchecked)."""

    category: str
    text: str


def checked(given: ProblemInput) -> ProblemInput:
    """``given`` cleaned (line breaks as LF, no surrounding blanks), or ``InvalidInput``
    naming the field at fault."""
    category = given.category.strip()
    if category not in CATEGORIES:
        raise InvalidInput(gettext("Choose what kind of problem it is."),
                           field="problem-category")
    # A form sends line breaks as CRLF: counted as one character, as the candidate sees it.
    text = given.text.replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput(gettext("Describe the problem in a few words before sending."),
                           field="problem-text")
    if len(text) > MAX_TEXT:
        raise InvalidInput(gettext("The description is %(length)s characters long: at most "
                                   "%(most)s fit.", length=len(text), most=MAX_TEXT),
                           field="problem-text")
    return ProblemInput(category, text)


def report_problem(*, attempt_public_id: str, challenge_slug: str, given: ProblemInput,
                   now: datetime) -> ProblemReport:
    """Keep a candidate's report on one challenge of their attempt, with the version the
    workspace shows (the catalogue's current one). Reporting stays open after the attempt
    ends: a problem found at the last minute is still worth knowing."""
    attempt = attempts.get_attempt(attempt_public_id)
    challenge = attempts.assessment_challenge(attempt, challenge_slug)
    clean = checked(given)
    report = ProblemReport(attempt_id=attempt.id, challenge_id=challenge.id,
                           challenge_version=challenge.version, category=clean.category,
                           text=clean.text, created_at=now)
    db.session.add(report)
    db.session.commit()
    return report


@dataclass(frozen=True)
class ReportFilter:
    status: str = ""                  # "open", "resolved" or "" (both)
    challenge_version: str = ""       # a version ("sha256:…"), or "" (every one)


@dataclass(frozen=True)
class ReportPage:
    reports: tuple[ProblemReport, ...]
    page: int
    pages: int
    total: int
    open_count: int


def _filtered(query: Select[Any], criteria: ReportFilter) -> Select[Any]:
    if criteria.status == "open":
        query = query.where(ProblemReport.resolved_at.is_(None))
    elif criteria.status == "resolved":
        query = query.where(ProblemReport.resolved_at.is_not(None))
    if criteria.challenge_version:
        query = query.where(ProblemReport.challenge_version == criteria.challenge_version)
    return query


def list_reports(criteria: ReportFilter, *, page: int = 1,
                 per_page: int = PER_PAGE) -> ReportPage:
    """Every report matching ``criteria`` (an admin's list: all teams), newest first."""
    if criteria.status and criteria.status not in STATUSES:
        raise InvalidInput(f"Unknown status {criteria.status!r}; known: "
                           f"{', '.join(STATUSES)}", field="status")
    query = _filtered(select(ProblemReport), criteria)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    window = page_window(total, page, per_page)
    reports = db.session.scalars(
        query.options(selectinload(ProblemReport.attempt).selectinload(Attempt.invite))
        .order_by(ProblemReport.created_at.desc(), ProblemReport.id.desc())
        .offset(window.offset).limit(per_page))
    open_count = db.session.scalar(select(func.count(ProblemReport.id))
                                   .where(ProblemReport.resolved_at.is_(None))) or 0
    return ReportPage(tuple(reports), window.page, window.pages, total, open_count)


def open_count(challenge_id: int, version: str, team_id: int | None) -> int:
    """Open reports on one challenge version from candidates of one hiring team."""
    return db.session.scalar(
        select(func.count(ProblemReport.id))
        .join(Attempt, Attempt.id == ProblemReport.attempt_id)
        .join(Invite, Invite.id == Attempt.invite_id)
        .join(Assessment, Assessment.id == Invite.assessment_id)
        .where(ProblemReport.challenge_id == challenge_id,
               ProblemReport.challenge_version == version,
               ProblemReport.resolved_at.is_(None), access.in_team(team_id))) or 0


def set_resolved(report_id: int, *, resolved: bool, actor: User, now: datetime,
                 origin: Origin = NO_ORIGIN) -> ProblemReport:
    """Mark a report resolved (or open again), recorded in the audit log; a report already
    in that state is left as it is and nothing is recorded."""
    report = db.session.get(ProblemReport, report_id)
    if report is None:
        raise NotFound(f"No problem report {report_id}")
    if (report.resolved_at is not None) == resolved:
        return report
    report.resolved_at = now if resolved else None
    report.resolved_by_id = actor.id if resolved else None
    audit.record(actor, "problem_report.resolve" if resolved else "problem_report.reopen",
                 "problem_report", report.id,
                 {"challenge": report.challenge.slug, "version": report.challenge_version},
                 origin=origin, commit=False)
    db.session.commit()
    return report
