"""The authorship follow-up questions a candidate answers after finishing, one at a time."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from heldout.platform.errors import AttemptClosed, NotFound
from heldout.platform.models import Attempt
from heldout.platform.queue import get_queue
from heldout.platform.services import attempts, catalogue, followups
from heldout.platform.views.candidate.common import bound_attempt, bp, check_form_token
from heldout.platform.views.common import blob_store, now


def _finished(attempt_id: str) -> Attempt | None:
    """The attempt once finished (by the candidate or the deadline), of an assessment that
    asks follow-ups (else 404); None while it is still open."""
    attempt = attempts.get_attempt(attempt_id)
    if not attempt.invite.assessment.followups:
        raise NotFound("This assessment has no follow-up questions.")
    try:
        attempts.open_attempt(attempt_id, now=now())  # closes it once the deadline passed
    except AttemptClosed:
        return attempt
    return None


def _page(attempt: Attempt, *, error: Exception | None = None,
          answer: str = "", status: int = 200) -> ResponseReturnValue:
    questions = followups.questions_of(attempt)
    current = followups.current_question(attempt)
    return render_template(
        "candidate/followups.html", attempt=attempt, assessment=attempt.invite.assessment,
        questions=questions, current=current,
        deadline=followups.deadline_of(current) if current is not None else None,
        answered=sum(1 for q in questions if q.answered_at is not None),
        error=error, answer=answer, max_chars=followups.MAX_ANSWER_CHARS), status


@bp.get("/a/<attempt_id>/followups")
@bound_attempt
def followup_page(attempt_id: str) -> ResponseReturnValue:
    """Where the candidate is in the questions: the one shown, or the start, or the end."""
    attempt = _finished(attempt_id)
    if attempt is None:
        return redirect(url_for("candidate.overview", attempt_id=attempt_id))
    return _page(attempt)


@bp.post("/a/<attempt_id>/followups/next")
@bound_attempt
def followup_next(attempt_id: str) -> ResponseReturnValue:
    """Make the questions (the first time) and start the next one's clock."""
    check_form_token()
    attempt = _finished(attempt_id)
    if attempt is None:
        return redirect(url_for("candidate.overview", attempt_id=attempt_id))
    followups.prepare_followups(attempt, bundles=catalogue.get_bundles(), blobs=blob_store(),
                                queue=get_queue(), now=now())
    followups.show_next(attempt, now=now())
    return redirect(url_for("candidate.followup_page", attempt_id=attempt_id))


@bp.post("/a/<attempt_id>/followups/<int:question_id>")
@bound_attempt
def followup_answer(attempt_id: str, question_id: int) -> ResponseReturnValue:
    """Keep an answer with its time (late past the limit), then go on."""
    check_form_token()
    attempt = _finished(attempt_id)
    if attempt is None:
        return redirect(url_for("candidate.overview", attempt_id=attempt_id))
    answer = request.form.get("answer", "")
    try:
        followups.answer_question(attempt, question_id, answer, now=now())
    except followups.FollowupError as exc:
        return _page(attempt, error=exc, answer=answer[:followups.MAX_ANSWER_CHARS], status=400)
    followups.show_next(attempt, now=now())
    return redirect(url_for("candidate.followup_page", attempt_id=attempt_id))
