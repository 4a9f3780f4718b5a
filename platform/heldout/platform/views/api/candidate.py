"""The candidate workspace's JSON: live status (polled or streamed) and the editor's drafts.

Every route is for the browser bound to the URL's attempt alone (``authenticated``); the
addresses are the ones the workspace's script has always called (static/workspace.js,
static/heldout.js).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue

from heldout.platform.errors import InvalidInput, UploadTooLarge
from heldout.platform.i18n import N_
from heldout.platform.services import (
    attempts,
    catalogue,
    console_runs,
    drafts,
    editor_events,
    live,
    public_runs,
    submissions,
)
from heldout.platform.services.access import CandidateViewer
from heldout.platform.views.api import streams
from heldout.platform.views.api.auth import authenticated
from heldout.platform.views.candidate import check_rate
from heldout.platform.views.common import blob_store, now

bp = Blueprint("candidate", __name__)


@bp.get("/a/<attempt_id>/submissions/<int:submission_id>")
@authenticated(candidate=True)
def submission_status(viewer: CandidateViewer, attempt_id: str,
                      submission_id: int) -> ResponseReturnValue:
    """The status of one submission, polled by the page until it is final."""
    attempt = attempts.get_attempt(viewer.attempt_public_id)
    submission = submissions.attempt_submission(attempt, submission_id)
    return submissions.candidate_status(submission,
                                        show_scores=attempt.invite.assessment.show_scores,
                                        now=now())


@bp.get("/a/<attempt_id>/public-runs/<int:run_id>")
@authenticated(candidate=True)
def public_run_status(viewer: CandidateViewer, attempt_id: str,
                      run_id: int) -> ResponseReturnValue:
    """The status of a public run (of the checks or the console) with its results block as
    HTML, polled until final."""
    attempt = attempts.get_attempt(viewer.attempt_public_id)
    run = public_runs.attempt_public_run(attempt, run_id)
    if run is None:
        abort(404)
    if run.console is not None:  # a run of the run console
        console = console_runs.console_run_view(run, now=now())
        html = render_template("candidate/_console_run.html", attempt=attempt, run=console,
                               slug=run.challenge_slug)
        return {**console.as_json(), "html": html}
    view = public_runs.public_run_view(run, now=now())
    html = render_template("candidate/_public_run.html", attempt=attempt, run=view,
                           slug=run.challenge_slug)
    # A notebook's outputs per cell, sanitised here, for the cell editor.
    return {**view.as_json(), "html": html,
            "cells": public_runs.cell_outputs(run, blob_store())}


def _json_or_beacon() -> Any:
    """The body as JSON (fetch), or a form field ``payload`` holding it (a beacon on
    leaving the page); None when neither can be read."""
    raw: Any = request.get_json(silent=True) if request.is_json else None
    if raw is None and "payload" in request.form:
        try:
            raw = json.loads(request.form["payload"])
        except ValueError:
            raw = None
    return raw


def _draft_payload() -> list[drafts.DraftFile]:
    """The editor's files from JSON (fetch) or a form field ``payload`` (a beacon on leaving)."""
    raw = _json_or_beacon()
    items = raw.get("files") if isinstance(raw, dict) else None
    if not isinstance(items, list) or not all(
            isinstance(i, dict) and isinstance(i.get("name"), str)
            and isinstance(i.get("content"), str) for i in items):
        raise InvalidInput("The draft could not be read.",
                           hint='Send {"files": [{"name": …, "content": …}]}.')
    return [drafts.DraftFile(i["name"], i["content"]) for i in items]


@bp.post("/a/<attempt_id>/c/<slug>/draft")
@authenticated(candidate=True)
def save_draft(viewer: CandidateViewer, attempt_id: str, slug: str) -> ResponseReturnValue:
    """Autosave: keep the editor's files on the server (CSRF token in a header or field)."""
    check_rate("HELDOUT_AUTOSAVE_LIMIT", "autosave", viewer.attempt_public_id,
               N_("Autosaves are limited to %(limit)s, and this page reached that."),
               N_("Your text is still in the editor; it is saved again in %(wait)s seconds."))
    saved = drafts.save_drafts(attempt_public_id=viewer.attempt_public_id,
                               challenge_slug=slug, files=_draft_payload(),
                               bundles=catalogue.get_bundles(), now=now())
    return {"saved_at": saved.saved_at.isoformat() if saved.saved_at else None,
            "changed": saved.changed, "files": list(saved.names)}


@bp.post("/a/<attempt_id>/c/<slug>/editor-events")
@authenticated(candidate=True)
def record_editor_events(viewer: CandidateViewer, attempt_id: str,
                         slug: str) -> ResponseReturnValue:
    """A batch of editor events (pastes, focus, idle gaps): JSON, or a form field
    ``payload`` (a beacon on leaving); size- and rate-capped, refused whole when wrong."""
    if (request.content_length or 0) > editor_events.MAX_BODY_BYTES:
        raise UploadTooLarge(f"A batch of editor events takes at most "
                             f"{editor_events.MAX_BODY_BYTES:,} bytes.", field="events")
    check_rate("HELDOUT_EDITOR_EVENTS_LIMIT", "editor-events", viewer.attempt_public_id,
               N_("Editor events are limited to %(limit)s batches, and this page reached that."),
               N_("They are sent again in %(wait)s seconds."))
    kept = editor_events.record_events(
        attempt_public_id=viewer.attempt_public_id, challenge_slug=slug,
        events=editor_events.parse_batch(_json_or_beacon()), bundles=catalogue.get_bundles(), now=now(),
        idle_minutes=int(current_app.config["HELDOUT_IDLE_GAP_MINUTES"]))
    return {"recorded": kept}


@bp.get("/a/<attempt_id>/c/<slug>/draft")
@authenticated(candidate=True)
def load_draft(viewer: CandidateViewer, attempt_id: str, slug: str) -> ResponseReturnValue:
    """What the editor opens: the server's drafts (else the last submission, else the starter)."""
    attempt = attempts.get_attempt(viewer.attempt_public_id)
    challenge = attempts.assessment_challenge(attempt, slug)
    bundles = catalogue.get_bundles()
    opened = drafts.editor_files(attempt, challenge,
                                 attempts.attempt_bundle(attempt, challenge, bundles),
                                 blob_store())
    return {"source": opened.source,
            "saved_at": opened.saved_at.isoformat() if opened.saved_at else None,
            "files": [{"name": f.name, "content": f.content} for f in opened.files]}


@bp.get("/a/<attempt_id>/c/<slug>/state")
@authenticated(candidate=True)
def workspace_state(viewer: CandidateViewer, attempt_id: str, slug: str) -> ResponseReturnValue:
    """The live state: what the event stream sends, for browsers polling instead."""
    attempt = attempts.get_attempt(viewer.attempt_public_id)
    challenge = attempts.assessment_challenge(attempt, slug)
    return live.workspace_state(attempt, challenge.id, now=now())


@bp.get("/a/<attempt_id>/c/<slug>/events")
@authenticated(candidate=True)
def workspace_events(viewer: CandidateViewer, attempt_id: str, slug: str) -> ResponseReturnValue:
    """Server-sent events: the live state each time it changes, until it is final."""
    attempt = attempts.get_attempt(viewer.attempt_public_id)
    challenge = attempts.assessment_challenge(attempt, slug)
    return streams.state_stream(viewer.attempt_public_id, attempt.id, challenge.id)
