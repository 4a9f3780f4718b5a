"""Interviewers' reviews: the rubric, saving and editing one's own, and who sees whose."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, Review, User

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


def _attempt(attempt_id: int) -> Attempt:
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(f"No attempt {attempt_id}")
    return attempt


def _reviews(attempt_id: int) -> list[Review]:
    return list(db.session.scalars(select(Review).where(Review.attempt_id == attempt_id)
                                   .order_by(Review.submitted_at, Review.id)))


def review_panel(attempt_id: int, viewer: User, *, sees_all: bool = False) -> ReviewPanel:
    """The reviews of an attempt as ``viewer`` may see them.

    Reviewers see others' submitted reviews only after submitting their own; ``sees_all``
    (staff who don't review, such as recruiters) sees every submitted review.
    """
    attempt = _attempt(attempt_id)
    reviews = _reviews(attempt_id)
    mine = next((r for r in reviews if r.reviewer_id == viewer.id), None)
    others = tuple(r for r in reviews if r.reviewer_id != viewer.id and r.submitted_at)
    visible = sees_all or (mine is not None and mine.submitted_at is not None)
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
    """Create or edit ``reviewer``'s own review; ``data.submit`` makes it count (and final
    for visibility: a submitted review stays submitted when edited)."""
    attempt = _attempt(attempt_id)
    levels, notes, recommendation = _parse(data, rubric_for(attempt))
    review = db.session.scalars(select(Review).where(
        Review.attempt_id == attempt_id, Review.reviewer_id == reviewer.id)).one_or_none()
    if review is None:
        review = Review(attempt_id=attempt_id, reviewer_id=reviewer.id, created_at=now)
        db.session.add(review)
    review.scores = levels
    review.notes = notes
    review.recommendation = recommendation
    review.updated_at = now
    if data.submit and review.submitted_at is None:
        review.submitted_at = now
    db.session.commit()
    return review


@dataclass(frozen=True)
class ReviewSummary:
    """The submitted reviews of one attempt, for tables and the report's summary."""

    submitted: int
    drafts: int
    recommendations: tuple[str, ...]  # keys, in submission order

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


def review_summaries(attempt_ids: list[int]) -> dict[int, ReviewSummary]:
    """One query for every attempt's review state."""
    found: dict[int, list[tuple[str, datetime | None]]] = {}
    if attempt_ids:
        rows = db.session.execute(
            select(Review.attempt_id, Review.recommendation, Review.submitted_at)
            .where(Review.attempt_id.in_(attempt_ids)).order_by(Review.submitted_at, Review.id))
        for attempt_id, recommendation, submitted_at in rows:
            found.setdefault(attempt_id, []).append((recommendation, submitted_at))
    summaries = {}
    for attempt_id in attempt_ids:
        reviews = found.get(attempt_id, [])
        done = tuple(rec for rec, at in reviews if at is not None)
        summaries[attempt_id] = ReviewSummary(len(done), len(reviews) - len(done), done)
    return summaries


def rubric_for_attempt(attempt_id: int) -> tuple[Criterion, ...]:
    return rubric_for(_attempt(attempt_id))
