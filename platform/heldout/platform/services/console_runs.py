"""What the run console shows the candidate: a run's status, its answer (a grid of rows, a
returned value, a response, cell outputs) and its output.

A console run is a public run with a console request (``PublicRun.console``): it is stored,
queued, limited and run exactly as the public checks are (``public_runs``); only what is
shown differs. Everything here came out of the sandbox: it is capped and shown as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext

from heldout.graders.bundle import Bundle
from heldout.graders.console_input import MAX_INPUT_CHARS, METHODS, MODES
from heldout.graders.kinds.deployment.config import DeploymentGrading
from heldout.graders.kinds.function import FunctionGrading
from heldout.graders.kinds.sql import SqlGrading
from heldout.graders.result import Evaluation
from heldout.platform.blobs import BlobStore
from heldout.platform.i18n import N_
from heldout.platform.models import Attempt, PublicRun
from heldout.platform.services import attempts, drafts
from heldout.platform.services.catalogue import BundleCatalogue
from heldout.platform.services.grids import Grid, columns_of, grid
from heldout.platform.services.public_runs import RunProgress, latest_public_run, progress
from heldout.platform.services.scoring import Reason, shortfalls
from heldout.platform.services.submissions import SubmittedFile

# The console form's fields, whatever the kind (each kind reads its own).
FIELDS = ("function", "arguments", "query", "method", "path", "body")
# What each mode runs, said plainly before the candidate presses Run.
WHAT_RUNS = {
    "call": N_("Calls one function of your code with the arguments you type, in the sandbox "
               "(no network), as the public cases call it."),
    "sql": N_("Runs one query against the public tables with DuckDB in the sandbox "
              "(read-only, no files, no network); the first 100 rows come back."),
    "request": N_("Starts your service as grading does (no network outside it) and sends it "
                  "the one request you type; its status and body come back."),
    "run": N_("Runs your entrypoint (%(entrypoint)s) on the public data in the sandbox (no "
              "network, the challenge's limits); its output appears here. Nothing is scored."),
}


@dataclass(frozen=True)
class ConsoleRunView(RunProgress):
    mode: str
    typed: Mapping[str, Any]
    answer: Mapping[str, Any]
    grid: Grid | None
    error: str
    problems: tuple[Reason, ...]
    stdout: str
    stderr: str
    ran: bool
    exit_code: int | None


def mode_for(kind: str) -> str:
    return MODES.get(kind, "run")


def what_runs(kind: str, entrypoint: str) -> str:
    """What the console runs, in the page's language."""
    return str(gettext(WHAT_RUNS[mode_for(kind)], entrypoint=entrypoint))


def _answer(run: PublicRun) -> dict[str, Any]:
    output = run.output or {}
    answer = output.get("console") if isinstance(output, dict) else None
    return answer if isinstance(answer, dict) else {}


def console_run_view(run: PublicRun, *, now: datetime) -> ConsoleRunView:
    status = run.status
    where = progress(run, now=now, running=N_("Your code is running in the sandbox."),
                     label=N_("Finished"),
                     failed=N_("A platform problem prevented the run. It is not your code's "
                               "fault; run it again in a while."))
    answer = _answer(run) if status == "graded" else {}
    table: Grid | None = None
    if "columns" in answer:
        table = grid(columns_of(answer["columns"]), answer.get("rows"), answer.get("row_count"),
                     answer.get("row_count_capped") is True)
    stdout = stderr = ""
    ran = False
    exit_code: int | None = None
    found: tuple[Reason, ...] = ()
    if status == "graded" and run.evaluation is not None:
        evaluation = Evaluation.from_dict(run.evaluation)
        if evaluation.run is not None:
            ran = True
            stdout, stderr = evaluation.run.stdout_tail, evaluation.run.stderr_tail
            exit_code = evaluation.run.exit_code
            found = shortfalls(evaluation.run, (), public=True)
    request = run.console or {}
    return ConsoleRunView(
        **vars(where), mode=str(request.get("mode", "")), typed=request, answer=answer, grid=table,
        error=str(answer.get("error", ""))[:1000], problems=found, stdout=stdout,
        stderr=stderr, ran=ran, exit_code=exit_code)


def latest_console_run(attempt: Attempt, challenge_id: int, *,
                       now: datetime) -> ConsoleRunView | None:
    run = latest_public_run(attempt, challenge_id, console=True)
    return None if run is None else console_run_view(run, now=now)


@dataclass(frozen=True)
class ConsoleForm:
    """The console as the workspace shows it: the kind's fields, pre-filled with what was
    typed last, what runs, and the latest console run."""

    mode: str
    what: str
    functions: tuple[str, ...]
    typed: Mapping[str, str]
    error: Exception | None
    run: ConsoleRunView | None
    methods: tuple[str, ...] = METHODS
    max_chars: int = MAX_INPUT_CHARS


def _last_typed(run: ConsoleRunView | None, bundle: Bundle) -> dict[str, str]:
    """What the form shows before anything is typed: the last run's input, else a start."""
    if run is not None:
        request = run.typed
        mode = request.get("mode")
        if mode == "call":
            return {"function": str(request.get("function", "")),
                    "arguments": str(request.get("typed", ""))}
        if mode == "sql":
            return {"query": str(request.get("query", ""))}
        if mode == "request":
            return {"method": str(request.get("method", "GET")),
                    "path": str(request.get("path", "/")),
                    "body": str(request.get("typed", ""))}
    grading = bundle.grading
    if isinstance(grading, FunctionGrading) and grading.functions:
        return {"function": grading.functions[0]}
    if isinstance(grading, SqlGrading) and grading.tables:
        # A first query to edit, shown in the form; it only ever runs in the sandbox.
        return {"query": f"SELECT * FROM {grading.tables[0]} LIMIT 10"}  # noqa: S608
    if isinstance(grading, DeploymentGrading):
        return {"method": "POST", "path": grading.predict_path}
    return {}


def console_form(bundle: Bundle, attempt: Attempt, challenge_id: int, *, now: datetime,
                 typed: Mapping[str, str] | None = None,
                 error: Exception | None = None) -> ConsoleForm:
    run = latest_console_run(attempt, challenge_id, now=now)
    grading = bundle.grading
    functions = grading.functions if isinstance(grading, FunctionGrading) else ()
    return ConsoleForm(mode=mode_for(bundle.kind),
                       what=what_runs(bundle.kind, bundle.submission.entrypoint),
                       functions=tuple(functions),
                       typed=dict(typed) if typed is not None else _last_typed(run, bundle),
                       error=error, run=run)


def saved_files(attempt: Attempt, slug: str, bundles: BundleCatalogue,
                blobs: BlobStore) -> list[SubmittedFile]:
    """What the editor would open (drafts, else the last submission, else the starter): what
    the console runs when the page did not send the editor's text."""
    challenge = attempts.assessment_challenge(attempt, slug)
    bundle = attempts.attempt_bundle(attempt, challenge, bundles)
    opened = drafts.editor_files(attempt, challenge, bundle, blobs)
    return [SubmittedFile(f.name, f.content.encode("utf-8")) for f in opened.files]
