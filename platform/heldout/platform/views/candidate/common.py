"""What every candidate page shares: the blueprint, the browser's binding to one attempt,
the form-token check and the rate limits."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar, cast

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    session,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from limits import RateLimitItem, parse_many

from heldout.platform.errors import (
    InvalidInput,
    TooManySubmissions,
)
from heldout.platform.extensions import csrf, limiter
from heldout.platform.i18n import N_
from heldout.platform.models import Attempt, Invite
from heldout.platform.services import (
    attempts,
    clock,
    invites,
)
from heldout.platform.views.common import now

bp = Blueprint("candidate", __name__)
log = logging.getLogger(__name__)

SESSION_KEY = "attempt"
# The fingerprint of the link this browser was bound with (invites.link_fingerprint).
LINK_KEY = "link"
# The link this browser exchanged (its hash: unguessable), until it starts or continues.
INVITE_KEY = "invite"
F = TypeVar("F", bound=Callable[..., Any])
# Per challenge, the digest of the notebook this browser uploaded and kept as the draft:
# the cell editor shows it read-only until the candidate chooses to edit it.
UPLOADED_KEY = "uploaded"


@bp.context_processor
def _clock_controls() -> dict[str, Any]:
    """For the top bar: the break time the candidate may still take (zero: no button)."""
    def break_time_left(attempt: Attempt) -> timedelta:
        return clock.break_left(attempt, now())
    return {"break_time_left": break_time_left}


def find_invite(token: str) -> Invite:
    config = current_app.config
    return invites.find_invite(token, secret=config["SECRET_KEY"],
                               max_age_seconds=int(config["HELDOUT_INVITE_TTL_DAYS"]) * 86400,
                               now=now(), attempt_in_session=session.get(SESSION_KEY))


def no_referrer(response: ResponseReturnValue) -> Response:
    answer = current_app.make_response(response)
    answer.headers["Referrer-Policy"] = "no-referrer"
    return answer


def check_bound(attempt_id: str) -> None:
    """Only the browser bound to the attempt (by Start, or by a resent link since) may
    reach it; one bound before a resent link was opened elsewhere is told so."""
    if session.get(SESSION_KEY) != attempt_id:
        abort(404)
    invites.check_binding(attempt_id, session.get(LINK_KEY))


def bound_attempt(view: F) -> F:
    """The attempt's pages are for its browser alone (``check_bound``)."""

    @wraps(view)
    def wrapped(attempt_id: str, *args: Any, **kwargs: Any) -> Any:
        check_bound(attempt_id)
        return view(attempt_id, *args, **kwargs)

    return cast(F, wrapped)


def open_attempt(attempt_id: str) -> Attempt:
    return attempts.open_attempt(attempt_id, now=now())


def check_form_token() -> None:
    """The CSRF check the app applies elsewhere, made here so a refusal keeps the code."""
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    try:
        csrf.protect()
    except CSRFError:
        raise InvalidInput(gettext("This page could not be verified, so the submission was "
                                   "not taken (the page may come from an earlier session)."),
                           hint=gettext("Your code is still in the editor: press Submit again.")
                           ) from None


# A rate limit's period in words, alone ("per minute") and as a multiple ("per 10 minutes").
PERIODS = {"second": (N_("second"), N_("%(num)s seconds")),
           "minute": (N_("minute"), N_("%(num)s minutes")),
           "hour": (N_("hour"), N_("%(num)s hours")), "day": (N_("day"), N_("%(num)s days")),
           "month": (N_("month"), N_("%(num)s months")), "year": (N_("year"), N_("%(num)s years"))}


def describe_limit(limit: RateLimitItem) -> str:
    """A limit in the page's words: "6 per minute", "60 per 10 minutes"."""
    one, several = PERIODS[limit.GRANULARITY.name]
    period = gettext(one) if limit.multiples == 1 else gettext(several, num=limit.multiples)
    return str(gettext("%(amount)s per %(period)s", amount=limit.amount, period=period))


def submit_limits() -> list[str]:
    """The submit limits in words, for the page: ["6 per minute", "60 per hour"]."""
    return [describe_limit(limit) for limit in parse_many(current_app.config["HELDOUT_SUBMIT_LIMIT"])]


def public_run_limits() -> list[str]:
    return [describe_limit(limit)
            for limit in parse_many(current_app.config["HELDOUT_PUBLIC_RUN_LIMIT"])]


def check_submit_rate(attempt_id: str) -> None:
    check_rate("HELDOUT_SUBMIT_LIMIT", "submit", attempt_id,
               N_("Submissions are limited to %(limit)s, and this attempt reached that."),
               N_("Submit again in %(wait)s seconds; your code is still in the editor."))


def check_rate(setting: str, scope: str, attempt_id: str, message: str, hint: str) -> None:
    """Count one use of ``scope`` by the attempt; over ``setting``'s limits, refuse it with
    ``message`` and ``hint`` (catalogue messages naming ``%(limit)s`` and ``%(wait)s``)."""
    strategy = limiter.limiter
    try:
        refused = [limit for limit in parse_many(current_app.config[setting])
                   if not strategy.hit(limit, scope, attempt_id)]
        reset = max((strategy.get_window_stats(limit, scope, attempt_id).reset_time
                     for limit in refused), default=0.0)
    except Exception:  # the counts' storage is down: the pending cap still holds
        log.warning("%s rate limit not checked: storage unavailable", scope, exc_info=True)
        return
    if refused:
        wait = max(1, int(reset - time.time()) + 1)
        raise TooManySubmissions(gettext(message, limit=describe_limit(refused[0])),
                                 hint=gettext(hint, wait=wait), retry_after=wait)
