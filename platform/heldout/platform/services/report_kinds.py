"""What a report shows beyond checks: each kind's declared report parts, public-check activity.

A kind declares its report parts (:class:`heldout.graders.kinds.parts.ReportPart`): which
kept artefact each reads and the template that shows it. Artefacts were kept from a run
that candidate code shared: the parts parse them with caps, the templates escape them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Protocol

from sqlalchemy import select

from heldout.graders.bundle_types import GradingConfig
from heldout.graders.errors import GraderError, UnknownName
from heldout.graders.kinds import KINDS
from heldout.graders.kinds.parts import KeptArtefact
from heldout.platform.blobs import BlobMissing, BlobStore, BundleVersionMissing
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, Challenge, EvaluationRecord, PublicRun, Submission
from heldout.platform.services.catalogue import get_bundles
from heldout.platform.templating import kind_template


@dataclass(frozen=True)
class ArtefactNote:
    """An artefact the report can't show, and why (not kept, missing, unreadable)."""

    name: str
    note: str


@dataclass(frozen=True)
class ShownPart:
    """One report part, read: the template that shows it and what it shows (``part``)."""

    template: str
    value: object


@dataclass(frozen=True)
class KindViews:
    """The kind-specific parts of one evaluation's report section, in the kind's order."""

    parts: tuple[ShownPart, ...] = ()
    notes: tuple[ArtefactNote, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.parts and not self.notes


@dataclass(frozen=True)
class PublicActivity:
    """The candidate's public-check runs on one challenge: activity, never submissions.

    ``console``: which of them were runs of the run console (one input, no check).
    """

    count: int
    times: tuple[datetime, ...]
    statuses: tuple[str, ...]
    console: tuple[bool, ...] = ()


def kind_views(evaluation: EvaluationRecord, kind_name: str, blobs: BlobStore, render_dir: Path,
               grading: Callable[[], GradingConfig | None] = lambda: None) -> KindViews:
    """Read the evaluation's kept artefacts into the report parts its kind declares.

    ``grading`` returns the graded bundle version's ``[grading]`` for parts that need it
    (None when that version is gone); ``render_dir`` is where parts cache what they derive.
    """
    try:
        declared = KINDS.get(kind_name).report_parts
    except UnknownName:
        return KindViews()  # a kind this install no longer has: its checks still show
    kept = {str(entry.get("name", "")): entry for entry in evaluation.artefacts or []
            if isinstance(entry, dict)}
    parts: list[ShownPart] = []
    notes: list[ArtefactNote] = []
    for part in declared:
        entry = kept.get(part.artefact)
        if entry is None:
            continue
        digest = entry.get("sha256")
        if not isinstance(digest, str):
            notes.append(ArtefactNote(part.artefact, str(entry.get("note") or "not kept")))
            continue
        artefact = KeptArtefact(part.artefact, digest, partial(blobs.get, digest), grading,
                                render_dir)
        try:
            parts.append(ShownPart(kind_template(kind_name, part), part.read(artefact)))
        except (BlobMissing, ValueError) as exc:
            notes.append(ArtefactNote(part.artefact, f"can't be shown: {exc}"))
    return KindViews(tuple(parts), tuple(notes))


def public_activity(attempt: Attempt) -> dict[int, PublicActivity]:
    """The attempt's public-check runs, by challenge id (times oldest first)."""
    runs = db.session.scalars(select(PublicRun).where(PublicRun.attempt_id == attempt.id)
                              .order_by(PublicRun.created_at, PublicRun.id))
    by_challenge: dict[int, list[PublicRun]] = {}
    for run in runs:
        by_challenge.setdefault(run.challenge_id, []).append(run)
    return {challenge_id: PublicActivity(len(rows), tuple(r.created_at for r in rows),
                                         tuple(r.status for r in rows),
                                         tuple(r.console is not None for r in rows))
            for challenge_id, rows in by_challenge.items()}


class CountedResult(Protocol):
    """What a report knows of one challenge: its counted submission, if any."""

    @property
    def challenge(self) -> Challenge: ...

    @property
    def counted(self) -> Submission | None: ...


def report_kind_views(results: Iterable[CountedResult], blobs: BlobStore) -> dict[int, KindViews]:
    """Kind views of each counted submission's evaluation, by submission id.

    Parts cache what they derive (rendered notebooks) beside the blob store (``rendered/``).
    """
    views: dict[int, KindViews] = {}
    for result in results:
        submission = result.counted
        if submission is None or submission.evaluation is None:
            continue
        grading = partial(_grading, result.challenge.slug, submission.evaluation.challenge_version)
        views[submission.id] = kind_views(submission.evaluation, result.challenge.kind, blobs,
                                          blobs.root.parent / "rendered", grading)
    return views


def _grading(slug: str, version: str) -> GradingConfig | None:
    """The graded bundle version's ``[grading]``; None when that version is gone (a part
    still shows, without what it took from the bundle)."""
    try:
        return get_bundles().at_version(slug, version).grading
    except (BundleVersionMissing, GraderError):
        return None
