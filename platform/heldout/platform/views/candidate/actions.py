"""What a candidate does from the workspace: submit, run the public checks or the console,
report a problem, finish; and the page that follows."""

from __future__ import annotations

from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from heldout.platform.errors import (
    AttemptClosed,
    InvalidInput,
    OnBreak,
    PlatformError,
    PublicRunsUsedUp,
    TooManySubmissions,
)
from heldout.platform.extensions import csrf
from heldout.platform.http import status_of
from heldout.platform.i18n import N_
from heldout.platform.queue import get_queue
from heldout.platform.services import (
    assistant,
    attempts,
    catalogue,
    console_runs,
    drafts,
    feedback,
    mail,
    problem_reports,
    public_runs,
    submissions,
)
from heldout.platform.views.candidate.common import (
    UPLOADED_KEY,
    bound_attempt,
    bp,
    check_form_token,
    check_rate,
    check_submit_rate,
    open_attempt,
)
from heldout.platform.views.candidate.workspace import render_workspace
from heldout.platform.views.common import blob_store, now


def editor_form() -> tuple[str, list[drafts.DraftFile], list[submissions.SubmittedFile], bool]:
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


def _refused(attempt_id: str, slug: str, code: str, extra: list[drafts.DraftFile],
             exc: PlatformError) -> ResponseReturnValue:
    """The workspace again with the typed code and why Submit or a public run was refused."""
    attempt = attempts.get_attempt(attempt_id)
    response = current_app.make_response(render_workspace(
        attempt, slug, code=code, extra=extra, error=exc, status=status_of(exc),
        closed=isinstance(exc, AttemptClosed)))
    if isinstance(exc, TooManySubmissions) and exc.retry_after is not None:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


@bp.post("/a/<attempt_id>/c/<slug>/submit")
@bound_attempt
def submit(attempt_id: str, slug: str) -> ResponseReturnValue:
    """Store the submission durably, queue it, and show its live status.

    Whatever refuses it (expired form, too many submissions, bad files, time up), the page
    comes back with the candidate's text in the editor: nothing typed is lost.
    """
    code, extra, files, uploaded = editor_form()
    try:
        check_form_token()
        check_submit_rate(attempt_id)
        submissions.submit(attempt_public_id=attempt_id, challenge_slug=slug, files=files,
                           pasted_code=code, blobs=blob_store(), queue=get_queue(),
                           bundles=catalogue.get_bundles(), now=now(),
                           max_pending=current_app.config["HELDOUT_MAX_PENDING_SUBMISSIONS"])
    except (AttemptClosed, TooManySubmissions, InvalidInput) as exc:
        return _refused(attempt_id, slug, code, extra, exc)
    if uploaded:
        _keep_uploads(attempt_id, slug, files)
    return redirect(url_for("candidate.workspace", attempt_id=attempt_id, slug=slug) + "#status")


# Checked inside the view instead (``check_form_token``), where a refusal can keep the code.
csrf.exempt(submit)


@bp.post("/a/<attempt_id>/c/<slug>/public-run")
@bound_attempt
def public_run(attempt_id: str, slug: str) -> ResponseReturnValue:
    """Queue the editor's text (or the uploads) for the public checks; never a submission.

    Refusals bring the page back with the typed code, as for Submit.
    """
    code, extra, files, uploaded = editor_form()
    try:
        check_form_token()
        check_rate("HELDOUT_PUBLIC_RUN_LIMIT", "public-run", attempt_id,
                   N_("Public check runs are limited to %(limit)s, and this attempt reached "
                      "that."),
                   N_("Run them again in %(wait)s seconds; your code is still in the editor."))
        public_runs.request_public_run(
            attempt_public_id=attempt_id, challenge_slug=slug, files=files, pasted_code=code,
            blobs=blob_store(), queue=get_queue(), bundles=catalogue.get_bundles(),
            now=now())
    except (AttemptClosed, TooManySubmissions, InvalidInput, PublicRunsUsedUp) as exc:
        return _refused(attempt_id, slug, code, extra, exc)
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
    code, extra, files, _uploaded = editor_form()
    typed = {name: request.form.get(name, "") for name in console_runs.FIELDS}
    try:
        check_form_token()
        check_rate("HELDOUT_PUBLIC_RUN_LIMIT", "public-run", attempt_id,
                   N_("Runs are limited to %(limit)s (public checks and console together), "
                      "and this attempt reached that."),
                   N_("Run again in %(wait)s seconds; your code is still in the editor."))
        if not sent and not files:
            files = console_runs.saved_files(attempts.get_attempt(attempt_id), slug,
                                             catalogue.get_bundles(), blob_store())
        public_runs.request_public_run(
            attempt_public_id=attempt_id, challenge_slug=slug, files=files,
            pasted_code=code if sent else None, blobs=blob_store(), queue=get_queue(),
            bundles=catalogue.get_bundles(), now=now(), console=typed)
    except AttemptClosed as exc:
        attempt = attempts.get_attempt(attempt_id)
        return render_workspace(attempt, slug, code=code if sent else None, extra=extra, error=exc,
                          status=409, closed=True)
    except (TooManySubmissions, InvalidInput) as exc:
        attempt = attempts.get_attempt(attempt_id)
        response = current_app.make_response(render_workspace(
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
                   N_("Problem reports are limited to %(limit)s, and this attempt reached that."),
                   N_("Send it again in %(wait)s seconds; your words are still in the form."))
        problem_reports.report_problem(attempt_public_id=attempt_id, challenge_slug=slug,
                                       given=given, now=now())
    except InvalidInput as exc:
        return _problem_refused(attempt_id, slug, given, exc)
    except TooManySubmissions as exc:
        response = current_app.make_response(_problem_refused(attempt_id, slug, given, exc))
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    flash(gettext("Thank you: your report reached the team, with this challenge's version. "
                  "Carry on working: reporting does not pause the clock or change your score."),
          "success")
    return redirect(url_for("candidate.workspace", attempt_id=attempt_id, slug=slug))


def _problem_refused(attempt_id: str, slug: str, given: problem_reports.ProblemInput,
                     error: PlatformError) -> ResponseReturnValue:
    attempt = attempts.get_attempt(attempt_id)
    closed = attempt.finished_at is not None or attempt.deadline <= now()
    return render_workspace(attempt, slug, status=status_of(error), closed=closed, problem=given,
                      problem_error=error)


@bp.post("/a/<attempt_id>/finish")
@bound_attempt
def finish(attempt_id: str) -> ResponseReturnValue:
    """The candidate is done; nothing more is accepted. Under the "AI allowed with
    disclosure" policy, only with the disclosure (refused: the overview again, with it)."""
    disclosure = request.form.get("ai_disclosure", "")
    try:
        assistant.finish(attempt_id, disclosure=disclosure, now=now())
    except AttemptClosed:  # finishing twice, or after the deadline, is harmless
        pass
    except InvalidInput as exc:
        attempt = attempts.get_attempt(attempt_id)
        return render_template("candidate/overview.html", attempt=attempt,
                               assessment=attempt.invite.assessment,
                               cards=attempts.challenge_statuses(attempt),
                               disclosure=disclosure, disclosure_error=exc), 400
    return redirect(url_for("candidate.done", attempt_id=attempt_id))


@bp.get("/a/<attempt_id>/done")
@bound_attempt
def done(attempt_id: str) -> ResponseReturnValue:
    """What was submitted, when, and what happens next; the candidate's feedback where
    the assessment gives it."""
    try:
        attempt = open_attempt(attempt_id)
    except AttemptClosed:
        attempt = attempts.get_attempt(attempt_id)
    except OnBreak:
        return redirect(url_for("candidate.on_break", attempt_id=attempt_id))
    else:
        return redirect(url_for("candidate.overview", attempt_id=attempt_id))
    return render_template("candidate/done.html", attempt=attempt,
                           assessment=attempt.invite.assessment,
                           cards=attempts.challenge_statuses(attempt),
                           feedback=feedback.feedback_for(attempt, now=now()),
                           feedback_mailed=mail.SmtpSettings.from_config(current_app.config)
                           is not None)
