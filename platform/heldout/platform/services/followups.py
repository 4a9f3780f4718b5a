"""Authorship follow-ups: a few short, timed questions about the candidate's own work once
they finish, generated from that work by rules (no language model), and their answers.

A question about a value (what does your ``roc_auc`` return for this call? how many rows
does your query return?) is computed by running the candidate's own code once in the
sandbox, as a queued job (``FollowupJob``), never in a request. A question in words (which
feature helped most? what does this part of your code do?) has no expected answer. Answers
and their timings are evidence for the report, never a score; the expected values are
shown to staff alone, and every input quoted comes from the public data.
"""

from __future__ import annotations

import ast
import json
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask_babel import gettext
from sqlalchemy import select

from heldout.graders.bundle import Bundle
from heldout.graders.console import read_console
from heldout.graders.console_input import ConsoleRequest
from heldout.graders.errors import GraderError, UnknownName
from heldout.graders.evaluate import evaluate as graders_evaluate
from heldout.graders.metrics import METRICS
from heldout.graders.result import Evaluation
from heldout.platform.blobs import BlobMissing, BlobStore, BundleVersionMissing
from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.extensions import db
from heldout.platform.i18n import format_moment, format_number
from heldout.platform.models import (
    Attempt,
    FollowupQuestion,
    PublicRun,
    Submission,
    SubmissionFile,
)
from heldout.platform.services import jobs
from heldout.platform.services.catalogue import BundleCatalogue
from heldout.platform.services.followup_questions import (
    Planned,
    choose,
    plan_for,
    seed_of,
)
from heldout.platform.services.public_runs import ConsoleEvaluate
from heldout.platform.services.scoring import (
    GradingStatus,
    counted_submission,
    latest_public_metric,
)

log = logging.getLogger(__name__)

# An answer this long after a question's limit is refused (before then it is kept, late).
CLOSES_AFTER = timedelta(minutes=10)
MAX_ANSWER_CHARS = 2000
class FollowupError(InvalidInput):
    """An answer that can't be taken; the message says why, in the candidate's words."""


def _texts(files: Iterable[SubmissionFile], blobs: BlobStore) -> dict[str, str]:
    texts = {}
    for item in files:
        try:
            texts[item.name] = blobs.get(item.sha256).decode("utf-8")
        except (BlobMissing, UnicodeDecodeError):
            continue
    return texts


def _starter(bundle: Bundle) -> dict[str, str]:
    root = Path(bundle.starter_dir)
    texts = {}
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            if path.is_file():
                try:
                    texts[str(path.relative_to(root))] = path.read_text(encoding="utf-8")
                except UnicodeDecodeError:
                    continue
    return texts


def _public_metric(attempt: Attempt, submission: Submission, bundle: Bundle) -> float | None:
    metric = str(getattr(bundle.grading, "metric", ""))
    if not metric:
        return None
    runs = db.session.scalars(select(PublicRun).where(
        PublicRun.attempt_id == attempt.id, PublicRun.challenge_id == submission.challenge_id,
        PublicRun.status == GradingStatus.GRADED, PublicRun.console.is_(None))
        .order_by(PublicRun.id))
    try:
        name = METRICS.get(metric).name
    except UnknownName:
        return None
    return latest_public_metric([run.evaluation or {} for run in runs], name)


def questions_of(attempt: Attempt) -> list[FollowupQuestion]:
    return list(db.session.scalars(select(FollowupQuestion).where(
        FollowupQuestion.attempt_id == attempt.id).order_by(FollowupQuestion.position)))


def prepare_followups(attempt: Attempt, *, bundles: BundleCatalogue, blobs: BlobStore,
                      queue: jobs.Queue, now: datetime) -> list[FollowupQuestion]:
    """The attempt's questions, made once it is finished when its assessment asks for them
    (nothing otherwise); the computed ones are queued. Calling it again changes nothing."""
    if not attempt.invite.assessment.followups or attempt.finished_at is None:
        return []
    existing = questions_of(attempt)
    if existing:
        return existing
    history: dict[int, list[Submission]] = {}
    for submission in attempt.submissions:
        history.setdefault(submission.challenge_id, []).append(submission)
    counting = attempt.invite.assessment.counting
    sources: list[tuple[Submission, Bundle]] = []
    plans: list[list[Planned]] = []
    for challenge in attempt.invite.assessment.challenges:
        sent = history.get(challenge.id, [])
        # The counted one; while grading is still under way, the last one they sent.
        counted = counted_submission(sent, counting) or (sent[-1] if sent else None)
        if counted is None:
            continue
        submission = counted
        try:
            bundle = bundles.at_version(submission.challenge_slug, submission.challenge_version)
        except (BundleVersionMissing, GraderError) as exc:
            log.warning("follow-ups of attempt %s: %s", attempt.public_id, exc)
            continue
        seed = seed_of(attempt.public_id, submission.id)
        sources.append((submission, bundle))
        plans.append(plan_for(bundle, _texts(submission.files, blobs), _starter(bundle),
                              public_metric=_public_metric(attempt, submission, bundle),
                              seed=seed))
    made: list[FollowupQuestion] = []
    for position, (index, planned) in enumerate(choose(plans), start=1):
        submission, _bundle = sources[index]
        row = FollowupQuestion(
            attempt=attempt, submission=submission, challenge_id=submission.challenge_id,
            challenge_slug=submission.challenge_slug,
            challenge_version=submission.challenge_version, position=position,
            answer_kind=planned.answer_kind, prompt=planned.prompt, quoted=planned.quoted,
            request=planned.request, time_limit_seconds=planned.time_limit_seconds,
            created_at=now,
            # A question in words has nothing to run: finished as soon as it exists.
            status=GradingStatus.QUEUED if planned.request else GradingStatus.GRADED,
            finished_at=None if planned.request else now)
        db.session.add(row)
        made.append(row)
    db.session.commit()
    for row in made:
        if row.request is not None:
            jobs.enqueue_committed(queue, FOLLOWUPS.kind, row.id)
    return made


# --- the candidate answers -------------------------------------------------------------


def deadline_of(question: FollowupQuestion) -> datetime | None:
    if question.shown_at is None:
        return None
    return question.shown_at + timedelta(seconds=question.time_limit_seconds)


def current_question(attempt: Attempt) -> FollowupQuestion | None:
    """The question shown and not answered yet, if any."""
    for question in questions_of(attempt):
        if question.shown_at is not None and question.answered_at is None:
            return question
    return None


def show_next(attempt: Attempt, *, now: datetime) -> FollowupQuestion | None:
    """Start the next question's clock (the one already shown, if unanswered); None: all
    are answered."""
    shown = current_question(attempt)
    if shown is not None:
        return shown
    for question in questions_of(attempt):
        if question.shown_at is None:
            question.shown_at = now
            db.session.commit()
            return question
    return None


def answer_question(attempt: Attempt, question_id: int, answer: str, *,
                    now: datetime) -> FollowupQuestion:
    """Keep the candidate's answer with its time; late past the limit, refused once the
    question closed, refused when too long, another attempt's question not found."""
    question = db.session.get(FollowupQuestion, question_id)
    if question is None or question.attempt_id != attempt.id:
        raise NotFound("There is no such question in your assessment.")
    deadline = deadline_of(question)
    if deadline is None:
        raise FollowupError(gettext("This question has not been shown to you yet."),
                            hint=gettext("Open the questions page to see it."))
    if question.answered_at is not None:
        raise FollowupError(gettext("You already answered this question; the first answer is "
                                    "kept."), hint=gettext("Go on to the next question."))
    if now > deadline + CLOSES_AFTER:
        raise FollowupError(
            gettext("This question closed at %(at)s; the answer was not kept.",
                    at=format_moment(deadline + CLOSES_AFTER)),
            hint=gettext("The team sees that it was not answered. Go on to the next "
                         "question."))
    text = answer.replace("\r\n", "\n").strip()
    if len(text) > MAX_ANSWER_CHARS:
        raise FollowupError(gettext("The answer is %(length)s characters long; up to %(most)s "
                                    "are taken.", length=format_number(len(text)),
                                    most=format_number(MAX_ANSWER_CHARS)),
                            hint=gettext("Shorten it and send it again: a few sentences are "
                                         "enough."), field="answer")
    question.answer = text
    question.answered_at = now
    question.late = now > deadline
    db.session.commit()
    return question


# --- the computed answer: the candidate's code, once, in the sandbox ------------------


class FollowupJob(jobs.LeasedJob[FollowupQuestion]):
    """A question's expected value: their code run once on its input, after other jobs."""

    kind = "compute_followup"
    name = "follow-up question"
    priority = -20
    workdir_prefix = "followup-"
    gave_up = "the follow-up run was interrupted {tries} times; gave up"

    @property
    def model(self) -> type[FollowupQuestion]:
        return FollowupQuestion

    def files(self, row: FollowupQuestion) -> Iterable[SubmissionFile]:
        return row.submission.files

    def request(self, row: FollowupQuestion) -> dict[str, Any] | None:
        return row.request

    def evaluate(self, bundle: Bundle, directory: Path,
                 request: dict[str, Any] | None = None) -> Evaluation:
        if request is None:
            return Evaluation.internal_error(bundle.slug, bundle.version,
                                             "a follow-up question with nothing to run")
        console: ConsoleEvaluate = self.evaluator or graders_evaluate
        return console(bundle, directory, split="public",
                       console=ConsoleRequest.from_dict(request))

    def record(self, row: FollowupQuestion, result: Evaluation, now: datetime,
               kept: list[dict[str, Any]]) -> None:
        shown: dict[str, Any] | None = None
        try:
            shown = read_console(result.artefacts) if result.status == "graded" else None
        except ValueError:
            shown = None
        row.expected = expected_of(shown) if shown is not None else None


FOLLOWUPS = FollowupJob()


def expected_of(shown: dict[str, Any]) -> dict[str, Any]:
    """What a console answer says the expected answer is: a value, a row count, or the
    error their code raised (itself worth showing)."""
    if shown.get("error"):
        return {"error": str(shown["error"])[:500]}
    if shown.get("mode") == "sql":
        return {"value": shown.get("row_count"), "capped": bool(shown.get("row_count_capped"))}
    return {"value_text": str(shown.get("value", ""))[:2000]}


# --- what the report shows -------------------------------------------------------------


@dataclass(frozen=True)
class FollowupView:
    """One question as staff read it: asked, answered (when, how fast), and expected."""

    position: int
    challenge_slug: str
    prompt: str
    quoted: str
    answer_kind: str
    answer: str | None
    seconds: int | None
    time_limit_seconds: int
    late: bool
    shown: bool
    expected: str | None
    state: str  # "waiting", "failed", "computed" or "" (nothing to compute)
    agrees: bool | None


def _expected_text(expected: dict[str, Any] | None) -> str | None:
    if expected is None:
        return None
    if "error" in expected:
        return f"their code raised: {expected['error']}"
    if "value_text" in expected:
        return str(expected["value_text"])
    value = expected.get("value")
    return f"{value}{'+' if expected.get('capped') else ''}"


def agrees(answer: str | None, expected: dict[str, Any] | None) -> bool | None:
    """Whether a value answer equals the computed one (numbers within 1e-6); None when
    there is nothing to compare."""
    if not answer or expected is None or "error" in expected:
        return None
    if "value_text" in expected:
        try:
            want = json.loads(str(expected["value_text"]))
        except ValueError:
            return None
    else:
        want = expected.get("value")
    try:
        got = ast.literal_eval(answer.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        try:
            got = json.loads(answer)
        except ValueError:
            return answer.strip() == str(want)
    return _same(got, want)


def _same(got: Any, want: Any) -> bool:
    if isinstance(got, bool) or isinstance(want, bool):
        return bool(got == want)
    if isinstance(got, int | float) and isinstance(want, int | float):
        return bool(math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9))
    if isinstance(got, list | tuple) and isinstance(want, list | tuple):
        return len(got) == len(want) and all(_same(a, b) for a, b in zip(got, want, strict=True))
    if isinstance(got, dict) and isinstance(want, dict):
        return bool(got.keys() == want.keys() and all(_same(got[k], want[k]) for k in got))
    return bool(got == want)


def followup_views(attempt: Attempt) -> list[FollowupView]:
    views = []
    for q in questions_of(attempt):
        seconds = None
        if q.shown_at is not None and q.answered_at is not None:
            seconds = int((q.answered_at - q.shown_at).total_seconds())
        if q.request is None:
            state = ""
        elif q.status == GradingStatus.GRADED:
            state = "computed"
        elif q.status == GradingStatus.INTERNAL_ERROR and q.retry_at is None:
            state = "failed"
        else:
            state = "waiting"
        views.append(FollowupView(
            position=q.position, challenge_slug=q.challenge_slug, prompt=q.prompt,
            quoted=q.quoted, answer_kind=q.answer_kind, answer=q.answer, seconds=seconds,
            time_limit_seconds=q.time_limit_seconds, late=q.late, shown=q.shown_at is not None,
            expected=_expected_text(q.expected),
            agrees=agrees(q.answer, q.expected) if q.answer_kind == "value" else None,
            state=state))
    return views
