"""Candidates and submissions for the topology, made through the platform's services, and
what the database says about them afterwards."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from heldout.platform.extensions import db
from heldout.platform.models import EvaluationRecord, Submission, SubmissionFile, utcnow
from heldout.platform.queue import get_queue
from heldout.platform.remote_files import blob_store
from heldout.platform.services import accounts, assessments, attempts, catalogue, invites, submissions
from tests.production.hosts import CHALLENGES, FUNCTION, SQL, Topology

ENTRYPOINTS = {SQL: "query.sql", FUNCTION: "solution.py"}


@dataclass(frozen=True)
class Row:
    """A submission as the database holds it, with its evaluation rows."""

    id: int
    slug: str
    version: str
    status: str
    tries: int
    lease_owner: str | None
    retry_at: datetime | None
    error: str | None
    file_sha256: str
    evaluations: int
    score: float | None
    artefacts: tuple[str, ...]  # sha256 of each artefact kept

    @property
    def final(self) -> bool:
        """Graded, or a platform error with no retry left (one with a retry will run again)."""
        return self.status == "graded" or (self.status == "internal_error"
                                           and self.retry_at is None)


class Workload:
    """One assessment of the topology's two challenges, and candidates taking it."""

    def __init__(self, topology: Topology, app: Any, name: str) -> None:
        self.topology = topology
        self.app = app
        with app.app_context():
            email = f"rec-{secrets.token_hex(4)}@example.com"
            user = accounts.create_user(email, "Rec", "recruiter", "correct horse battery")
            self.user_id = user.id
            self.assessment_id = assessments.create_assessment(
                name=name, challenge_slugs=list(CHALLENGES), time_limit_minutes=120,
                instructions="", expires_at=None, show_scores=True, created_by_id=user.id).id
        self.attempts: list[str] = []

    def reference(self, slug: str) -> str:
        path = (self.topology.web_challenges / slug / "solutions" / "reference"
                / ENTRYPOINTS[slug])
        return path.read_text()

    def code(self, slug: str, tag: str, sleep: float = 0) -> str:
        """The reference solution, made unique by ``tag`` (so its blob names one submission);
        the function one optionally sleeps ``sleep`` seconds first (at import)."""
        if slug == SQL:
            assert not sleep, "a sql submission cannot sleep"
            return f"{self.reference(slug)}\n-- submission {tag}\n"
        pause = f"import time\ntime.sleep({sleep})\n" if sleep else ""
        return f"# submission {tag}\n{pause}{self.reference(slug)}"

    def candidate(self) -> str:
        with self.app.app_context():
            number = len(self.attempts) + 1
            invite = invites.create_invite(
                assessment_id=self.assessment_id, candidate_name=f"Candidate {number}",
                candidate_email=f"c{number}-{secrets.token_hex(3)}@example.org",
                created_by_id=self.user_id, secret=self.topology.secret_key, ttl_days=1,
                now=utcnow()).invite
            attempt = attempts.start_attempt(invite, consent=True, now=utcnow())
            self.attempts.append(attempt.public_id)
            return attempt.public_id

    def submit(self, attempt: str, slug: str, code: str) -> int:
        """Submit as the web app does: files stored, row committed, then the job queued."""
        with self.app.app_context():
            submission = submissions.submit(
                attempt_public_id=attempt, challenge_slug=slug, files=[],
                blobs=blob_store(Path(self.app.config["HELDOUT_DATA_DIR"]) / "blobs", None),
                queue=get_queue(), bundles=catalogue.get_bundles(), now=utcnow(),
                pasted_code=code)
            return submission.id

    def batch(self, count: int, tag: str, sleep: float = 0) -> list[int]:
        """``count`` reference submissions, alternating the two challenges (the function
        one sleeping ``sleep`` s), one candidate per two submissions."""
        ids: list[int] = []
        attempt = ""
        for index in range(count):
            if index % 2 == 0:
                attempt = self.candidate()
            slug = SQL if index % 2 == 0 and not sleep else FUNCTION
            ids.append(self.submit(attempt, slug, self.code(slug, f"{tag}-{index}", sleep)))
        return ids

    def rows(self, ids: Iterable[int]) -> dict[int, Row]:
        ids = list(ids)
        with self.app.app_context():
            counts: dict[int, int] = {
                submission_id: count for submission_id, count in db.session.execute(
                    select(EvaluationRecord.submission_id, func.count())
                    .where(EvaluationRecord.submission_id.in_(ids))
                    .group_by(EvaluationRecord.submission_id))}
            found: dict[int, Row] = {}
            for submission in db.session.scalars(select(Submission).where(Submission.id.in_(ids))):
                (sha,) = db.session.scalars(select(SubmissionFile.sha256).where(
                    SubmissionFile.submission_id == submission.id)).all()
                evaluation = submission.evaluation
                found[submission.id] = Row(
                    id=submission.id, slug=submission.challenge_slug,
                    version=submission.challenge_version, status=submission.status,
                    tries=submission.tries, lease_owner=submission.lease_owner,
                    retry_at=submission.retry_at,
                    error=submission.error, file_sha256=sha, evaluations=counts.get(submission.id, 0),
                    score=None if evaluation is None else evaluation.score,
                    artefacts=tuple(str(a["sha256"]) for a in (evaluation.artefacts if evaluation
                                                               else []) if a.get("sha256")))
            db.session.rollback()
        return found

    def wait_final(self, ids: list[int], timeout: float,
                   watch: dict[int, set[str]] | None = None) -> dict[int, Row]:
        """Every submission of ``ids`` final (``Row.final``), polled; ``watch``
        collects the lease owners seen on each meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.rows_or_none(ids)
            if rows is not None:
                if watch is not None:
                    for row in rows.values():
                        if row.lease_owner:
                            watch.setdefault(row.id, set()).add(row.lease_owner)
                if all(row.final for row in rows.values()):
                    return rows
            if time.monotonic() > deadline:
                states = {i: (r.status, r.tries) for i, r in (rows or {}).items()}
                raise AssertionError(f"not all final after {timeout:g} s: {states}")
            time.sleep(0.2)

    def rows_or_none(self, ids: list[int]) -> dict[int, Row] | None:
        """The rows, or None while the database can't be reached (a restart)."""
        from heldout.platform.errors import DATABASE_UNAVAILABLE

        try:
            return self.rows(ids)
        except DATABASE_UNAVAILABLE:
            with self.app.app_context():
                db.session.rollback()
            return None


def holders(topology: Topology, digest: str) -> list[str]:
    """The worker hosts whose blob cache holds ``digest``."""
    return [host.name for host in topology.hosts
            if (host.data / "blobs" / digest[:2] / digest).is_file()]


def bundle_versions(data_dir: Path, slug: str) -> list[Path]:
    """The stored versions of ``slug`` under a data directory's bundle store."""
    return sorted(path for path in (data_dir / "bundles").glob(f"*/{slug}")
                  if (path / "challenge.toml").is_file())
