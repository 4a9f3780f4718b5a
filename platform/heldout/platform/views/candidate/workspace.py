"""The attempt's overview, the workspace page and the files it offers for download."""

from __future__ import annotations

from collections.abc import Mapping

from flask import (
    abort,
    current_app,
    redirect,
    render_template,
    send_file,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from heldout.graders.errors import ServedFileNotFound
from heldout.graders.serving import AREAS, public_files, served_file, starter_files
from heldout.platform import markdown
from heldout.platform.errors import (
    AttemptClosed,
    OnBreak,
    PlatformError,
)
from heldout.platform.models import Attempt
from heldout.platform.services import (
    assistant,
    attempts,
    catalogue,
    console_runs,
    drafts,
    live,
    problem_reports,
    public_runs,
)
from heldout.platform.views.candidate.common import (
    UPLOADED_KEY,
    bound_attempt,
    bp,
    open_attempt,
    public_run_limits,
    submit_limits,
)
from heldout.platform.views.common import blob_store, now


@bp.get("/a/<attempt_id>/")
@bound_attempt
def overview(attempt_id: str) -> ResponseReturnValue:
    """The challenges as cards, with the countdown and Finish."""
    try:
        attempt = open_attempt(attempt_id)
    except AttemptClosed:
        return redirect(url_for("candidate.done", attempt_id=attempt_id))
    except OnBreak:  # the work stays hidden until the break ends
        return redirect(url_for("candidate.on_break", attempt_id=attempt_id))
    return render_template("candidate/overview.html", attempt=attempt,
                           assessment=attempt.invite.assessment,
                           cards=attempts.challenge_statuses(attempt))


def render_workspace(attempt: Attempt, slug: str, *, code: str | None = None,
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
        challenge=challenge, bundle=bundle,
        statement=markdown.render_statement(bundle.statement, bundle.profile),
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
        problem_max=problem_reports.MAX_TEXT,
        idle_minutes=current_app.config["HELDOUT_IDLE_GAP_MINUTES"],
        ai=assistant.transcript(attempt, assistant.AssistantSettings.from_config(
            current_app.config), budget=current_app.config["HELDOUT_AI_TOKEN_BUDGET"]),
        ai_max_question=assistant.MAX_QUESTION_CHARS), status


@bp.get("/a/<attempt_id>/c/<slug>")
@bound_attempt
def workspace(attempt_id: str, slug: str) -> ResponseReturnValue:
    """Statement, downloads, the editor and the submissions of one challenge."""
    try:
        attempt = open_attempt(attempt_id)
    except AttemptClosed:
        return redirect(url_for("candidate.done", attempt_id=attempt_id))
    except OnBreak:  # the work stays hidden until the break ends
        return redirect(url_for("candidate.on_break", attempt_id=attempt_id))
    return render_workspace(attempt, slug)


@bp.get("/a/<attempt_id>/c/<slug>/files/<area>/<path:name>")
@bound_attempt
def download(attempt_id: str, slug: str, area: str, name: str) -> ResponseReturnValue:
    """A public data or starter file; names are looked up in a listing, never joined."""
    attempt = open_attempt(attempt_id)
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
