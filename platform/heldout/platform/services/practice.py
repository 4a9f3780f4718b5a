"""The practice page: anyone tries the workspace on the practice sample before an assessment.

A practice run belongs to no attempt, invite or challenge row (``PracticeRun``): nothing
tried here can reach a report, a percentile, an export, item analytics or a similarity
check. It travels the same way as a public run (stored files, the queue, a leased job,
the sandbox, ``evaluate``), behind every real submission and public run, and only the
browser that made it (its session's visitor key) sees it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask_babel import gettext
from sqlalchemy import delete, func, select

from heldout.graders.bundle import SLUG_PATTERN, Bundle, load_bundle
from heldout.graders.errors import BundleError
from heldout.graders.evaluate import evaluate as graders_evaluate
from heldout.graders.result import Evaluation, Split
from heldout.platform.blobs import BlobMissing, BlobStore, BundleVersionMissing
from heldout.platform.errors import NotFound, TooManySubmissions
from heldout.platform.extensions import db
from heldout.platform.i18n import N_
from heldout.platform.models import PracticeRun, new_public_id, utcnow
from heldout.platform.services import jobs
from heldout.platform.services.catalogue import BundleCatalogue
from heldout.platform.services.drafts import starter_editor_files
from heldout.platform.services.public_runs import (
    PublicEvaluate,
    PublicRunJob,
    StoredFile,
    progress,
    public_run_view,
    shown_beside,
    store_files,
    stored_files,
)
from heldout.platform.services.scoring import PENDING, GradingStatus, shortfalls
from heldout.platform.services.submissions import SubmittedFile, check_files

log = logging.getLogger(__name__)

# "public": the sample's public checks ("Run public checks"); "hidden": graded as a
# submission would be ("Submit").
SPLITS: tuple[Split, ...] = ("public", "hidden")
# One run at a time per browser, as in the workspace.
MAX_PENDING_PER_VISITOR = 1
# Anonymous runs waiting at once, whoever made them: past it the page asks to come back in
# a moment, so a crowd trying the sample never fills the workers' queue.
MAX_PENDING_SITE_WIDE = 20
# Seconds a visitor is asked to wait when practice is busy for everyone.
BUSY_RETRY_SECONDS = 30
NO_PRACTICE_HINT = N_("Your assessment works without it: its workspace explains itself when "
                      "you start.")
# How long a finished practice run is kept (its page shows the latest ones) before the
# daily retention job deletes it and the files no other row names.
KEPT_FOR = timedelta(days=1)


def new_visitor() -> str:
    """The random key a browser's session keeps to find its practice runs again."""
    return new_public_id()


def practice_bundle(slug: str, bundles: BundleCatalogue) -> Bundle:
    """The practice sample: bundle ``slug`` of the challenges directory, as a stored version.

    Only a bundle marked ``practice = true`` is ever served: a misconfigured slug can't
    put an assessment's challenge on a public page.
    """
    if not slug or not SLUG_PATTERN.fullmatch(slug):
        raise NotFound(gettext("There is no practice task on this server."),
                       hint=gettext(NO_PRACTICE_HINT))
    try:
        live = load_bundle(Path(bundles.challenges_dir) / slug)
        bundle = bundles.at_version(slug, live.version)
    except (BundleError, BundleVersionMissing) as exc:
        log.warning("practice sample %r unavailable: %s", slug, exc)
        raise NotFound(gettext("The practice task is not available right now."),
                       hint=gettext(NO_PRACTICE_HINT)) from None
    if not bundle.practice:
        log.warning("practice sample %r is not marked practice = true: not served", slug)
        raise NotFound(gettext("There is no practice task on this server."),
                       hint=gettext(NO_PRACTICE_HINT))
    return bundle


def _pending(*where: Any) -> int:
    return int(db.session.scalar(
        select(func.count()).select_from(PracticeRun)
        .where(PracticeRun.status.in_(PENDING), *where)) or 0)


def request_practice_run(*, visitor: str, split: Split, files: Sequence[SubmittedFile],
                         pasted_code: str | None, slug: str, blobs: BlobStore,
                         queue: jobs.Queue, bundles: BundleCatalogue,
                         now: datetime) -> PracticeRun:
    """Store the files (checked as a submission's are) and the queued run, then enqueue it."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}")
    bundle = practice_bundle(slug, bundles)
    if _pending(PracticeRun.visitor == visitor) >= MAX_PENDING_PER_VISITOR:
        raise TooManySubmissions(
            gettext("Your previous practice run has not finished yet."),
            hint=gettext("Wait for its result below, then run again; your code is still in "
                         "the editor."), retry_after=max(1, int(bundle.limits.wall_seconds)))
    if _pending() >= MAX_PENDING_SITE_WIDE:
        raise TooManySubmissions(
            gettext("Practice is busy right now: many people are trying it at once."),
            hint=gettext("Try again in %(wait)s seconds; your code is still in the editor. "
                         "Your assessment is not affected.", wait=BUSY_RETRY_SECONDS),
            retry_after=BUSY_RETRY_SECONDS)
    if not files and pasted_code is not None:
        files = [SubmittedFile(bundle.submission.entrypoint, pasted_code.encode("utf-8"))]
    checked = check_files(bundle.submission, files)
    run = PracticeRun(visitor=visitor, split=split, challenge_slug=bundle.slug,
                      challenge_version=bundle.version, status=GradingStatus.QUEUED,
                      created_at=now,
                      files=store_files(checked, blobs))
    db.session.add(run)
    db.session.commit()
    jobs.enqueue_committed(queue, PRACTICE_RUNS.kind, run.id)
    return run


def visitor_run(visitor: str | None, run_id: int) -> PracticeRun | None:
    """A practice run of this browser only (anyone else's id is simply not found)."""
    run = db.session.get(PracticeRun, run_id)
    return run if run is not None and visitor and run.visitor == visitor else None


def visitor_runs(visitor: str | None, split: Split, *, limit: int = 10) -> list[PracticeRun]:
    """This browser's latest runs of ``split``, newest first."""
    if not visitor:
        return []
    return list(db.session.scalars(
        select(PracticeRun).where(PracticeRun.visitor == visitor, PracticeRun.split == split)
        .order_by(PracticeRun.id.desc()).limit(limit)))


def editor_text(run: PracticeRun | None, bundle: Bundle, blobs: BlobStore) -> str:
    """What the editor opens: the entrypoint of this browser's latest run, else the starter's."""
    if run is not None:
        for item in stored_files(run):
            if item.name == bundle.submission.entrypoint:
                try:
                    return blobs.get(item.sha256).decode("utf-8")
                except (BlobMissing, UnicodeDecodeError):
                    break
    return starter_editor_files(bundle)[0].content


def latest_run(visitor: str | None) -> PracticeRun | None:
    """This browser's latest practice run, checks or Submit."""
    if not visitor:
        return None
    return db.session.scalars(select(PracticeRun).where(PracticeRun.visitor == visitor)
                              .order_by(PracticeRun.id.desc()).limit(1)).first()


def submission_view(run: PracticeRun, *, now: datetime) -> dict[str, Any]:
    """A practice Submit as the workspace shows a submission (the same keys): its status,
    and once graded its score and why it fell short."""
    where = progress(run, now=now, running=N_("Your code is running in the sandbox."),
                     label=N_("Graded"),
                     failed=N_("A platform problem prevented the run. It is not your code's "
                               "fault; run Submit again in a while."))
    score: float | None = None
    found: tuple[Any, ...] = ()
    if run.status == GradingStatus.GRADED and run.evaluation is not None:
        evaluation = Evaluation.from_dict(run.evaluation)
        score = evaluation.score
        found = shortfalls(evaluation.run, evaluation.checks, public=False)
    return {**where.as_json(), "created_at": where.created_at, "score": score,
            "reasons": [asdict(r) for r in found], "counts": False, "count_note": ""}


def practice_state(visitor: str | None, *, now: datetime) -> dict[str, Any]:
    """What the practice page's live parts show (the workspace's keys, which its script
    reads): the browser's practice submissions, newest first, and its latest checks run."""
    views = [submission_view(run, now=now) for run in visitor_runs(visitor, "hidden")]
    latest = visitor_runs(visitor, "public", limit=1)
    checks = public_run_view(latest[0], now=now) if latest else None
    return {
        "submissions": views,
        "public_run": checks.as_json() if checks is not None else None,
        "final": all(v["final"] for v in views) and (checks is None or checks.final),
    }


def prune(*, now: datetime, dry_run: bool = False) -> tuple[int, set[str]]:
    """Delete the practice runs finished longer than ``KEPT_FOR`` ago (with ``dry_run``,
    count them): how many, and the blob hashes they named (the caller removes those no
    other row names once this is committed)."""
    old = [PracticeRun.created_at < now - KEPT_FOR, PracticeRun.status.not_in(PENDING)]
    runs = list(db.session.scalars(select(PracticeRun).where(*old)))
    digests = {str(entry.get("sha256")) for run in runs for entry in run.files or []
               if isinstance(entry, dict) and entry.get("sha256")}
    if runs and not dry_run:
        db.session.execute(delete(PracticeRun).where(*old))
    return len(runs), digests


class PracticeRunJob(jobs.LeasedJob[PracticeRun]):
    """A practice run: the sample's public checks, or its grading, after every real job."""

    kind = "run_practice"
    name = "practice run"
    # Below a public run's -10: practice never delays a candidate's assessment.
    priority = -20
    workdir_prefix = "practice-"
    gave_up = PublicRunJob.gave_up

    @property
    def model(self) -> type[PracticeRun]:
        return PracticeRun

    def files(self, row: PracticeRun) -> list[StoredFile]:
        return stored_files(row)

    def variant_seed(self, row: PracticeRun) -> int | None:
        return None  # no attempt, no variant: the sample's committed data

    def request(self, row: PracticeRun) -> dict[str, Any] | None:
        return {"split": row.split}

    def evaluate(self, bundle: Bundle, directory: Path,
                 request: dict[str, Any] | None = None) -> Evaluation:
        split: Split = "hidden" if (request or {}).get("split") == "hidden" else "public"
        evaluate: PublicEvaluate = self.evaluator or graders_evaluate
        result = evaluate(bundle, directory, split=split)
        if result.split != split:
            return Evaluation.internal_error(bundle.slug, bundle.version,
                                             f"the evaluator did not run the {split} checks")
        return result

    def record(self, row: PracticeRun, result: Evaluation, now: datetime,
               kept: list[dict[str, Any]]) -> None:
        row.evaluation = result.as_dict()
        row.output = shown_beside(result)


PRACTICE_RUNS = PracticeRunJob()


def run_practice(run_id: int, settings: jobs.GradingSettings, *,
                 evaluate: PublicEvaluate | None = None,
                 clock: Callable[[], datetime] = utcnow) -> jobs.JobOutcome:
    """Run one practice run if nobody else holds it, under a lease like a public run's."""
    return jobs.run(PracticeRunJob(evaluate), run_id, settings, clock=clock)
