"""Breaks: the candidate pauses the clock (within their accommodation's break allowance),
the workspace is hidden meanwhile, and they come back to it (``services/clock.py``)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from heldout.platform.errors import AttemptClosed, InvalidInput, OnBreak
from heldout.platform.services import attempts, clock
from heldout.platform.views.candidate.common import bound_attempt, bp
from heldout.platform.views.common import now


@bp.get("/a/<attempt_id>/break")
@bound_attempt
def on_break(attempt_id: str) -> ResponseReturnValue:
    """The paused clock: what is left, and the button to come back."""
    try:
        attempt = attempts.open_attempt(attempt_id, now=now(), on_break=True)
    except AttemptClosed:
        return redirect(url_for("candidate.done", attempt_id=attempt_id))
    at = now()
    taken = clock.current_break(attempt, at)
    if taken is None:
        return redirect(url_for("candidate.overview", attempt_id=attempt_id))
    # While on a break the stored deadline counts the whole allowance: take it back out.
    paused_left = attempt.deadline - (taken.ends_by - at) - at
    return render_template("candidate/break.html", attempt=attempt,
                           assessment=attempt.invite.assessment, taken=taken,
                           paused_left=paused_left, break_left=taken.ends_by - at,
                           on_break=True)


@bp.post("/a/<attempt_id>/break/start")
@bound_attempt
def break_start(attempt_id: str) -> ResponseReturnValue:
    """Pause the clock; the workspace is hidden until the break ends."""
    try:
        attempt = attempts.open_attempt(attempt_id, now=now())
        clock.start_break(attempt, now=now())
    except OnBreak:
        pass  # already on one (a second tab): show it
    except AttemptClosed:
        return redirect(url_for("candidate.done", attempt_id=attempt_id))
    except InvalidInput as exc:
        flash(exc.message, "error")
        return redirect(url_for("candidate.overview", attempt_id=attempt_id))
    return redirect(url_for("candidate.on_break", attempt_id=attempt_id), code=303)


@bp.post("/a/<attempt_id>/break/end")
@bound_attempt
def break_end(attempt_id: str) -> ResponseReturnValue:
    """Start the clock again, back where the candidate left."""
    try:
        attempt = attempts.open_attempt(attempt_id, now=now(), on_break=True)
    except AttemptClosed:
        return redirect(url_for("candidate.done", attempt_id=attempt_id))
    clock.end_break(attempt, now=now())
    return redirect(url_for("candidate.overview", attempt_id=attempt_id), code=303)
