"""Candidate submissions: validate, store durably, then queue for grading."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from flask_babel import gettext
from sqlalchemy import func, select

from heldout.graders.bundle import Bundle, SubmissionSpec
from heldout.platform.blobs import BlobStore
from heldout.platform.errors import InvalidInput, NotFound, TooManySubmissions, UploadTooLarge
from heldout.platform.extensions import db
from heldout.platform.i18n import N_, format_number
from heldout.platform.models import Attempt, Challenge, Submission, SubmissionFile
from heldout.platform.services import archives, jobs
from heldout.platform.services.attempts import assessment_challenge, hold_attempt, open_attempt
from heldout.platform.services.catalogue import BundleCatalogue
from heldout.platform.services.grading import SUBMISSIONS
from heldout.platform.services.jobs import Queue
from heldout.platform.services.scoring import PENDING, GradingStatus, grading_pending

# Files that must be text (the candidate's code and notebooks); anything else is opaque.
TEXT_SUFFIXES = (".py", ".txt", ".md", ".ipynb", ".json", ".yaml", ".yml", ".toml", ".cfg",
                 ".csv", ".sql", ".sh")


@dataclass(frozen=True)
class SubmittedFile:
    name: str
    data: bytes


MAX_NAME_CHARS = 200  # a whole relative path; each part must also fit a file system's 255 bytes


def _clean_name(name: str) -> str:
    path = PurePosixPath(name.replace("\\", "/"))
    unusable = (not name or path.is_absolute() or ".." in path.parts or name.startswith(".")
                or not name.isprintable() or len(name) > MAX_NAME_CHARS
                or any(len(part.encode("utf-8", "surrogatepass")) > 255 for part in path.parts))
    if unusable:
        shown = name if len(name) <= 60 else name[:60] + "…"
        raise InvalidInput(gettext("%(name)s is not a usable file name", name=repr(shown)),
                           hint=gettext("Use plain names of at most %(most)s characters, "
                                        "without control characters.", most=MAX_NAME_CHARS),
                           field="files")
    return path.as_posix()


clean_name = _clean_name  # the same rules for drafts' file names


def _expanded(spec: SubmissionSpec, files: Sequence[SubmittedFile]) -> list[SubmittedFile]:
    """Uploaded .zip archives replaced by the files they hold (unless the challenge wants
    the archive itself)."""
    out: list[SubmittedFile] = []
    for item in files:
        if item.name.lower().endswith(".zip") and not spec.accepts(item.name):
            inner = archives.expand_zip(item.name, item.data, max_files=spec.max_files,
                                        max_bytes=spec.max_bytes, clean_name=_clean_name)
            out.extend(SubmittedFile(name, data) for name, data in inner)
        else:
            out.append(item)
    return out


def _check_notebook(name: str, data: bytes) -> None:
    """A notebook must be one nbformat can read and validate, with the error shown."""
    import nbformat

    try:
        notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
        nbformat.validate(notebook)
    except Exception as exc:  # nbformat raises several unrelated types for bad input
        first_line = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(gettext("%(name)s is not a valid Jupyter notebook: %(problem)s",
                                   name=name, problem=first_line),
                           hint=gettext("Save it again from Jupyter, or submit a .py script."),
                           field="files") from None


def check_files(spec: SubmissionSpec, files: Sequence[SubmittedFile]) -> list[SubmittedFile]:
    """The files if the challenge accepts them; otherwise an error saying what to change."""
    accepted = spec.describe()
    if not files or all(not f.data.strip() for f in files):
        raise InvalidInput(gettext("The submission is empty: write your code in the editor or "
                                   "choose a file."), field="files")
    cleaned: dict[str, SubmittedFile] = {}
    for item in _expanded(spec, files):
        name = _clean_name(item.name)
        if not spec.accepts(name):
            raise InvalidInput(gettext("%(name)s is not a file this challenge accepts.",
                                       name=name),
                               hint=gettext("Accepted: %(accepted)s.", accepted=accepted),
                               field="files")
        if name in cleaned:
            raise InvalidInput(gettext("%(name)s was given twice", name=name), field="files")
        if name.endswith(TEXT_SUFFIXES):
            try:
                item.data.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput(gettext("%(name)s is not a UTF-8 text file (wrong file "
                                           "type?)", name=name),
                                   hint=gettext("Accepted: %(accepted)s.", accepted=accepted),
                                   field="files") from None
        cleaned[name] = SubmittedFile(name, item.data)
    if spec.entrypoint not in cleaned:
        raise InvalidInput(gettext("%(name)s is missing: the run starts with it.",
                                   name=spec.entrypoint),
                           hint=gettext("Accepted: %(accepted)s.", accepted=accepted),
                           field="files")
    if len(cleaned) > spec.max_files:
        raise InvalidInput(gettext("%(count)s files; this challenge takes at most %(most)s.",
                                   count=len(cleaned), most=spec.max_files), field="files")
    total = sum(len(f.data) for f in cleaned.values())
    if total > spec.max_bytes:
        raise UploadTooLarge(gettext("The submission has %(size)s bytes; this challenge takes "
                                     "at most %(most)s.", size=format_number(total),
                                     most=format_number(spec.max_bytes)),
                             hint=gettext("Submit code only, not data or models."),
                             field="files")
    # Parsing a notebook costs far more than its size: only once every cap has held.
    for name, item in cleaned.items():
        if name.endswith(".ipynb"):
            _check_notebook(name, item.data)
    return list(cleaned.values())


def pending_count(attempt: Attempt) -> int:
    """Submissions of the attempt still waiting for, or in, grading."""
    return int(db.session.scalar(
        select(func.count()).select_from(Submission)
        .where(Submission.attempt_id == attempt.id,
               Submission.status.in_(PENDING))) or 0)


def submit(*, attempt_public_id: str, challenge_slug: str, files: Sequence[SubmittedFile],
           blobs: BlobStore, queue: Queue, bundles: BundleCatalogue, now: datetime,
           pasted_code: str | None = None, max_pending: int | None = None) -> Submission:
    """Store the files and the queued Submission (committed), then enqueue its grading.

    Uploaded ``files`` win; without any, ``pasted_code`` (the editor) is the entrypoint.
    With ``max_pending``, an attempt that already has that many submissions queued or
    running is refused (``TooManySubmissions``): one candidate can't fill the queue.

    The row is committed before the job is queued and before the caller answers, so an
    accepted submission survives a crash; a failed enqueue is recovered by the watchdog.
    """
    attempt = open_attempt(attempt_public_id, now=now)
    challenge = assessment_challenge(attempt, challenge_slug)
    if max_pending is not None:
        hold_attempt(attempt)  # until the commit: concurrent submits count one another
    if max_pending is not None and pending_count(attempt) >= max_pending:
        db.session.rollback()  # lets the others go
        raise TooManySubmissions(
            gettext("You already have %(count)s submissions waiting to be graded.",
                    count=max_pending),
            hint=gettext("Wait until one of them is graded, then submit again; your code is "
                         "still in the editor."))
    bundle = bundles.for_challenge(challenge)
    if not files and pasted_code is not None:
        files = [SubmittedFile(bundle.submission.entrypoint, pasted_code.encode("utf-8"))]
    submission = new_submission(attempt, challenge, bundle, files, blobs=blobs, now=now)
    db.session.add(submission)
    db.session.commit()
    enqueue(queue, submission)
    return submission


def new_submission(attempt: Attempt, challenge: Challenge, bundle: Bundle,
                   files: Sequence[SubmittedFile], *, blobs: BlobStore, now: datetime
                   ) -> Submission:
    """A queued Submission of checked ``files`` (stored in ``blobs``), not yet added or
    committed: the caller's transaction decides (Submit, or the deadline's drafts)."""
    checked = check_files(bundle.submission, files)
    submission = Submission(attempt=attempt, challenge=challenge, challenge_slug=challenge.slug,
                            challenge_version=bundle.version, status=GradingStatus.QUEUED,
                            created_at=now)
    submission.files = [SubmissionFile(name=f.name, sha256=blobs.put(f.data), size=len(f.data))
                        for f in checked]
    return submission


def enqueue(queue: Queue, submission: Submission) -> None:
    """Queue a committed submission's grading; if the queue is down, the watchdog will."""
    jobs.enqueue_committed(queue, SUBMISSIONS.kind, submission.id)


def attempt_submission(attempt: Attempt, submission_id: int) -> Submission:
    """A submission of this attempt only (another attempt's id is simply not found)."""
    submission = db.session.get(Submission, submission_id)
    if submission is None or submission.attempt_id != attempt.id:
        raise NotFound("No such submission")
    return submission


def read_files(submission: Submission, blobs: BlobStore) -> dict[str, bytes]:
    return {f.name: blobs.get(f.sha256) for f in submission.files}


# A status's name and what it means for the candidate, in their language where shown.
STATUS_LABELS = {
    GradingStatus.QUEUED: N_("Queued"),
    GradingStatus.RUNNING: N_("Running"),
    GradingStatus.GRADED: N_("Graded"),
    GradingStatus.INTERNAL_ERROR: N_("Platform error"),
}


def candidate_status(submission: Submission, *, show_scores: bool, now: datetime
                     ) -> dict[str, Any]:
    """What the candidate's page shows about a submission (JSON for the live status)."""
    status = submission.status
    retrying = status == GradingStatus.INTERNAL_ERROR and submission.retry_at is not None
    message = {
        GradingStatus.QUEUED: N_("Waiting for a grading worker."),
        GradingStatus.RUNNING: N_("Your code is running in the sandbox."),
        GradingStatus.GRADED: N_("Graded."),
        GradingStatus.INTERNAL_ERROR: (
            N_("A platform problem interrupted grading; it will be retried automatically. "
               "This is not counted against you.") if retrying else
            N_("A platform problem prevented grading. The hiring team has been told and will "
               "re-run it; this is not counted against you.")),
    }[status]
    elapsed = None
    if status == GradingStatus.RUNNING and submission.started_at is not None:
        elapsed = max(0, int((now - submission.started_at).total_seconds()))
    evaluation = submission.evaluation
    score = None
    if show_scores and status == GradingStatus.GRADED and evaluation is not None:
        score = evaluation.score
    return {
        "id": submission.id,
        "status": status,
        "label": gettext(STATUS_LABELS[status]),
        "final": not grading_pending(submission),
        "message": gettext(message),
        "elapsed_seconds": elapsed,
        "score": score,
        "created_at": submission.created_at.isoformat(),
    }
