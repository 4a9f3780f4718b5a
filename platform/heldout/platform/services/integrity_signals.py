"""Every integrity signal that fired for a candidate, gathered in one place: what the
report's integrity panel lists, what the candidates table's "signals" filter reads, and
what the API's report lists.

Each source is one function in ``SOURCES`` taking the attempts and a ``SignalContext`` and
returning the signals it finds; a new source (an AI-policy breach, an authorship answer)
is one more function in that list. A source never decides anew whether its signal fired:
it calls the code that already does (similarity pairs, the integrity run's checks, the
public-vs-final gap, the editor's pastes).

A signal is evidence for a reviewer, labelled "review suggested", never a score penalty,
and shown to staff alone. An interviewer can mark one reviewed with a note (audited).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, Invite, SignalReview, Submission, User
from heldout.platform.services import audit, editor_events, integrity, similarity
from heldout.platform.services.access import StaffViewer
from heldout.platform.services.scoring import counted_submission

ACTION = "signal.review"
MAX_NOTE = 2000
DEFAULT_PASTE_CHARS = 500
# What each function in SOURCES names its signals' source.
SOURCE_NAMES = ("similarity", "ml", "paste")


@dataclass(frozen=True)
class SignalContext:
    """Whose eyes the signals are for (similarity pairs of other teams stay hidden) and the
    thresholds set for the instance."""

    viewer: StaffViewer | None
    paste_chars: int = DEFAULT_PASTE_CHARS


@dataclass(frozen=True)
class Evidence:
    """Where to look: a staff page (endpoint and its values), maybe at an anchor; and the
    ids of what it shows, for scripts (``refs``: ``submission_id``, ``similarity_pair_id``,
    ``editor_event_id``)."""

    endpoint: str
    values: dict[str, Any]
    anchor: str | None = None
    refs: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class IntegritySignal:
    """One signal that fired. ``key`` is stable across page loads (what a review marks)."""

    key: str
    attempt_id: int
    challenge_id: int | None
    source: str  # one of SOURCE_NAMES (one per function in SOURCES)
    title: str
    reason: str
    evidence: Evidence


Source = Callable[[Sequence[Attempt], SignalContext], Iterable[IntegritySignal]]


def _short(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def similarity_signals(attempts: Sequence[Attempt], context: SignalContext
                       ) -> Iterable[IntegritySignal]:
    """Flagged similarity pairs (``similarity.report_lines``)."""
    for attempt in attempts:
        for challenge_id, lines in similarity.report_lines(attempt, context.viewer).items():
            for line in lines:
                yield IntegritySignal(
                    f"similarity:{line.pair_id}", attempt.id, challenge_id, "similarity",
                    f"code matches {line.other}'s",
                    f"{line.percent} % of this code matches {line.other}'s"
                    + (f" (in {line.other_assessment})"
                       if line.other_assessment != attempt.invite.assessment.name else ""),
                    Evidence("review.similarity_pair", {"pair_id": line.pair_id},
                             refs={"similarity_pair_id": line.pair_id,
                                   "submission_id": line.submission_id}))


@dataclass(frozen=True)
class _Counted:
    counted: Submission | None


def ml_signals(attempts: Sequence[Attempt], context: SignalContext
               ) -> Iterable[IntegritySignal]:
    """The integrity run's signals (hard-coded outputs, copied predictions) and a large
    public-vs-final gap, of each counted ``model_training`` submission
    (``integrity.integrity_views``)."""
    for attempt in attempts:
        assessment = attempt.invite.assessment
        results = [_Counted(counted_submission(
            [s for s in attempt.submissions if s.challenge_id == challenge.id],
            assessment.counting)) for challenge in assessment.challenges]
        counted = {r.counted.challenge_id: r.counted for r in results if r.counted is not None}
        for challenge_id, view in integrity.integrity_views(attempt, results).items():
            submission_id = counted[challenge_id].id
            evidence = Evidence("review.report", {"attempt_id": attempt.id},
                                f"integrity-{challenge_id}", {"submission_id": submission_id})
            for signal in view.signals:
                yield IntegritySignal(f"ml:{submission_id}:{_short(signal.title)}", attempt.id,
                                      challenge_id, "ml", signal.title, signal.reason, evidence)
            gap = view.gap
            if gap is not None and gap.large and gap.drop is not None:
                yield IntegritySignal(
                    f"gap:{submission_id}", attempt.id, challenge_id, "ml",
                    "the final score falls well below the public one",
                    f"{gap.metric} {gap.final:.4f} on the private slice, {gap.drop:.4f} worse "
                    f"than the {gap.public:.2f} of the latest public-check run (a model tuned "
                    "to the public slice looks like this)", evidence)


def paste_signals(attempts: Sequence[Attempt], context: SignalContext
                  ) -> Iterable[IntegritySignal]:
    """Pastes into the editor of at least ``context.paste_chars`` characters."""
    for event in editor_events.large_pastes([a.id for a in attempts], context.paste_chars):
        line = editor_events.EventLine(event.id, event.kind, event.at, event.file,
                                       event.amount)
        yield IntegritySignal(
            f"paste:{event.id}", event.attempt_id, event.challenge_id, "paste",
            "a large paste into the editor",
            f"{line.text} ({context.paste_chars:,} characters or more are listed here)",
            Evidence("review.report", {"attempt_id": event.attempt_id}, f"event-{event.id}",
                     {"editor_event_id": event.id}))


# Every source of signals; one more source is one more function here.
SOURCES: list[Source] = [similarity_signals, ml_signals, paste_signals]


def gather(attempts: Sequence[Attempt], context: SignalContext
           ) -> dict[int, list[IntegritySignal]]:
    """Every signal of these attempts that fired, by attempt id (attempts without any are
    left out), each source in ``SOURCES`` order."""
    found: dict[int, list[IntegritySignal]] = {}
    for source in SOURCES:
        for signal in source(attempts, context):
            found.setdefault(signal.attempt_id, []).append(signal)
    return found


# --- the report's panel, and reviews of a signal ------------------------------------------


@dataclass(frozen=True)
class PanelEntry:
    signal: IntegritySignal
    review: SignalReview | None

    @property
    def reviewed(self) -> bool:
        return self.review is not None


@dataclass(frozen=True)
class SignalPanel:
    entries: tuple[PanelEntry, ...] = field(default=())

    @property
    def open_count(self) -> int:
        return sum(1 for e in self.entries if not e.reviewed)


def signal_panel(attempt: Attempt, context: SignalContext) -> SignalPanel:
    """The report's integrity panel: each signal of the attempt with its review, if any."""
    signals = gather([attempt], context).get(attempt.id, [])
    reviews = {r.signal: r for r in db.session.scalars(select(SignalReview).where(
        SignalReview.attempt_id == attempt.id))}
    return SignalPanel(tuple(PanelEntry(s, reviews.get(s.key)) for s in signals))


def attempts_with_signals(assessment_id: int, context: SignalContext) -> set[int]:
    """The attempts of an assessment with at least one signal (the table's filter)."""
    attempts = list(db.session.scalars(select(Attempt).join(Invite).where(
        Invite.assessment_id == assessment_id)))
    return set(gather(attempts, context))


def mark_reviewed(attempt_id: int, key: str, note: str, *, actor: User,
                  context: SignalContext, origin: audit.Origin, now: datetime) -> SignalReview:
    """Mark one of the attempt's signals reviewed, with a note (again: the note replaced);
    audited with the review in one commit. Only a signal that fired can be marked."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(f"No attempt {attempt_id}")
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"The note has {len(note):,} characters; at most {MAX_NOTE:,}.",
                           field="note")
    if key not in {s.key for s in gather([attempt], context).get(attempt.id, [])}:
        raise InvalidInput("This signal is not among the candidate's signals (any more), "
                           "so it was not marked.", hint="Reload the report.",
                           field="signal")
    review = db.session.scalar(select(SignalReview).where(
        SignalReview.attempt_id == attempt.id, SignalReview.signal == key))
    if review is None:
        review = SignalReview(attempt_id=attempt.id, signal=key)
        db.session.add(review)
    review.note, review.reviewed_by_id, review.reviewed_at = note, actor.id, now
    audit.record(actor, ACTION, "attempt", attempt.id, {"signal": key, "note": note[:200]},
                 origin=origin, commit=False)
    db.session.commit()
    return review
