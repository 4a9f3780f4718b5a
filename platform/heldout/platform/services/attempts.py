"""A candidate's timed attempt: start it from an invite, enforce its deadline, finish it."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from heldout.graders.bundle import Bundle
from heldout.graders.variants import VariantError, bind_variant
from heldout.platform.errors import AttemptClosed, DeadlinePassed, InvalidInput, NotFound
from heldout.platform.extensions import db
from heldout.platform.i18n import format_moment
from heldout.platform.models import (
    Attempt,
    Challenge,
    DeadlineSubmission,
    Draft,
    Invite,
    Review,
    SelfIdentification,
    Submission,
    new_variant_seed,
)
from heldout.platform.services import clock, scoring, webhooks
from heldout.platform.services.catalogue import BundleCatalogue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChallengeStatus:
    """One card of the overview: the challenge and where the candidate stands on it."""

    challenge: Challenge
    submissions: int
    latest: Submission | None
    # When the drafts were last saved, if they hold work newer than the latest submission.
    draft_saved_at: datetime | None = None
    # The deadline job's claim: its submission of the drafts, or why there was none.
    deadline: DeadlineSubmission | None = None

    @property
    def label(self) -> str:
        if self.draft_saved_at is not None:
            return "draft saved"
        if self.latest is None:
            return "not started"
        return "submitted"

    @property
    def awaiting_deadline_submission(self) -> bool:
        """Time ran out with unsubmitted drafts the worker has not taken yet."""
        return self.deadline is None and self.draft_saved_at is not None


def start_attempt(invite: Invite, *, consent: bool, now: datetime,
                  self_identified: Mapping[str, str] | None = None) -> Attempt:
    """Start the clock. ``invite`` must come from ``invites.find_invite``.
    ``self_identified``: the voluntary answers (services/self_identification.py), stored
    apart from the attempt when there are any."""
    if invite.attempt is not None:
        return invite.attempt
    if not consent:
        raise InvalidInput(gettext("Please tick the box to agree to how your data is used "
                                   "before starting."), field="consent")
    attempt = Attempt(invite=invite, consent_at=now, started_at=now,
                      deadline=clock.first_deadline(invite, now=now),
                      variant_seed=new_variant_seed())
    invite.started_at = now
    first_open = invite.opened_at is None
    invite.opened_at = invite.opened_at or now
    db.session.add(attempt)
    try:
        db.session.flush()
        if self_identified:
            db.session.add(SelfIdentification(assessment_id=invite.assessment_id,
                                              attempt_id=attempt.id,
                                              answers=dict(self_identified)))
        if first_open:
            webhooks.invite_opened(invite, now=now)
        webhooks.attempt_started(attempt, now=now)
        db.session.commit()
    except IntegrityError:
        # A double click started it in a parallel request: that attempt is the one.
        db.session.rollback()
        existing = db.session.scalar(select(Attempt).where(Attempt.invite_id == invite.id))
        if existing is None:
            raise
        return existing
    return attempt


def get_attempt(public_id: str) -> Attempt:
    attempt = db.session.scalar(select(Attempt).where(Attempt.public_id == public_id))
    if attempt is None:
        raise NotFound("No such assessment session")
    return attempt


def close_attempt(attempt: Attempt, *, at: datetime, reason: str) -> None:
    """End an attempt (``reason``: "candidate" or "deadline"), in the caller's transaction."""
    attempt.finished_at = at
    attempt.finish_reason = reason
    attempt.invite.finished_at = at
    webhooks.attempt_completed(attempt, now=at)


def _close(attempt: Attempt, *, at: datetime, reason: str) -> None:
    close_attempt(attempt, at=at, reason=reason)
    db.session.commit()


def open_attempt(public_id: str, *, now: datetime, on_break: bool = False) -> Attempt:
    """The attempt if the candidate may still work on it; closes it once the deadline passed.

    Raises ``DeadlinePassed`` or ``AttemptClosed``; the clock is the server's, never the
    browser's. During a break, ``OnBreak`` (nothing is taken) unless ``on_break`` (the
    break's own page and its end).
    """
    attempt = get_attempt(public_id)
    if attempt.finished_at is None and now >= attempt.deadline:
        _close(attempt, at=attempt.deadline, reason="deadline")
    if attempt.finished_at is not None:
        if attempt.finish_reason == "deadline":
            raise DeadlinePassed(
                gettext("The time for this assessment ended at %(at)s.",
                        at=format_moment(attempt.deadline)),
                hint=gettext("Everything you submitted before then is kept and will be "
                             "reviewed."))
        raise AttemptClosed(gettext("You finished this assessment; nothing more can be "
                                    "submitted."),
                            hint=gettext("Your submissions are kept and will be reviewed."))
    if not on_break:
        clock.check_working(attempt, now)
    return attempt


def hold_attempt(attempt: Attempt) -> None:
    """Hold the attempt until the transaction ends, so that counting its pending jobs and
    adding one are a single step whatever else the candidate sends at the same time.

    A write that changes nothing is the one statement both databases lock on: PostgreSQL
    locks the row (a second request waits, then counts what the first added), SQLite
    takes its single write lock. ``SELECT … FOR UPDATE`` would lock nothing on SQLite.
    """
    db.session.execute(update(Attempt).where(Attempt.id == attempt.id)
                       .values(consent_at=Attempt.consent_at)
                       .execution_options(synchronize_session=False))


def finish_attempt(public_id: str, *, now: datetime) -> Attempt:
    attempt = open_attempt(public_id, now=now)
    _close(attempt, at=now, reason="candidate")
    return attempt


def challenge_statuses(attempt: Attempt) -> list[ChallengeStatus]:
    by_challenge: dict[int, list[Submission]] = {}
    for submission in attempt.submissions:
        by_challenge.setdefault(submission.challenge_id, []).append(submission)
    drafts: dict[int, list[Draft]] = {}
    for draft in db.session.scalars(select(Draft).where(Draft.attempt_id == attempt.id)):
        drafts.setdefault(draft.challenge_id, []).append(draft)
    claims = {c.challenge_id: c for c in db.session.scalars(
        select(DeadlineSubmission).where(DeadlineSubmission.attempt_id == attempt.id))}
    cards = []
    for challenge in attempt.invite.assessment.challenges:
        subs = by_challenge.get(challenge.id, [])
        latest = subs[-1] if subs else None
        draft_at = _unsubmitted_since(drafts.get(challenge.id, []), latest)
        claim = claims.get(challenge.id)
        if claim is not None and claim.submission_id is not None:
            draft_at = None  # the drafts were submitted
        cards.append(ChallengeStatus(challenge, len(subs), latest, draft_at, claim))
    return cards


def deadline_drafts_pending(attempt: Attempt) -> bool:
    """Time ran out with saved drafts the deadline job has yet to take (it submits them
    within seconds, or records why not): the attempt's work is not all in yet."""
    return attempt.finish_reason == "deadline" and any(
        card.awaiting_deadline_submission for card in challenge_statuses(attempt))


def work_complete(attempt: Attempt | None, results: Sequence[scoring.Standing]) -> bool:
    """The candidate's work is all in and graded: the attempt ended (finished, or closed at
    its deadline), no saved drafts wait for the deadline job, and no challenge is still
    being graded or stopped on a platform error (it waits for its re-run). What an ATS is
    called back on and what a candidate's feedback waits for."""
    return (attempt is not None and attempt.finished_at is not None
            and not any(r.pending or r.failed for r in results)
            and not deadline_drafts_pending(attempt))


def _unsubmitted_since(drafts: list[Draft], latest: Submission | None) -> datetime | None:
    """When the drafts were saved, if they hold work the latest submission doesn't."""
    if not drafts:
        return None
    saved_at = max(d.updated_at for d in drafts)
    if latest is None:
        return saved_at
    if latest.created_at >= saved_at:
        return None
    texts = {d.name: hashlib.sha256(d.content.encode("utf-8", "surrogatepass")).hexdigest()
             for d in drafts}
    return None if texts == {f.name: f.sha256 for f in latest.files} else saved_at


def assessment_challenge(attempt: Attempt, slug: str) -> Challenge:
    for challenge in attempt.invite.assessment.challenges:
        if challenge.slug == slug:
            return challenge
    raise NotFound(f"This assessment has no challenge {slug!r}")


def attempt_bundle(attempt: Attempt, challenge: Challenge, bundles: BundleCatalogue) -> Bundle:
    """The bundle as this attempt's candidate sees it: bound to the attempt's data variant.

    The variant is generated on first use and cached; a generator that fails makes the
    challenge unavailable (``NotFound``) rather than serving someone else's data.
    """
    bundle = bundles.for_challenge(challenge)
    try:
        return bind_variant(bundle, attempt.variant_seed, bundles.variants_dir)
    except VariantError as exc:
        log.error("variant of %s for attempt %s: %s", challenge.slug, attempt.public_id, exc)
        raise NotFound(f"The data of challenge {challenge.slug!r} is not available",
                       hint="Ask the person who invited you; the server could not prepare "
                            "your copy of the challenge data.") from exc


def changed_since(assessment_id: int, since: datetime) -> set[int]:
    """The ids of the assessment's attempts where something happened at ``since`` or later:
    started, finished, a submission made or graded, a review saved (for clients polling)."""
    touched_by_submission = select(Submission.attempt_id).where(
        or_(Submission.created_at >= since, Submission.finished_at >= since))
    touched_by_review = select(Review.attempt_id).where(Review.updated_at >= since)
    return set(db.session.scalars(
        select(Attempt.id).join(Invite, Invite.id == Attempt.invite_id)
        .where(Invite.assessment_id == assessment_id,
               or_(Attempt.started_at >= since, Attempt.finished_at >= since,
                   Attempt.id.in_(touched_by_submission), Attempt.id.in_(touched_by_review)))))
