"""Candidate pages: invite landing, overview, workspace, downloads, submit, finish.

The workspace's JSON (live status, drafts) and its event stream live in views/api/.

A browser is bound to one attempt (``session["attempt"]``); any other attempt's URL is
answered 404, as if it did not exist. A resent link moves the attempt to the browser that
opens it and confirms (a POST: following a link, as a mail scanner does, changes nothing):
the one bound before is then told so (``session["link"]`` no longer matches).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from functools import wraps
from typing import Any, TypeVar, cast

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from limits import RateLimitItem, parse_many

from heldout.graders.errors import ServedFileNotFound
from heldout.graders.serving import AREAS, public_files, served_file, starter_files
from heldout.platform import markdown
from heldout.platform.errors import (
    AttemptClosed,
    InvalidInput,
    PlatformError,
    PublicRunsUsedUp,
    TooManySubmissions,
)
from heldout.platform.extensions import csrf, limiter
from heldout.platform.http import status_of
from heldout.platform.models import Attempt, Invite
from heldout.platform.queue import get_queue
from heldout.platform.services import (
    assessments,
    attempts,
    catalogue,
    console_runs,
    drafts,
    invites,
    live,
    problem_reports,
    public_runs,
    submissions,
)
from heldout.platform.views.common import blob_store, now
from heldout.sandbox.environment import environment_paragraph

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


def _find_invite(token: str) -> Invite:
    config = current_app.config
    return invites.find_invite(token, secret=config["SECRET_KEY"],
                               max_age_seconds=int(config["HELDOUT_INVITE_TTL_DAYS"]) * 86400,
                               now=now(), attempt_in_session=session.get(SESSION_KEY))


def _no_referrer(response: ResponseReturnValue) -> Response:
    answer = current_app.make_response(response)
    answer.headers["Referrer-Policy"] = "no-referrer"
    return answer


@bp.get("/i/<token>")
def landing(token: str) -> ResponseReturnValue:
    """The link from the e-mail: swap its token for this browser's session, then drop it.

    Only this one request carries the token; the page the candidate reads, its assets and
    every later request go to token-less URLs, so no Referer or access log repeats it.
    Nothing is taken here: a link to continue is taken by the page's button (a POST).
    """
    invite = _find_invite(token)
    if invite.attempt is not None and not invites.continues_elsewhere(invite):
        # The browser bound to the attempt, back through its own link.
        return _no_referrer(redirect(url_for("candidate.overview",
                                             attempt_id=invite.attempt.public_id)))
    session[INVITE_KEY] = invite.token_hash
    if invite.attempt is None:
        invites.mark_opened(invite, now=now())
    return _no_referrer(redirect(url_for("candidate.welcome"), code=303))


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
        return _no_referrer(render_template("candidate/continue.html", invite=invite,
                                            assessment=invite.assessment,
                                            attempt=invite.attempt, now=now()))
    if invite.attempt is not None:
        return redirect(url_for("candidate.overview", attempt_id=invite.attempt.public_id))
    return _no_referrer(_landing(invite, error=None))


def _landing(invite: Invite, *, error: Exception | None) -> str:
    return render_template("candidate/landing.html", invite=invite, assessment=invite.assessment,
                           written=assessments.what_candidates_write(invite.assessment),
                           environment=environment_paragraph(), error=error)


def _start(invite: Invite) -> ResponseReturnValue:
    if invite.attempt is not None and invites.continues_elsewhere(invite):
        # A link to continue, confirmed: this browser takes the attempt over.
        attempt = invite.attempt
        _bind(attempt, invites.take_over(invite, now=now()))
        return redirect(url_for("candidate.overview", attempt_id=attempt.public_id))
    try:
        attempt = attempts.start_attempt(invite, consent=request.form.get("consent") == "on",
                                         now=now())
    except InvalidInput as exc:
        return _no_referrer((_landing(invite, error=exc), 400))
    fingerprint = invites.take_over(invite, now=now()) if invites.continues_elsewhere(invite) \
        else invites.link_fingerprint(invite)
    _bind(attempt, fingerprint)
    return redirect(url_for("candidate.overview", attempt_id=attempt.public_id))


def _bind(attempt: Attempt, fingerprint: str) -> None:
    """This browser, and only it, works on ``attempt`` from now on."""
    session.clear()
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
    return _start(_find_invite(token))


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


def _open(attempt_id: str) -> Attempt:
    return attempts.open_attempt(attempt_id, now=now())


@bp.get("/a/<attempt_id>/")
@bound_attempt
def overview(attempt_id: str) -> ResponseReturnValue:
    """The challenges as cards, with the countdown and Finish."""
    try:
        attempt = _open(attempt_id)
    except AttemptClosed:
        return redirect(url_for("candidate.done", attempt_id=attempt_id))
    return render_template("candidate/overview.html", attempt=attempt,
                           assessment=attempt.invite.assessment,
                           cards=attempts.challenge_statuses(attempt))


def _workspace(attempt: Attempt, slug: str, *, code: str | None = None,
               extra: list[drafts.DraftFile] | None = None,
               error: Exception | None = None, status: int = 200,
               closed: bool = False, console_typed: Mapping[str, str] | None = None,
               console_error: Exception | None = None,
               problem: problem_reports.ProblemInput | None = None,
               problem_error: PlatformError | None = None) -> ResponseReturnValue:
    challenge = attempts.assessment_challenge(attempt, slug)
    bundle = attempts.attempt_bundle(attempt, challenge, catalogue.get_bundles())
    entrypoint = bundle.submission.entrypoint
    opened = drafts.editor_files(attempt, challenge, bundle, blob_store())
    files = list(opened.files)
    if code is not None:  # a refused form: what the candidate sent, not what was saved
        files = [drafts.DraftFile(entrypoint, code), *(extra or [])]
    assessment = attempt.invite.assessment
    state = live.workspace_state(attempt, challenge.id, now=now())
    latest_run = public_runs.latest_public_run(attempt, challenge.id)
    uploaded = session.get(UPLOADED_KEY, {}).get(slug)
    shown_upload = bool(code is None and opened.source == "draft" and files and uploaded
                        and drafts.text_digest(files[0].content) == uploaded)
    return render_template(
        "candidate/workspace.html", attempt=attempt, assessment=assessment,
        challenge=challenge, bundle=bundle, statement=markdown.render_statement(bundle.statement),
        public=public_files(bundle), starter=starter_files(bundle), entrypoint=entrypoint,
        accepted=bundle.submission.describe(), files=drafts.editor_tabs(bundle, files),
        opened=opened,
        code=files[0].content if files else "", error=error, closed=closed,
        several_files=drafts.several_files(bundle), allowed=bundle.submission.allowed,
        max_files=bundle.submission.max_files, max_bytes=bundle.submission.max_bytes,
        counting=live.counting_sentence(assessment.counting),
        max_pending=current_app.config["HELDOUT_MAX_PENDING_SUBMISSIONS"],
        submit_limits=submit_limits(), public_limits=public_run_limits(),
        public_run=None if latest_run is None else public_runs.public_run_view(latest_run,
                                                                              now=now()),
        cell_outputs=public_runs.cell_outputs(latest_run, blob_store()),
        notebook=entrypoint.endswith(".ipynb"), shown_upload=shown_upload, state=state,
        public_budget=public_runs.public_budget(attempt, challenge, bundle),
        console=console_runs.console_form(bundle, attempt, challenge.id, now=now(),
                                          typed=console_typed, error=console_error),
        statuses=state["submissions"],
        latest=state["submissions"][0] if state["submissions"] else None,
        problem=problem, problem_error=problem_error,
        problem_categories=problem_reports.CATEGORIES,
        problem_max=problem_reports.MAX_TEXT), status


@bp.get("/a/<attempt_id>/c/<slug>")
@bound_attempt
def workspace(attempt_id: str, slug: str) -> ResponseReturnValue:
    """Statement, downloads, the editor and the submissions of one challenge."""
    try:
        attempt = _open(attempt_id)
    except AttemptClosed:
        return redirect(url_for("candidate.done", attempt_id=attempt_id))
    return _workspace(attempt, slug)


@bp.get("/a/<attempt_id>/c/<slug>/files/<area>/<path:name>")
@bound_attempt
def download(attempt_id: str, slug: str, area: str, name: str) -> ResponseReturnValue:
    """A public data or starter file; names are looked up in a listing, never joined."""
    attempt = _open(attempt_id)
    challenge = attempts.assessment_challenge(attempt, slug)
    if area not in AREAS:
        abort(404)
    bundle = attempts.attempt_bundle(attempt, challenge, catalogue.get_bundles())
    try:
        item = served_file(bundle, area, name)
    except ServedFileNotFound:
        abort(404)
    return send_file(item.path, as_attachment=True, download_name=item.name.rsplit("/", 1)[-1],
                     max_age=0)


def _check_form_token() -> None:
    """The CSRF check the app applies elsewhere, made here so a refusal keeps the code."""
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    try:
        csrf.protect()
    except CSRFError:
        raise InvalidInput("This page could not be verified, so the submission was not "
                           "taken (the page may come from an earlier session).",
                           hint="Your code is still in the editor: press Submit again.") from None


def _describe(limit: RateLimitItem) -> str:
    unit = limit.GRANULARITY.name
    period = unit if limit.multiples == 1 else f"{limit.multiples} {unit}s"
    return f"{limit.amount} per {period}"


def submit_limits() -> list[str]:
    """The submit limits in words, for the page: ["6 per minute", "60 per hour"]."""
    return [_describe(limit) for limit in parse_many(current_app.config["HELDOUT_SUBMIT_LIMIT"])]


def public_run_limits() -> list[str]:
    return [_describe(limit)
            for limit in parse_many(current_app.config["HELDOUT_PUBLIC_RUN_LIMIT"])]


def _check_submit_rate(attempt_id: str) -> None:
    check_rate("HELDOUT_SUBMIT_LIMIT", "submit", attempt_id,
                "Submissions are limited to {limit}, and this attempt reached that.",
                "Submit again in {wait} seconds; your code is still in the editor.")


def check_rate(setting: str, scope: str, attempt_id: str, message: str, hint: str) -> None:
    """Count one use of ``scope`` by the attempt; over ``setting``'s limits, refuse it."""
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
        raise TooManySubmissions(message.format(limit=_describe(refused[0])),
                                 hint=hint.format(wait=wait), retry_after=wait)


def _editor_form() -> tuple[str, list[drafts.DraftFile], list[submissions.SubmittedFile], bool]:
    """The editor's text, its other files (several-file challenges), the files to send and
    whether they are uploads.

    Uploads win; else, with other files open in the editor, they go with the entrypoint
    (named by the form, checked by the service like any file name).
    """
    # A form sends a textarea's line breaks as CRLF; the editor (and its drafts) use LF.
    code = request.form.get("code", "").replace("\r\n", "\n")
    # A tab the challenge names as optional (a build step) counts once it has text.
    optional = set(request.form.getlist("optional_name"))
    extra = [drafts.DraftFile(name, text.replace("\r\n", "\n")) for name, text in
             zip(request.form.getlist("extra_name"), request.form.getlist("extra_code"),
                 strict=False) if name and (text.strip() or name not in optional)]
    files = [submissions.SubmittedFile(upload.filename, upload.read())
             for upload in request.files.getlist("files") if upload.filename]
    uploaded = bool(files)
    if not files and extra:
        main = request.form.get("code_name", "")
        files = [submissions.SubmittedFile(main, code.encode("utf-8")),
                 *(submissions.SubmittedFile(f.name, f.content.encode("utf-8")) for f in extra)]
    return code, extra, files, uploaded


def _keep_uploads(attempt_id: str, slug: str, files: list[submissions.SubmittedFile]) -> None:
    """Taken uploads become the draft (nothing to choose again before the next submit)."""
    digest = drafts.keep_uploads(attempt_public_id=attempt_id, challenge_slug=slug, files=files,
                                 bundles=catalogue.get_bundles(), now=now())
    if digest is not None:
        session[UPLOADED_KEY] = {**session.get(UPLOADED_KEY, {}), slug: digest}


@bp.post("/a/<attempt_id>/c/<slug>/submit")
@bound_attempt
def submit(attempt_id: str, slug: str) -> ResponseReturnValue:
    """Store the submission durably, queue it, and show its live status.

    Whatever refuses it (expired form, too many submissions, bad files, time up), the page
    comes back with the candidate's text in the editor: nothing typed is lost.
    """
    code, extra, files, uploaded = _editor_form()
    try:
        _check_form_token()
        _check_submit_rate(attempt_id)
        submissions.submit(attempt_public_id=attempt_id, challenge_slug=slug, files=files,
                           pasted_code=code, blobs=blob_store(), queue=get_queue(),
                           bundles=catalogue.get_bundles(), now=now(),
                           max_pending=current_app.config["HELDOUT_MAX_PENDING_SUBMISSIONS"])
    except AttemptClosed as exc:
        attempt = attempts.get_attempt(attempt_id)
        return _workspace(attempt, slug, code=code, extra=extra, error=exc, status=409, closed=True)
    except TooManySubmissions as exc:
        attempt = attempts.get_attempt(attempt_id)
        response = current_app.make_response(
            _workspace(attempt, slug, code=code, extra=extra, error=exc, status=429))
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except InvalidInput as exc:
        attempt = attempts.get_attempt(attempt_id)
        return _workspace(attempt, slug, code=code, extra=extra, error=exc, status=status_of(exc))
    if uploaded:
        _keep_uploads(attempt_id, slug, files)
    return redirect(url_for("candidate.workspace", attempt_id=attempt_id, slug=slug) + "#status")


# Checked inside the view instead (``_check_form_token``), where a refusal can keep the code.
csrf.exempt(submit)


@bp.post("/a/<attempt_id>/c/<slug>/public-run")
@bound_attempt
def public_run(attempt_id: str, slug: str) -> ResponseReturnValue:
    """Queue the editor's text (or the uploads) for the public checks; never a submission.

    Refusals bring the page back with the typed code, as for Submit.
    """
    code, extra, files, uploaded = _editor_form()
    try:
        _check_form_token()
        check_rate("HELDOUT_PUBLIC_RUN_LIMIT", "public-run", attempt_id,
                    "Public check runs are limited to {limit}, and this attempt reached that.",
                    "Run them again in {wait} seconds; your code is still in the editor.")
        public_runs.request_public_run(
            attempt_public_id=attempt_id, challenge_slug=slug, files=files, pasted_code=code,
            blobs=blob_store(), queue=get_queue(), bundles=catalogue.get_bundles(),
            now=now())
    except AttemptClosed as exc:
        attempt = attempts.get_attempt(attempt_id)
        return _workspace(attempt, slug, code=code, extra=extra, error=exc, status=409, closed=True)
    except TooManySubmissions as exc:
        attempt = attempts.get_attempt(attempt_id)
        response = current_app.make_response(
            _workspace(attempt, slug, code=code, extra=extra, error=exc, status=429))
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except (InvalidInput, PublicRunsUsedUp) as exc:
        attempt = attempts.get_attempt(attempt_id)
        return _workspace(attempt, slug, code=code, extra=extra, error=exc, status=status_of(exc))
    if uploaded:
        _keep_uploads(attempt_id, slug, files)
    return redirect(url_for("candidate.workspace", attempt_id=attempt_id, slug=slug)
                    + "#public-checks")


csrf.exempt(public_run)


@bp.post("/a/<attempt_id>/c/<slug>/console")
@bound_attempt
def console_run(attempt_id: str, slug: str) -> ResponseReturnValue:
    """Queue one run of the run console: the editor's text (sent by the page's script, else
    the saved draft) with the typed input, as a public run; never a submission.

    The same limits as the public checks (one run at a time with them, the same rate);
    refusals bring the page back with what was typed, the reason beside the console.
    """
    sent = "code" in request.form
    code, extra, files, _uploaded = _editor_form()
    typed = {name: request.form.get(name, "") for name in console_runs.FIELDS}
    try:
        _check_form_token()
        check_rate("HELDOUT_PUBLIC_RUN_LIMIT", "public-run", attempt_id,
                   "Runs are limited to {limit} (public checks and console together), and "
                   "this attempt reached that.",
                   "Run again in {wait} seconds; your code is still in the editor.")
        if not sent and not files:
            files = console_runs.saved_files(attempts.get_attempt(attempt_id), slug,
                                             catalogue.get_bundles(), blob_store())
        public_runs.request_public_run(
            attempt_public_id=attempt_id, challenge_slug=slug, files=files,
            pasted_code=code if sent else None, blobs=blob_store(), queue=get_queue(),
            bundles=catalogue.get_bundles(), now=now(), console=typed)
    except AttemptClosed as exc:
        attempt = attempts.get_attempt(attempt_id)
        return _workspace(attempt, slug, code=code if sent else None, extra=extra, error=exc,
                          status=409, closed=True)
    except (TooManySubmissions, InvalidInput) as exc:
        attempt = attempts.get_attempt(attempt_id)
        response = current_app.make_response(_workspace(
            attempt, slug, code=code if sent else None, extra=extra, console_typed=typed,
            console_error=exc, status=status_of(exc)))
        if isinstance(exc, TooManySubmissions) and exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return redirect(url_for("candidate.workspace", attempt_id=attempt_id, slug=slug)
                    + "#run-output")


csrf.exempt(console_run)


@bp.post("/a/<attempt_id>/c/<slug>/problem")
@bound_attempt
def report_problem(attempt_id: str, slug: str) -> ResponseReturnValue:
    """Keep the candidate's report of a problem with this challenge, for the admins.

    A refusal (nothing said, too long, too many reports) brings the workspace back with
    the words still in the form.
    """
    given = problem_reports.ProblemInput(request.form.get("category", ""),
                                         request.form.get("text", ""))
    try:
        problem_reports.checked(given)  # a refused form does not count against the limit
        check_rate("HELDOUT_PROBLEM_REPORT_LIMIT", "problem-report", attempt_id,
                   "Problem reports are limited to {limit}, and this attempt reached that.",
                   "Send it again in {wait} seconds; your words are still in the form.")
        problem_reports.report_problem(attempt_public_id=attempt_id, challenge_slug=slug,
                                       given=given, now=now())
    except InvalidInput as exc:
        return _problem_refused(attempt_id, slug, given, exc)
    except TooManySubmissions as exc:
        response = current_app.make_response(_problem_refused(attempt_id, slug, given, exc))
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    flash("Thank you: your report reached the team, with this challenge's version. Carry on "
          "working: reporting does not pause the clock or change your score.", "success")
    return redirect(url_for("candidate.workspace", attempt_id=attempt_id, slug=slug))


def _problem_refused(attempt_id: str, slug: str, given: problem_reports.ProblemInput,
                     error: PlatformError) -> ResponseReturnValue:
    attempt = attempts.get_attempt(attempt_id)
    closed = attempt.finished_at is not None or attempt.deadline <= now()
    return _workspace(attempt, slug, status=status_of(error), closed=closed, problem=given,
                      problem_error=error)


@bp.post("/a/<attempt_id>/finish")
@bound_attempt
def finish(attempt_id: str) -> ResponseReturnValue:
    """The candidate is done; nothing more is accepted."""
    with suppress(AttemptClosed):  # finishing twice, or after the deadline, is harmless
        attempts.finish_attempt(attempt_id, now=now())
    return redirect(url_for("candidate.done", attempt_id=attempt_id))


@bp.get("/a/<attempt_id>/done")
@bound_attempt
def done(attempt_id: str) -> ResponseReturnValue:
    """What was submitted, when, and what happens next."""
    try:
        attempt = _open(attempt_id)
    except AttemptClosed:
        attempt = attempts.get_attempt(attempt_id)
    else:
        return redirect(url_for("candidate.overview", attempt_id=attempt_id))
    return render_template("candidate/done.html", attempt=attempt,
                           assessment=attempt.invite.assessment,
                           cards=attempts.challenge_statuses(attempt))
