"""Feedback to candidates: once an attempt is complete, the candidate reads their own
results, on their done page and in one e-mail.

Off unless the assessment turns it on (``Assessment.feedback_to_candidates``). It waits for
the rule an ATS is called back on (``attempts.work_complete``: finished, no drafts the
deadline job still has to submit, nothing still being graded, every platform error re-run:
a challenge that failed on the platform has no score yet, and a zero would be wrong).
What it shows, per challenge: the counted score, each check's name and whether it passed
with the registry's one line on what that check is, how the kind grades and the metric's
baseline and target from the bundle. Never a check's detail (a function's
failed case quotes the hidden expected value, a metric's detail the value on hidden labels),
never a run's output (it ran on hidden data), never the accommodation: time used is a share
of the candidate's own limit.

The e-mail: a ``FeedbackMail`` row, written once, in the transaction that ends the attempt
(``feedback_due``, called by ``webhooks.on_progress``); the worker's task each minute
(``send_due``) sends it once the feedback is ready (so a grading, a deadline submission or
a re-run still to come only delays it), with retries. One per attempt, ever: a regrade that
changes a score updates the done page, not the inbox (a second e-mail about the same
assessment would read as a correction the hiring team did not send).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from heldout.graders.checks import explain
from heldout.graders.errors import UnknownName
from heldout.graders.kinds import KINDS
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, FeedbackMail
from heldout.platform.services import clock, mail
from heldout.platform.services.attempts import work_complete
from heldout.platform.services.charts import MetricScaleView
from heldout.platform.services.invites import contact_of
from heldout.platform.services.reports import ChallengeResult, challenge_results, metric_scales
from heldout.platform.services.scoring import total_score

log = logging.getLogger(__name__)

# Seconds before the 2nd, 3rd, … try when the SMTP server can't be reached; then failed.
RETRY_SECONDS = (60, 300, 1800, 7200)
MAX_TRIES = len(RETRY_SECONDS) + 1
# How long a worker holds a mail it is sending before another may take it (a worker that
# died mid-send): past any SMTP timeout.
SENDING_LEASE_SECONDS = 600
# Mails sent per run of the worker's task (one SMTP connection).
BATCH = 50
# Seconds before a mail whose feedback is not ready yet is looked at again: soon while
# grading normally finishes, then hourly (a platform error waiting for a re-run).
NOT_READY_SECONDS = 60
NOT_READY_AFTER_AN_HOUR_SECONDS = 3600


@dataclass(frozen=True)
class CheckFeedback:
    """A check as the candidate reads it: its name and verdict, and what such a check is."""

    name: str
    passed: bool
    explanation: str


@dataclass(frozen=True)
class ChallengeFeedback:
    title: str
    submitted: bool
    score: float | None           # the counted score (None: nothing submitted)
    how: str                      # how the challenge's kind is graded
    checks: tuple[CheckFeedback, ...]
    scales: tuple[MetricScaleView, ...]  # a metric's baseline (0) and target (full score)


@dataclass(frozen=True)
class Feedback:
    """What the candidate may read about their attempt; ``ready`` once it is complete."""

    ready: bool
    counting: str                 # ``scoring.Counting``: which submission counts
    challenges: tuple[ChallengeFeedback, ...] = ()
    total: float | None = None
    time_used_percent: int | None = None  # of the candidate's own limit


def _how(kind: str) -> str:
    try:
        return KINDS.get(kind).summary
    except UnknownName:
        return ""


def _challenge(result: ChallengeResult) -> ChallengeFeedback:
    evaluation = result.evaluation
    checks: tuple[CheckFeedback, ...] = ()
    if evaluation is not None:
        # Name and verdict only: a check's detail can quote hidden expected values. What a
        # type of check is, once per challenge (a function's groups share one line).
        said: set[str] = set()
        found = []
        for check in evaluation.checks or []:
            name = str(check.get("name", ""))
            about = explain(name, str(check.get("kind", "")), to_candidate=True)
            found.append(CheckFeedback(name, bool(check.get("passed")),
                                       "" if about in said else about))
            said.add(about)
        checks = tuple(found)
    challenge = result.challenge
    return ChallengeFeedback(challenge.title, bool(result.history), result.score,
                             _how(challenge.kind), checks,
                             metric_scales(challenge.slug, result.graded_version, {}))


def _time_used_percent(attempt: Attempt, now: datetime) -> int:
    # ``time_used`` is on the assessment's clock, so the share is the same against the
    # candidate's own limit, and the accommodation behind that limit never shows.
    limit = timedelta(minutes=attempt.invite.assessment.time_limit_minutes)
    return min(100, round(100 * clock.time_used(attempt, now) / limit))


def _results(attempt: Attempt) -> list[ChallengeResult]:
    assessment = attempt.invite.assessment
    return challenge_results(attempt, assessment.challenges, assessment.counting)


def feedback_for(attempt: Attempt, *, now: datetime) -> Feedback | None:
    """The candidate's feedback, or None when the assessment gives none. Until the attempt
    is complete, not ``ready`` (and empty)."""
    assessment = attempt.invite.assessment
    if not assessment.feedback_to_candidates:
        return None
    results = _results(attempt)
    if not work_complete(attempt, results):
        return Feedback(False, assessment.counting)
    return Feedback(True, assessment.counting, tuple(_challenge(r) for r in results),
                    total_score(results), _time_used_percent(attempt, now))


# --- the e-mail ------------------------------------------------------------------------

def feedback_due(attempt: Attempt, now: datetime) -> FeedbackMail | None:
    """Write the attempt's feedback e-mail if the assessment gives feedback, the attempt has
    ended, and none was written before; in the caller's transaction (sent once the feedback
    is ready). Registered with ``webhooks.on_progress`` (app.py)."""
    if not attempt.invite.assessment.feedback_to_candidates or attempt.finished_at is None:
        return None
    if db.session.scalar(select(FeedbackMail.id).where(
            FeedbackMail.attempt_id == attempt.id)) is not None:
        return None  # once per attempt: a regrade changes the done page, not the inbox
    row = FeedbackMail(attempt_id=attempt.id, status="pending", tries=0, next_try_at=now,
                       created_at=now, error="")
    db.session.add(row)
    return row


def _claim(row_id: int, now: datetime) -> bool:
    """Take one due mail for this worker; False: another took it first."""
    taken = db.session.execute(
        update(FeedbackMail).where(FeedbackMail.id == row_id,
                                   FeedbackMail.status.in_(("pending", "sending")),
                                   FeedbackMail.next_try_at <= now)
        .values(status="sending",
                next_try_at=now + timedelta(seconds=SENDING_LEASE_SECONDS)))
    db.session.commit()
    return bool(getattr(taken, "rowcount", 0))


def _outgoing(row: FeedbackMail, *, org_name: str, now: datetime) -> mail.Outgoing:
    attempt = row.attempt
    invite = attempt.invite
    feedback = feedback_for(attempt, now=now)
    return mail.Outgoing(invite.candidate_name, invite.candidate_email, "feedback", {
        "org_name": org_name, "assessment": invite.assessment.name, "feedback": feedback,
        "contact": contact_of(invite)})


@dataclass(frozen=True)
class SendRun:
    sent: int
    failed: int
    retrying: int
    unsent: int
    waiting: int = 0  # due, but the feedback is not ready yet


def send_due(smtp: mail.SmtpSettings | None, *, org_name: str, now: datetime) -> SendRun:
    """Send the feedback e-mails that are due, over one connection (the worker's task, each
    minute). With no SMTP server configured they are marked ``unsent`` (the done page has
    the feedback; configuring a server later sends no stale mail)."""
    due = list(db.session.scalars(select(FeedbackMail).where(
        or_(FeedbackMail.status == "pending", FeedbackMail.status == "sending"),
        FeedbackMail.next_try_at <= now).order_by(FeedbackMail.next_try_at, FeedbackMail.id)
        .limit(BATCH)))
    if smtp is None:
        for row in due:
            row.status, row.error = "unsent", "no SMTP server is configured"
        db.session.commit()
        return SendRun(0, 0, 0, len(due))
    claimed = []
    waiting = unsent = 0
    for row in due:
        if not row.attempt.invite.assessment.feedback_to_candidates:
            row.status, row.error = "unsent", "the assessment stopped giving feedback"
            db.session.commit()
            unsent += 1
        elif not work_complete(row.attempt, _results(row.attempt)):
            young = now - row.created_at < timedelta(hours=1)
            row.next_try_at = now + timedelta(seconds=NOT_READY_SECONDS if young
                                              else NOT_READY_AFTER_AN_HOUR_SECONDS)
            db.session.commit()
            waiting += 1
        elif _claim(row.id, now):
            claimed.append(row)
    if not claimed:
        return SendRun(0, 0, 0, unsent, waiting)
    outgoing = [_outgoing(row, org_name=org_name, now=now) for row in claimed]
    try:
        errors: list[str | None] = mail.send_all(smtp, outgoing)
        reachable = True
    except mail.MailError as exc:
        errors, reachable = [str(exc)] * len(claimed), False
    sent = failed = retrying = 0
    for row, error in zip(claimed, errors, strict=True):
        row.tries += 1
        if error is None:
            row.status, row.sent_at, row.error = "sent", now, ""
            sent += 1
        elif reachable or row.tries >= MAX_TRIES:
            # The server refused this address or message: trying again would not help.
            row.status, row.error = "failed", error[:2000]
            failed += 1
        else:
            row.status, row.error = "pending", error[:2000]
            row.next_try_at = now + timedelta(seconds=RETRY_SECONDS[row.tries - 1])
            retrying += 1
    db.session.commit()
    if failed or retrying:
        log.warning("feedback e-mail: %s sent, %s failed, %s to retry", sent, failed, retrying)
    return SendRun(sent, failed, retrying, unsent, waiting)
