"""Drafts: the workspace's autosaved files, their bounded history, what the editor opens,
and their submission when the time runs out."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext
from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError

from heldout.graders.bundle import Bundle
from heldout.graders.errors import ServedFileNotFound
from heldout.graders.serving import served_file, starter_files
from heldout.platform.blobs import BlobMissing, BlobStore
from heldout.platform.errors import InvalidInput, PlatformError, UploadTooLarge
from heldout.platform.extensions import db
from heldout.platform.i18n import format_number
from heldout.platform.models import (
    Attempt,
    Challenge,
    DeadlineSubmission,
    Draft,
    DraftSnapshot,
    EditorEvent,
    Submission,
)
from heldout.platform.services import webhooks
from heldout.platform.services.attempts import assessment_challenge, close_attempt, open_attempt
from heldout.platform.services.catalogue import BundleCatalogue
from heldout.platform.services.jobs import Queue
from heldout.platform.services.submissions import (
    TEXT_SUFFIXES,
    SubmittedFile,
    clean_name,
    enqueue,
    new_submission,
)

# The kind of editor event (services/editor_events.py) that makes the next save a snapshot.
PASTE = "paste"
# Snapshots of a challenge's drafts at most this often (each file changed since is kept):
# enough for a playback, not one per keystroke.
SNAPSHOT_EVERY = timedelta(seconds=30)
# Snapshots kept per challenge of an attempt, its files together (the oldest go first):
# four hours of one file at the fastest pace. Spacing and cap go by the challenge, never
# by file name, so files renamed at every autosave store no more.
MAX_SNAPSHOTS = 480
# Files the editor can open: text the candidate writes (a notebook in the cell editor).
EDITABLE_SUFFIXES = (".py", ".sql", ".md", ".txt", ".toml", ".yaml", ".yml", ".cfg", ".sh",
                     ".ipynb")


@dataclass(frozen=True)
class DraftFile:
    name: str
    content: str


@dataclass(frozen=True)
class SavedDrafts:
    """What an autosave did: the files kept and when the newest change was saved."""

    names: tuple[str, ...]
    saved_at: datetime | None
    changed: bool


@dataclass(frozen=True)
class EditorFiles:
    """What the editor opens: the files, where they come from, and when they were saved.

    ``source`` is "draft" (autosaved), "submission" (the last one submitted) or "starter".
    """

    files: tuple[DraftFile, ...]
    source: str
    saved_at: datetime | None
    editable: bool


@dataclass(frozen=True)
class EditorTab:
    """One tab of the editor. ``role``: "entrypoint" (always submitted), "optional" (a file
    the challenge names, such as a build step, submitted once it has text) or "file"."""

    name: str
    content: str
    role: str


def editor_tabs(bundle: Bundle, files: Sequence[DraftFile]) -> list[EditorTab]:
    """The editor's files as tabs, and a tab for each optional file the challenge names
    that is not among them yet, so the candidate never has to guess its name."""
    entrypoint = bundle.submission.entrypoint
    named = bundle.grading.optional_files() if several_files(bundle) else ()
    tabs = [EditorTab(f.name, f.content, "entrypoint" if f.name == entrypoint
                      else "optional" if f.name in named else "file") for f in files]
    present = {f.name for f in files}
    tabs.extend(EditorTab(name, "", "optional") for name in named if name not in present)
    return tabs


def editable(bundle: Bundle) -> bool:
    """Whether the challenge's files are written in the editor (not uploaded, as notebooks)."""
    return bundle.submission.entrypoint.endswith(EDITABLE_SUFFIXES)


def several_files(bundle: Bundle) -> bool:
    """Whether the candidate may add files beside the entrypoint in the editor."""
    return editable(bundle) and bool(bundle.submission.allowed) and bundle.submission.max_files > 1


def editable_name(bundle: Bundle, name: str) -> str:
    """``name`` cleaned, if it is a file of the challenge the editor may hold; else refused."""
    spec = bundle.submission
    name = clean_name(name)
    if not spec.accepts(name) or not name.endswith(EDITABLE_SUFFIXES):
        raise InvalidInput(gettext("%(name)s is not a file this challenge accepts.", name=name),
                           hint=gettext("Accepted: %(accepted)s.", accepted=spec.describe()),
                           field="files")
    return name


def _checked(bundle: Bundle, files: Sequence[DraftFile]) -> list[DraftFile]:
    spec = bundle.submission
    if not editable(bundle):
        raise InvalidInput(gettext("This challenge is answered by uploading a file, so there "
                                   "is no draft to save."), field="files")
    cleaned: dict[str, DraftFile] = {}
    for item in files:
        name = editable_name(bundle, item.name)
        if name in cleaned:
            raise InvalidInput(gettext("%(name)s was given twice", name=name), field="files")
        cleaned[name] = DraftFile(name, item.content)
    if spec.entrypoint not in cleaned:
        raise InvalidInput(gettext("%(name)s is missing from the draft.", name=spec.entrypoint),
                           field="files")
    if len(cleaned) > spec.max_files:
        raise InvalidInput(gettext("%(count)s files; this challenge takes at most %(most)s.",
                                   count=len(cleaned), most=spec.max_files), field="files")
    total = sum(len(f.content.encode("utf-8", "surrogatepass")) for f in cleaned.values())
    if total > spec.max_bytes:
        raise UploadTooLarge(gettext("The draft has %(size)s bytes; this challenge takes at "
                                     "most %(most)s, so it was not saved.",
                                     size=format_number(total),
                                     most=format_number(spec.max_bytes)),
                             hint=gettext("Keep data and models out of your code."),
                             field="files")
    return list(cleaned.values())


def attempt_drafts(attempt: Attempt, challenge_id: int) -> list[Draft]:
    return list(db.session.scalars(
        select(Draft).where(Draft.attempt_id == attempt.id, Draft.challenge_id == challenge_id)
        .order_by(Draft.id)))


def save_drafts(*, attempt_public_id: str, challenge_slug: str, files: Sequence[DraftFile],
                bundles: BundleCatalogue, now: datetime) -> SavedDrafts:
    """Keep the editor's files as the attempt's drafts of the challenge (one commit).

    The whole set is sent each time: a file left out was removed in the editor. Only a
    change moves ``updated_at``, so an idle page saving the same text is not newer work.
    Refused once the attempt is closed (``AttemptClosed``): work after the deadline is not
    kept, whatever the browser's clock says.
    """
    attempt = open_attempt(attempt_public_id, now=now)
    challenge = assessment_challenge(attempt, challenge_slug)
    checked = _checked(bundles.for_challenge(challenge), files)
    existing = {d.name: d for d in attempt_drafts(attempt, challenge.id)}
    snapshot_due = _snapshot_due(attempt, challenge, now)
    changed = False
    for item in checked:
        draft = existing.pop(item.name, None)
        if draft is None:
            draft = Draft(attempt_id=attempt.id, challenge_id=challenge.id, name=item.name,
                          content=item.content, created_at=now, updated_at=now)
            db.session.add(draft)
            changed = True
        elif draft.content != item.content:
            draft.content = item.content
            draft.updated_at = now
            changed = True
        if snapshot_due:
            _snapshot(attempt, challenge, draft, now)
    for gone in existing.values():
        db.session.delete(gone)
        changed = True
    if snapshot_due:
        _trim_snapshots(attempt, challenge)
    db.session.commit()
    latest = max((d.updated_at for d in attempt_drafts(attempt, challenge.id)), default=None)
    return SavedDrafts(tuple(f.name for f in checked), latest, changed)


def keep_uploads(*, attempt_public_id: str, challenge_slug: str,
                 files: Sequence[SubmittedFile], bundles: BundleCatalogue, now: datetime
                 ) -> str | None:
    """Uploaded files the editor can open become the draft, so the next run or submission
    needs no file chosen again; the sha256 of the entrypoint's text kept, or None when they
    stay an upload only (an archive, a binary, a file the draft refuses)."""
    try:
        texts = [DraftFile(f.name, f.data.decode("utf-8").removeprefix("\ufeff")) for f in files]
    except UnicodeDecodeError:
        return None
    try:
        attempt = open_attempt(attempt_public_id, now=now)
        spec = bundles.for_challenge(assessment_challenge(attempt, challenge_slug)).submission
        save_drafts(attempt_public_id=attempt_public_id, challenge_slug=challenge_slug,
                    files=texts, bundles=bundles, now=now)
    except PlatformError:
        db.session.rollback()
        return None
    return next((text_digest(f.content) for f in texts if f.name == spec.entrypoint), None)


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _snapshot_due(attempt: Attempt, challenge: Challenge, now: datetime) -> bool:
    """Due when the spacing has passed, or when a paste was recorded since the last
    snapshot: the report's "draft after" a paste is then the save that followed it."""
    last = db.session.scalar(
        select(func.max(DraftSnapshot.taken_at)).where(
            DraftSnapshot.attempt_id == attempt.id, DraftSnapshot.challenge_id == challenge.id))
    if last is None or now - last >= SNAPSHOT_EVERY:
        return True
    return db.session.scalar(select(EditorEvent.id).where(
        EditorEvent.attempt_id == attempt.id, EditorEvent.challenge_id == challenge.id,
        EditorEvent.kind == PASTE, EditorEvent.at >= last).limit(1)) is not None


def _snapshot(attempt: Attempt, challenge: Challenge, draft: Draft, now: datetime) -> None:
    last = db.session.scalar(
        select(DraftSnapshot.content).where(
            DraftSnapshot.attempt_id == attempt.id, DraftSnapshot.challenge_id == challenge.id,
            DraftSnapshot.name == draft.name).order_by(DraftSnapshot.id.desc()).limit(1))
    if last == draft.content:
        return
    db.session.add(DraftSnapshot(attempt_id=attempt.id, challenge_id=challenge.id,
                                 name=draft.name, content=draft.content, taken_at=now))
    draft.snapshot_at = now


def _trim_snapshots(attempt: Attempt, challenge: Challenge) -> None:
    db.session.flush()
    stale = select(DraftSnapshot.id).where(
        DraftSnapshot.attempt_id == attempt.id, DraftSnapshot.challenge_id == challenge.id
    ).order_by(DraftSnapshot.id.desc()).offset(MAX_SNAPSHOTS)
    stale_ids = list(db.session.scalars(stale))
    if stale_ids:
        db.session.execute(delete(DraftSnapshot).where(DraftSnapshot.id.in_(stale_ids)))


def snapshots(attempt: Attempt, challenge_id: int) -> list[DraftSnapshot]:
    """The challenge's draft history, oldest first (for a playback)."""
    return list(db.session.scalars(
        select(DraftSnapshot).where(DraftSnapshot.attempt_id == attempt.id,
                                    DraftSnapshot.challenge_id == challenge_id)
        .order_by(DraftSnapshot.taken_at, DraftSnapshot.id)))


def _submitted_text(submission: Submission, blobs: BlobStore) -> list[DraftFile]:
    out = []
    for item in submission.files:
        if not item.name.endswith(TEXT_SUFFIXES) or not item.name.endswith(EDITABLE_SUFFIXES):
            continue
        try:
            out.append(DraftFile(item.name, blobs.get(item.sha256).decode("utf-8")))
        except (BlobMissing, UnicodeDecodeError):
            continue
    return out


def editor_files(attempt: Attempt, challenge: Challenge, bundle: Bundle, blobs: BlobStore
                 ) -> EditorFiles:
    """The drafts if any, else the last submission's text, else the starter: work is never
    reset, and the server's copy is what every browser of the attempt opens."""
    entrypoint = bundle.submission.entrypoint
    can_edit = editable(bundle)
    drafts = attempt_drafts(attempt, challenge.id)
    if drafts:
        ordered = sorted(drafts, key=lambda d: (d.name != entrypoint, d.name))
        return EditorFiles(tuple(DraftFile(d.name, d.content) for d in ordered), "draft",
                           max(d.updated_at for d in drafts), can_edit)
    history = [s for s in attempt.submissions if s.challenge_id == challenge.id]
    if history:
        files = _submitted_text(history[-1], blobs)
        if any(f.name == entrypoint for f in files):
            files.sort(key=lambda f: (f.name != entrypoint, f.name))
            return EditorFiles(tuple(files), "submission", history[-1].created_at, can_edit)
    return EditorFiles(tuple(starter_editor_files(bundle)), "starter", None, can_edit)


def starter_editor_files(bundle: Bundle) -> list[DraftFile]:
    """The starter's files the editor opens, the entrypoint first (empty if none)."""
    entrypoint = bundle.submission.entrypoint
    starter: list[DraftFile] = []
    for item in starter_files(bundle):
        if item.name != entrypoint and not (bundle.submission.accepts(item.name)
                                            and item.name.endswith(EDITABLE_SUFFIXES)):
            continue
        try:
            text = served_file(bundle, "starter", item.name).path.read_text(encoding="utf-8")
        except (ServedFileNotFound, UnicodeDecodeError):
            continue
        starter.append(DraftFile(item.name, text))
    if not any(f.name == entrypoint for f in starter):
        starter.insert(0, DraftFile(entrypoint, ""))
    starter.sort(key=lambda f: (f.name != entrypoint, f.name))
    return starter


@dataclass(frozen=True)
class DeadlineOutcome:
    """What the deadline job did for one attempt's challenge."""

    attempt_id: int
    challenge_id: int
    submission_id: int | None
    note: str


def _due_pairs(now: datetime, limit: int) -> list[tuple[int, int]]:
    """(attempt, challenge) pairs with drafts, past the deadline, never claimed.

    A candidate who pressed Finish chose what to submit: their drafts stay drafts.
    """
    claimed = select(DeadlineSubmission.id).where(
        DeadlineSubmission.attempt_id == Draft.attempt_id,
        DeadlineSubmission.challenge_id == Draft.challenge_id).exists()
    rows = db.session.execute(
        select(Draft.attempt_id, Draft.challenge_id).join(Attempt, Attempt.id == Draft.attempt_id)
        .where(Attempt.deadline <= now,
               or_(Attempt.finish_reason.is_(None), Attempt.finish_reason == "deadline"),
               ~claimed)
        .group_by(Draft.attempt_id, Draft.challenge_id)
        .order_by(Draft.attempt_id, Draft.challenge_id).limit(limit)).all()
    return [(int(a), int(c)) for a, c in rows]


def close_overdue_attempts(now: datetime) -> int:
    """Attempts whose time ran out with nobody on the page: finished, by the deadline."""
    overdue = list(db.session.scalars(select(Attempt).where(
        Attempt.finished_at.is_(None), Attempt.deadline <= now)))
    for attempt in overdue:
        close_attempt(attempt, at=attempt.deadline, reason="deadline")
    db.session.commit()
    return len(overdue)


def submit_due_drafts(*, blobs: BlobStore, queue: Queue, bundles: BundleCatalogue,
                      now: datetime, limit: int = 200) -> list[DeadlineOutcome]:
    """Submit the last saved drafts of every attempt whose time ran out (the worker's job).

    Exactly once per attempt and challenge: the claim row and the submission are committed
    together, and the claim is unique, so a second run, or a second worker racing this one,
    finds the pair claimed (or loses the insert) and submits nothing. Drafts no newer than
    the last submission, or identical to it, are not submitted again.
    """
    close_overdue_attempts(now)
    outcomes: list[DeadlineOutcome] = []
    for attempt_id, challenge_id in _due_pairs(now, limit):
        attempt = db.session.get(Attempt, attempt_id)
        challenge = db.session.get(Challenge, challenge_id)
        if attempt is None or challenge is None:
            continue
        outcome = _submit_pair(attempt, challenge, blobs=blobs, queue=queue, bundles=bundles,
                               now=now)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def _submit_pair(attempt: Attempt, challenge: Challenge, *, blobs: BlobStore,
                 queue: Queue, bundles: BundleCatalogue, now: datetime
                 ) -> DeadlineOutcome | None:
    drafts = attempt_drafts(attempt, challenge.id)
    saved_at = max(d.updated_at for d in drafts)
    history = [s for s in attempt.submissions if s.challenge_id == challenge.id]
    files = [SubmittedFile(d.name, d.content.encode("utf-8", "surrogatepass")) for d in drafts]
    submission: Submission | None = None
    note = ""
    if history and history[-1].created_at >= saved_at:
        note = "nothing saved after the last submission"
    elif history and _same_files(history[-1], files):
        note = "the drafts are the last submission"
    else:
        try:
            bundle = bundles.for_challenge(challenge)
            submission = new_submission(attempt, challenge, bundle, files, blobs=blobs, now=now)
        except PlatformError as exc:
            note = f"not submitted: {exc}"[:300]
    claim = DeadlineSubmission(attempt_id=attempt.id, challenge_id=challenge.id,
                               submission=submission, draft_saved_at=saved_at, note=note,
                               created_at=now)
    if submission is not None:
        db.session.add(submission)
    db.session.add(claim)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # another run claimed it first: that one submitted
        return None
    if submission is not None:
        enqueue(queue, submission)
    else:  # nothing left to grade for this challenge: the work may be complete now
        webhooks.deadline_drafts_settled(attempt, now=now)
        db.session.commit()
    return DeadlineOutcome(attempt.id, challenge.id,
                           submission.id if submission is not None else None, note)


def _same_files(submission: Submission, files: Sequence[SubmittedFile]) -> bool:
    stored = {f.name: f.sha256 for f in submission.files}
    given = {f.name: hashlib.sha256(f.data).hexdigest() for f in files}
    return stored == given
