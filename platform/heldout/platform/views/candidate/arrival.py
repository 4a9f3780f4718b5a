"""Arriving: the invite link, the landing page, and starting (or continuing) the attempt."""

from __future__ import annotations

from flask import (
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from heldout.platform import i18n, markdown
from heldout.platform.errors import (
    InvalidInput,
)
from heldout.platform.models import Attempt, Invite
from heldout.platform.services import (
    assessments,
    attempts,
    clock,
    invites,
    self_identification,
)
from heldout.platform.views.candidate.common import (
    INVITE_KEY,
    LINK_KEY,
    SESSION_KEY,
    bp,
    find_invite,
    no_referrer,
)
from heldout.platform.views.common import now


@bp.get("/i/<token>")
def landing(token: str) -> ResponseReturnValue:
    """The link from the e-mail: swap its token for this browser's session, then drop it.

    Only this one request carries the token; the page the candidate reads, its assets and
    every later request go to token-less URLs, so no Referer or access log repeats it.
    Nothing is taken here: a link to continue is taken by the page's button (a POST).
    """
    invite = find_invite(token)
    if invite.attempt is not None and not invites.continues_elsewhere(invite):
        # The browser bound to the attempt, back through its own link.
        return no_referrer(redirect(url_for("candidate.overview",
                                             attempt_id=invite.attempt.public_id)))
    session[INVITE_KEY] = invite.token_hash
    if invite.attempt is None:
        invites.mark_opened(invite, now=now())
    return no_referrer(redirect(url_for("candidate.welcome"), code=303))


def _invite_in_session() -> Invite:
    return invites.invite_in_session(session.get(INVITE_KEY), now=now(),
                                     attempt_in_session=session.get(SESSION_KEY))


@bp.get("/invite")
def welcome() -> ResponseReturnValue:
    """What the candidate sees first: what the assessment is, the data notice, Start; or,
    for a link to continue a started attempt, what moves to this browser and Continue."""
    if session.get(SESSION_KEY) and session.get(INVITE_KEY) is None:
        # Started already (Back after Start): the attempt, not an error.
        return redirect(url_for("candidate.overview", attempt_id=session[SESSION_KEY]))
    invite = _invite_in_session()
    if invite.attempt is not None and invites.continues_elsewhere(invite):
        return no_referrer(render_template("candidate/continue.html", invite=invite,
                                            assessment=invite.assessment,
                                            attempt=invite.attempt, now=now()))
    if invite.attempt is not None:
        return redirect(url_for("candidate.overview", attempt_id=invite.attempt.public_id))
    return no_referrer(_landing(invite, error=None))


def _landing(invite: Invite, *, error: Exception | None) -> str:
    return render_template("candidate/landing.html", invite=invite, assessment=invite.assessment,
                           written=assessments.what_candidates_write(invite.assessment),
                           environment=markdown.environment_paragraph(), error=error,
                           idle_minutes=current_app.config["HELDOUT_IDLE_GAP_MINUTES"],
                           minutes_allowed=round(clock.time_allowed(invite).total_seconds() / 60),
                           break_allowance=clock.break_allowance(invite),
                           questions=self_identification.questions(),
                           prefer_not=self_identification.PREFER_NOT_TO_SAY,
                           chosen=request.form if request.method == "POST" else {},
                           practice=bool(current_app.config["HELDOUT_PRACTICE_CHALLENGE"]))


def _start(invite: Invite) -> ResponseReturnValue:
    if invite.attempt is not None and invites.continues_elsewhere(invite):
        # A link to continue, confirmed: this browser takes the attempt over.
        attempt = invite.attempt
        _bind(attempt, invites.take_over(invite, now=now()))
        return redirect(url_for("candidate.overview", attempt_id=attempt.public_id))
    try:
        answers = self_identification.answers_from(request.form,
                                                   self_identification.questions())
        attempt = attempts.start_attempt(invite, consent=request.form.get("consent") == "on",
                                         now=now(), self_identified=answers)
    except InvalidInput as exc:
        return no_referrer((_landing(invite, error=exc), 400))
    fingerprint = invites.take_over(invite, now=now()) if invites.continues_elsewhere(invite) \
        else invites.link_fingerprint(invite)
    _bind(attempt, fingerprint)
    return redirect(url_for("candidate.overview", attempt_id=attempt.public_id))


def _bind(attempt: Attempt, fingerprint: str) -> None:
    """This browser, and only it, works on ``attempt`` from now on (in the language it chose)."""
    language = session.get(i18n.CHOICE_KEY)
    session.clear()
    if language is not None:
        session[i18n.CHOICE_KEY] = language
    session[SESSION_KEY] = attempt.public_id
    session[LINK_KEY] = fingerprint
    session.permanent = True


@bp.post("/invite")
def start() -> ResponseReturnValue:
    """Consent given: start the clock and bind this browser to the attempt (or, for a link
    to continue, move the running attempt to this browser)."""
    return _start(_invite_in_session())


@bp.post("/i/<token>")
def start_from_link(token: str) -> ResponseReturnValue:
    """Start straight from the link (a landing page opened before links were exchanged)."""
    return _start(find_invite(token))
