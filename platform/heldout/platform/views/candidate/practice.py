"""The public practice page: the workspace on the practice sample, no login, no attempt.

The browser's session keeps a random visitor key (made by its first run) to find its runs
again. Nothing here reads or writes an attempt or an invite: the session's keys for them
only decide which way back the page offers.
"""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    redirect,
    render_template,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from limits import parse_many

from heldout.graders.result import Split
from heldout.platform import markdown
from heldout.platform.errors import InvalidInput, PlatformError, TooManySubmissions
from heldout.platform.extensions import csrf
from heldout.platform.http import status_of
from heldout.platform.i18n import N_
from heldout.platform.queue import get_queue
from heldout.platform.services import catalogue, practice
from heldout.platform.services.public_runs import public_run_view
from heldout.platform.views.candidate.actions import editor_form
from heldout.platform.views.candidate.common import (
    INVITE_KEY,
    SESSION_KEY,
    bp,
    check_form_token,
    check_rate,
    describe_limit,
)
from heldout.platform.views.common import blob_store, now, request_origin

# The session's visitor key: whose practice runs these are.
VISITOR_KEY = "practice"


def _slug() -> str:
    return str(current_app.config["HELDOUT_PRACTICE_CHALLENGE"])


def practice_limits() -> list[str]:
    """The practice limits in words, for the page: ["4 per minute", "30 per hour"]."""
    return [describe_limit(limit)
            for limit in parse_many(current_app.config["HELDOUT_PRACTICE_LIMIT"])]


def _render(*, code: str | None = None, error: PlatformError | None = None,
            status: int = 200) -> ResponseReturnValue:
    bundle = practice.practice_bundle(_slug(), catalogue.get_bundles())
    visitor = session.get(VISITOR_KEY)
    if code is None:  # a refused form keeps what was sent; else the latest run's, or the starter
        code = practice.editor_text(practice.latest_run(visitor), bundle, blob_store())
    state = practice.practice_state(visitor, now=now())
    checks = practice.visitor_runs(visitor, "public", limit=1)
    return render_template(
        "candidate/practice.html", bundle=bundle,
        statement=markdown.render_statement(bundle.statement),
        entrypoint=bundle.submission.entrypoint, code=code, error=error,
        allowed=bundle.submission.allowed, max_files=bundle.submission.max_files,
        max_bytes=bundle.submission.max_bytes, limits=practice_limits(),
        public_run=public_run_view(checks[0], now=now()) if checks else None,
        statuses=state["submissions"], back=_back()), status


def _back() -> tuple[str, str] | None:
    """Where the candidate came from: their assessment, or the invitation's landing page."""
    if session.get(SESSION_KEY):
        return (url_for("candidate.overview", attempt_id=session[SESSION_KEY]),
                gettext("Back to your assessment"))
    if session.get(INVITE_KEY):
        return url_for("candidate.welcome"), gettext("Back to your invitation")
    return None


@bp.get("/practice")
def practice_page() -> ResponseReturnValue:
    """Try the workspace on a sample task: editor, public checks, Submit, a graded result."""
    return _render()


def _run(split: Split) -> ResponseReturnValue:
    code, _extra, files, _uploaded = editor_form()
    try:
        check_form_token()
        check_rate("HELDOUT_PRACTICE_LIMIT", "practice", str(request_origin().ip),
                   N_("Practice runs are limited to %(limit)s from one address, and that is "
                      "reached."),
                   N_("Run again in %(wait)s seconds; your code is still in the editor."))
        visitor = session.get(VISITOR_KEY) or practice.new_visitor()
        practice.request_practice_run(
            visitor=visitor, split=split, files=files, pasted_code=code, slug=_slug(),
            blobs=blob_store(), queue=get_queue(), bundles=catalogue.get_bundles(), now=now())
    except (TooManySubmissions, InvalidInput) as exc:
        response = current_app.make_response(_render(code=code, error=exc,
                                                      status=status_of(exc)))
        if isinstance(exc, TooManySubmissions) and exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    session[VISITOR_KEY] = visitor
    anchor = "#status" if split == "hidden" else "#public-checks"
    return redirect(url_for("candidate.practice_page") + anchor)


@bp.post("/practice/run")
def practice_run() -> ResponseReturnValue:
    """Queue the editor's text for the sample's public checks."""
    return _run("public")


@bp.post("/practice/submit")
def practice_submit() -> ResponseReturnValue:
    """Queue the editor's text to be graded as a submission would be; stored with no attempt."""
    return _run("hidden")


# Checked inside the view instead (``check_form_token``), where a refusal keeps the code.
csrf.exempt(practice_run)
csrf.exempt(practice_submit)


@bp.get("/practice/state")
def practice_state() -> ResponseReturnValue:
    """The browser's practice runs as the workspace's live status reads them (polled)."""
    return practice.practice_state(session.get(VISITOR_KEY), now=now())


@bp.get("/practice/runs/<int:run_id>")
def practice_run_status(run_id: int) -> ResponseReturnValue:
    """One checks run with its results block as HTML, as the workspace's public runs are."""
    run = practice.visitor_run(session.get(VISITOR_KEY), run_id)
    if run is None or run.split != "public":
        abort(404)
    view = public_run_view(run, now=now())
    html = render_template("candidate/_public_run.html", run=view,
                           status_url=url_for("candidate.practice_run_status", run_id=run.id),
                           page_url=url_for("candidate.practice_page"))
    return {**view.as_json(), "html": html}
