"""Interviewers' reviews: the rubric, writing one's own, and who sees whose.

Reviews are blind: whoever writes reviews sees the others' (and the recommendation they
add up to, on every page and export) only once their own is submitted, so nobody is
anchored by them. A submitted review is final: were it editable, a placeholder submitted
to unlock the others could be rewritten after reading them, and no reader could tell a
correction from a copy. A draft can be saved and changed freely until then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from heldout.platform.errors import Forbidden, InvalidInput, NotFound
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, Review, User
from heldout.platform.services import webhooks
from heldout.platform.services.access import StaffViewer

LEVELS = (1, 2, 3, 4)
MAX_NOTES_CHARS = 20_000


@dataclass(frozen=True)
class Criterion:
    """One rubric line: ``anchors`` say what levels 1 to 4 look like."""

    key: str
    title: str
    anchors: tuple[str, str, str, str]


@dataclass(frozen=True)
class Recommendation:
    key: str
    label: str


RECOMMENDATIONS = (
    Recommendation("strong_no", "Strong no"),
    Recommendation("no", "No"),
    Recommendation("yes", "Yes"),
    Recommendation("strong_yes", "Strong yes"),
)
RECOMMENDATION_LABELS = {r.key: r.label for r in RECOMMENDATIONS}

DEFAULT_RUBRIC: tuple[Criterion, ...] = (
    Criterion("correctness", "Correctness", (
        "Wrong or incomplete on the main task",
        "Works on the easy cases, misses important ones",
        "Correct on the task, small gaps at the edges",
        "Correct and robust, edge cases handled on purpose")),
    Criterion("ml_judgement", "ML judgement", (
        "No validation; leaks or overfits without noticing",
        "Some validation, choices not justified",
        "Sound validation and sensible model choices",
        "Clear reasoning about data, metric and trade-offs")),
    Criterion("code_quality", "Code quality", (
        "Hard to follow; copy-paste, dead code",
        "Readable in parts, structure ad hoc",
        "Clear structure, names say what things are",
        "Clean, small functions, easy to extend and test")),
    Criterion("communication", "Communication", (
        "No explanation of what was done",
        "Terse comments, intent must be guessed",
        "Explains the approach and its limits",
        "Explains decisions, alternatives and what to try next")),
)


def rubric_for(attempt: Attempt) -> tuple[Criterion, ...]:
    """The rubric an attempt is reviewed against (every assessment uses the default one)."""
    return DEFAULT_RUBRIC


@dataclass(frozen=True)
class ReviewInput:
    """What the review form sends, already split into fields (levels as given, unparsed)."""

    levels: Mapping[str, str]
    notes: str
    recommendation: str
    submit: bool  # False saves a draft that keeps the others' reviews hidden


@dataclass(frozen=True)
class ReviewPanel:
    """What one reviewer sees of an attempt's reviews.

    ``others`` is empty until ``mine`` is submitted: nobody is anchored by the others.
    ``others_count`` (submitted ones) is always shown, so the reviewer knows some exist.
    """

    rubric: tuple[Criterion, ...]
    mine: Review | None
    others: tuple[Review, ...]
    others_count: int

    @property
    def submitted(self) -> bool:
        return self.mine is not None and self.mine.submitted_at is not None

    @property
    def can_see_others(self) -> bool:
        return self.submitted


def writes_reviews(viewer: StaffViewer) -> bool:
    """Interviewers (and admins, who hold every role) review; recruiters read the submitted
    reviews."""
    return viewer.has_role("interviewer")


def _sees_others(viewer: StaffViewer | None, own_submitted: bool) -> bool:
    """The blind rule: others' reviews (and their recommendation) are for those who don't
    review, and for a reviewer whose own review of that attempt is submitted. ``None`` is
    no person (the command line): it sees everything."""
    return viewer is None or not writes_reviews(viewer) or own_submitted


def _attempt(attempt_id: int) -> Attempt:
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(f"No attempt {attempt_id}")
    return attempt


def _reviews(attempt_id: int) -> list[Review]:
    return list(db.session.scalars(select(Review).where(Review.attempt_id == attempt_id)
                                   .order_by(Review.submitted_at, Review.id)))


def review_panel(attempt_id: int, viewer: StaffViewer) -> ReviewPanel:
    """The reviews of an attempt as ``viewer`` may see them (the blind rule)."""
    attempt = _attempt(attempt_id)
    reviews = _reviews(attempt_id)
    mine = next((r for r in reviews if r.reviewer_id == viewer.user.id), None)
    others = tuple(r for r in reviews if r.reviewer_id != viewer.user.id and r.submitted_at)
    visible = _sees_others(viewer, mine is not None and mine.submitted_at is not None)
    return ReviewPanel(rubric_for(attempt), mine, others if visible else (), len(others))


def _parse(data: ReviewInput, rubric: tuple[Criterion, ...]) -> tuple[dict[str, int], str, str]:
    levels: dict[str, int] = {}
    for criterion in rubric:
        raw = (data.levels.get(criterion.key) or "").strip()
        if raw == "":
            if data.submit:
                raise InvalidInput(f"Choose a level for {criterion.title}.",
                                      field=f"level-{criterion.key}")
            continue
        try:
            level = int(raw)
        except ValueError:
            level = 0
        if level not in LEVELS:
            raise InvalidInput(f"{criterion.title}: choose a level from 1 to 4.",
                                  field=f"level-{criterion.key}")
        levels[criterion.key] = level
    recommendation = data.recommendation.strip()
    if recommendation not in RECOMMENDATION_LABELS and (data.submit or recommendation):
        raise InvalidInput("Choose a recommendation: strong no, no, yes or strong yes.",
                              field="recommendation")
    notes = data.notes.replace("\r\n", "\n")
    if len(notes) > MAX_NOTES_CHARS:
        raise InvalidInput(f"Notes are limited to {MAX_NOTES_CHARS:,} characters.",
                              field="notes")
    return levels, notes, recommendation


def save_review(attempt_id: int, reviewer: User, data: ReviewInput, *, now: datetime) -> Review:
    """Create or change ``reviewer``'s own draft; ``data.submit`` submits it, and a
    submitted review is final (``Forbidden`` on any later change: see the module doc)."""
    attempt = _attempt(attempt_id)
    review = db.session.scalars(select(Review).where(
        Review.attempt_id == attempt_id, Review.reviewer_id == reviewer.id)).one_or_none()
    if review is not None and review.submitted_at is not None:
        raise Forbidden("Your review of this candidate is submitted, and a submitted review "
                        "is final.", hint="Reviews are blind: once yours is in, the others' "
                        "are shown to you, so it can no longer change.")
    levels, notes, recommendation = _parse(data, rubric_for(attempt))
    if review is None:
        review = Review(attempt_id=attempt_id, reviewer_id=reviewer.id, created_at=now)
        db.session.add(review)
    review.scores = levels
    review.notes = notes
    review.recommendation = recommendation
    review.updated_at = now
    if data.submit:
        review.submitted_at = now
        db.session.flush()
        webhooks.review_submitted(review, attempt=attempt, reviewer=reviewer, now=now)
    db.session.commit()
    return review


@dataclass(frozen=True)
class ReviewSummary:
    """The submitted reviews of one attempt as one viewer may see them, for tables, exports
    and the report's summary. ``blind``: the recommendations are withheld from this viewer
    (a reviewer whose own review is not submitted); their number is not."""

    submitted: int
    drafts: int
    recommendations: tuple[str, ...]  # keys, in submission order; empty when blind
    blind: bool = False

    @property
    def status(self) -> str:
        if self.submitted:
            return f"{self.submitted} reviewed"
        return "review started" if self.drafts else "not reviewed"

    @property
    def consensus(self) -> str | None:
        """The recommendation most reviewers gave; a tie goes to the lower one."""
        if not self.recommendations:
            return None
        counts = [(self.recommendations.count(r.key), -i, r.label)
                  for i, r in enumerate(RECOMMENDATIONS)]
        return max(counts)[2]


def review_summaries(attempt_ids: list[int],
                     viewer: StaffViewer | None) -> dict[int, ReviewSummary]:
    """Every attempt's review state as ``viewer`` may see it (the blind rule), in one query."""
    found: dict[int, list[tuple[int, str, datetime | None]]] = {}
    if attempt_ids:
        rows = db.session.execute(
            select(Review.attempt_id, Review.reviewer_id, Review.recommendation,
                   Review.submitted_at)
            .where(Review.attempt_id.in_(attempt_ids)).order_by(Review.submitted_at, Review.id))
        for attempt_id, reviewer_id, recommendation, submitted_at in rows:
            found.setdefault(attempt_id, []).append((reviewer_id, recommendation, submitted_at))
    summaries = {}
    for attempt_id in attempt_ids:
        reviews = found.get(attempt_id, [])
        done = tuple(rec for _, rec, at in reviews if at is not None)
        own_submitted = viewer is not None and any(
            who == viewer.user.id and at is not None for who, _, at in reviews)
        blind = not _sees_others(viewer, own_submitted)
        summaries[attempt_id] = ReviewSummary(len(done), len(reviews) - len(done),
                                              () if blind else done, blind)
    return summaries


def rubric_for_attempt(attempt_id: int) -> tuple[Criterion, ...]:
    return rubric_for(_attempt(attempt_id))
