"""Server time of every staff page (and the candidate's) with N candidates in the database.

``heldout bench pages`` builds its own database (SQLite in a temporary data directory, or
an empty PostgreSQL database given by URL): one hiring team, its staff, an assessment of
three challenges and N candidates in the states a real assessment holds. It then asks
every page through the app's own WSGI handling (Flask's test client, no socket), signed in
with the role each page is for, and reports per page the median and p95 wall time, the
process CPU time, the time to the first byte of the body (exports stream theirs) and the
SQL statements per request, beside the trivial ``/healthz`` timed the same way in the same
passes; and the memory of the serving process (this one) while the pages are timed.

The app runs with ``HELDOUT_ENV=production`` (CSRF with its HTTPS referrer check, secure
cookies): every request goes to an ``https://`` base URL, so the client sends the secure
cookies back as a browser would.

How the data is made. Through the services, as the web app would: staff accounts, the
team and its members, the assessment, every invite (``invites.create_invite``), opening,
revoking, starting (``attempts.start_attempt``), finishing (``attempts.finish_attempt``,
or the deadline closing it in ``attempts.open_attempt``), submissions' files
(``submissions.new_submission``: checked and stored in the blob store; candidates' files
come in a few dozen variants, kept once each), drafts
(``drafts.save_drafts``), reviews (``reviews.save_review``) and audit rows. Through the
models, in bulk: what grading would write. No sandbox runs: each graded submission gets an
``EvaluationRecord`` built from a graders ``Evaluation`` (checks, metrics, run statistics
shaped like the real kinds' results, scores drawn at random); the standings follow them
as they would after grading (the session hook of ``services/standings.py``). This is
seeded data for timing pages only; its scores mean nothing. On SQLite, seeding commits
without syncing to disk (``_unsynced``); the pages are timed on ordinary connections.
"""

from __future__ import annotations

import math
import os
import random
import re
import secrets
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

Say = Callable[[str], None]
BASE_URL = "https://heldout.bench"
# One challenge of each of three kinds: a model, functions on hidden cases, SQL queries.
SLUGS = ("churn-prediction", "metrics-from-scratch", "retention-cohorts")
TIME_LIMIT_MINUTES = 120
PASSWORD = "bench-pages-password"  # noqa: S105 - throwaway accounts of a temporary database
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ROLES = ("recruiter", "interviewer", "admin")


@dataclass(frozen=True)
class Page:
    """One GET the bench times: which endpoint, the URL, who asks."""

    endpoint: str
    url: str
    role: str  # recruiter, interviewer, admin, candidate or anonymous
    note: str = ""


@dataclass
class Seeded:
    """What seeding made (the generator's own tally) and the ids the pages need."""

    assessment_id: int = 0
    user_ids: dict[str, int] = field(default_factory=dict)
    states: Counter[str] = field(default_factory=Counter)
    submissions: Counter[str] = field(default_factory=Counter)
    evaluations: int = 0
    drafts: int = 0
    reviews: int = 0
    # A finished candidate with several submissions (the report), some to compare.
    report_attempt: int = 0
    report_submission: int = 0
    compare_attempts: list[int] = field(default_factory=list)
    candidate_token: str = ""
    # A similarity pair, a webhook endpoint and the version analytics are read for.
    pair_id: int = 0
    endpoint_id: int = 0
    version_hex: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"invites": dict(sorted(self.states.items())),
                "submissions": dict(sorted(self.submissions.items())),
                "evaluations": self.evaluations, "drafts": self.drafts,
                "reviews": self.reviews, "seconds": round(self.seconds, 1)}


# --------------------------------------------------------------------------- the data


def _checks(slug: str, score: float, rng: random.Random) -> tuple[list[Any], dict[str, float]]:
    """Checks and metrics of a graded submission, shaped like the kind's real results."""
    from heldout.graders.result import Check

    run = Check("run", "run", True, 0, 0, "exit code 0")
    if slug == "churn-prediction":
        auc = round(0.62 + 0.25 * score / 100 + rng.uniform(-0.01, 0.01), 4)
        return [run, Check("predictions", "test", True, 0, 0, "2000 ids, complete and unique"),
                Check("roc_auc", "metric", score > 0, score, 100,
                      f"roc_auc {auc:.4f} (baseline 0.6200, target 0.8700)")], {"roc_auc": auc}
    if slug == "metrics-from-scratch":
        groups = ("roc_auc", "log_loss", "stratified_test_indices")
        weights = (40.0, 30.0, 30.0)
        checks = [run]
        for group, weight in zip(groups, weights, strict=True):
            earned = round(weight * min(1.0, max(0.0, score / 100 + rng.uniform(-0.2, 0.2))), 1)
            checks.append(Check(f"tests: {group}", "test", earned >= weight, earned, weight,
                                f"{round(12 * earned / weight)} of 12 cases pass"))
        return checks, {}
    checks = [run]
    for query, weight in (("cohort_sizes", 25.0), ("weekly_retention", 50.0),
                          ("best_week_one", 25.0)):
        passed = rng.random() < 0.3 + score / 140
        checks.append(Check(f"query: {query}", "test", passed, weight if passed else 0.0,
                            weight, "rows match" if passed else "3 rows differ"))
    return checks, {}


def _evaluation(submission: Any, score: float, at: datetime, rng: random.Random) -> Any:
    """What the worker would store for a graded submission (see the module's docstring)."""
    from heldout.graders.result import Evaluation, RunStats
    from heldout.platform.models import EvaluationRecord

    checks, metrics = _checks(submission.challenge_slug, score, rng)
    wall = round(rng.uniform(1.5, 40.0), 2)
    result = Evaluation(
        challenge=submission.challenge_slug, version=submission.challenge_version,
        status="graded", score=score, checks=tuple(checks), metrics=metrics,
        run=RunStats(exit_code=0, timed_out=False, oom_killed=False, wall_seconds=wall,
                     peak_memory_mb=round(rng.uniform(60, 900)), output_bytes=48_213,
                     stdout_tail="fitting...\ndone\n", stderr_tail="",
                     cpu_seconds=round(wall * 0.8, 2), warm=True))
    run = result.run
    return EvaluationRecord(
        submission=submission, status=result.status, challenge_version=result.version,
        score=result.score, max_score=result.max_score,
        checks=[check.as_dict() for check in result.checks], metrics=dict(result.metrics),
        run=run.as_dict() if run is not None else None, error=None, created_at=at,
        artefacts=[])


VARIANTS = 31  # different files per challenge and submission number


def _code(bundle: Any, index: int, attempt_no: int) -> bytes:
    """The starter's entrypoint with the candidate's edits, one of ``VARIANTS`` files: the
    blob store keeps one copy of each (as of identical real files), so seeding does not
    write and sync a file per submission."""
    entry = bundle.submission.entrypoint
    path = bundle.starter_dir / entry
    text = path.read_text("utf-8") if path.is_file() else ""
    comment = "--" if entry.endswith(".sql") else "#"
    return (f"{text}\n{comment} variant {index % VARIANTS}, version {attempt_no}\n"
            f"{comment} tuned: {index * 7 % VARIANTS}\n").encode()


def _state(rng: random.Random) -> str:
    """The invite's fate: mostly finished, as in an assessment that ran a while."""
    draw = rng.random()
    for state, up_to in (("sent", 0.08), ("expired", 0.10), ("revoked", 0.12),
                         ("opened", 0.18), ("started", 0.28)):
        if draw < up_to:
            return state
    return "finished"


def seed(candidates: int, *, secret: str, now: datetime, say: Say, rng_seed: int = 0) -> Seeded:
    """The team, its staff, the assessment and ``candidates`` candidates (in an app context)."""
    from flask import current_app

    from heldout.platform.blobs import BlobStore
    from heldout.platform.errors import AttemptClosed
    from heldout.platform.extensions import db
    from heldout.platform.models import Submission
    from heldout.platform.services import (
        accounts,
        assessments,
        attempts,
        audit,
        catalogue,
        drafts,
        invites,
        reviews,
        submissions,
        users_admin,
    )
    from heldout.platform.services.scoring import GradingStatus

    started_clock = time.monotonic()
    rng = random.Random(rng_seed)
    out = Seeded()
    users = {role: accounts.create_user(f"{role}@bench.example", role.title(), role, PASSWORD)
             for role in ROLES}
    second = accounts.create_user("interviewer2@bench.example", "Second Interviewer",
                                  "interviewer", PASSWORD)
    origin = audit.Origin("127.0.0.1", "heldout bench pages")
    team = users_admin.create_team(actor=users["admin"], name="Bench team", slug="bench",
                                   origin=origin)
    for user in (users["recruiter"], users["interviewer"], second):
        users_admin.set_teams(actor=users["admin"], user_id=user.id, team_ids=[team.id],
                              origin=origin)
    out.user_ids = {role: user.id for role, user in users.items()}
    recruiter = users["recruiter"]
    assessment = assessments.create_assessment(
        name="ML engineer, 2026", challenge_slugs=list(SLUGS),
        time_limit_minutes=TIME_LIMIT_MINUTES, instructions="Work as you would at work.",
        expires_at=None, show_scores=False, created_by_id=recruiter.id)
    out.assessment_id = assessment.id
    challenges = assessment.challenges
    bundles = catalogue.get_bundles()
    bundle_of = {c.id: bundles.for_challenge(c) for c in challenges}
    blobs = BlobStore(Path(current_app.config["HELDOUT_DATA_DIR"]) / "blobs")
    rubric = [c.key for c in reviews.DEFAULT_RUBRIC]
    first_invited = now - timedelta(days=9)
    span = timedelta(days=8)
    several: list[int] = []

    # What the loop wrote stays as written after each commit (nothing else writes the
    # database meanwhile): otherwise every commit expired the assessment, its challenges
    # and the candidate's rows, and their next use read each one again.
    session = db.session()
    session.expire_on_commit = False
    try:
        for index in range(candidates):
            state = _state(rng)
            invited = first_invited + span * (index / max(candidates, 1))
            made = invites.create_invite(
                assessment_id=assessment.id, candidate_name=f"Candidate {index + 1:04d}",
                candidate_email=f"candidate{index + 1}@example.org", created_by_id=recruiter.id,
                secret=secret, ttl_days=1 if state == "expired" else 14, now=invited)
            invite = made.invite
            audit.record(recruiter, "invite.create", "invite", invite.id,
                         origin=audit.Origin("127.0.0.1"), commit=False)
            if state == "expired" and invited + timedelta(days=1) > now:
                state = "sent"  # the newest invites have not had a day to expire
            out.states[state] += 1
            if state == "revoked":
                invites.revoke_invite(invite.id, now=invited + timedelta(hours=2))
                continue
            if state in ("sent", "expired"):
                db.session.commit()
                continue
            invites.mark_opened(invite, now=invited + timedelta(hours=rng.uniform(1, 20)))
            if state == "opened":
                db.session.commit()
                continue
            if state == "started":
                start = now - timedelta(minutes=rng.uniform(5, 60))
            else:
                start = min(invited + timedelta(hours=rng.uniform(2, 40)), now - timedelta(hours=3))
            attempt = attempts.start_attempt(invite, consent=True, now=start)
            used = rng.uniform(35, TIME_LIMIT_MINUTES - 5) if state == "finished" else \
                (now - start).total_seconds() / 60
            for position, challenge in enumerate(challenges):
                if rng.random() < (0.12 if state == "finished" else 0.55):
                    continue  # not submitted
                count = 1 if state == "started" else rng.choices((1, 2, 3, 4), (60, 25, 10, 5))[0]
                for number in range(count):
                    at = start + timedelta(minutes=used * (position + (number + 1) / (count + 1))
                                           / len(challenges))
                    submission = submissions.new_submission(
                        attempt, challenge, bundle_of[challenge.id],
                        [submissions.SubmittedFile(bundle_of[challenge.id].submission.entrypoint,
                                                   _code(bundle_of[challenge.id], index, number))],
                        blobs=blobs, now=at)
                    db.session.add(submission)
                    last = number == count - 1
                    fate = rng.random() if last else 1.0
                    if fate < 0.02:
                        status = GradingStatus.QUEUED
                    elif fate < 0.03:
                        status, submission.error = (GradingStatus.INTERNAL_ERROR,
                                                    "docker engine not reachable")
                        submission.retry_at = at + timedelta(minutes=5)
                    elif fate < 0.04:
                        status, submission.error = (GradingStatus.INTERNAL_ERROR,
                                                    "sandbox image missing")
                    else:
                        status = GradingStatus.GRADED
                    submission.status = status
                    submission.enqueued_at = at
                    finished = at + timedelta(seconds=rng.uniform(5, 45))
                    if status != "queued":
                        submission.tries = 1
                        submission.started_at = at + timedelta(seconds=2)
                        submission.finished_at = finished
                    if status == "graded":
                        score = round(min(100.0, max(0.0, rng.gauss(62, 22))), 1)
                        db.session.add(_evaluation(submission, score, finished, rng))
                        out.evaluations += 1
                    out.submissions[status.value] += 1
            db.session.commit()
            if state == "started":
                if rng.random() < 0.6:
                    challenge = challenges[rng.randrange(len(challenges))]
                    files = [drafts.DraftFile(bundle_of[challenge.id].submission.entrypoint,
                                              _code(bundle_of[challenge.id], index, 9).decode())]
                    saved = drafts.save_drafts(attempt_public_id=attempt.public_id,
                                               challenge_slug=challenge.slug, files=files,
                                               bundles=bundles, now=now - timedelta(minutes=2))
                    out.drafts += len(saved.names)
                continue
            end = start + timedelta(minutes=used)
            if rng.random() < 0.15:
                # Time ran out: the first request after the deadline closes the attempt.
                with suppress(AttemptClosed):
                    attempts.open_attempt(attempt.public_id, now=attempt.deadline + timedelta(minutes=1))
            else:
                attempts.finish_attempt(attempt.public_id, now=end)
            if len({s.challenge_id for s in attempt.submissions}) == len(challenges) and \
                    len(attempt.submissions) > len(challenges):
                several.append(attempt.id)
            if rng.random() < 0.10:
                for reviewer in (users["interviewer"], second)[:rng.choice((1, 2))]:
                    reviews.save_review(attempt.id, reviewer, reviews.ReviewInput(
                        levels={key: str(rng.randint(1, 4)) for key in rubric},
                        notes="Clear validation; feature choices explained.",
                        recommendation=rng.choice(("strong_no", "no", "yes", "strong_yes")),
                        submit=True), now=end + timedelta(hours=5))
                    audit.record(reviewer, "review.submit", "attempt", attempt.id,
                                 origin=audit.Origin("127.0.0.1"))
                    out.reviews += 1
            if index % 200 == 199:
                say(f"pages: {index + 1} of {candidates} candidates seeded")
    finally:
        session.expire_on_commit = True

    # The report and compare pages: candidates with every challenge submitted, several times.
    if not several:
        several = [a for a in db.session.scalars(
            db.select(Submission.attempt_id).where(Submission.status == "graded")
            .group_by(Submission.attempt_id).order_by(Submission.attempt_id))][:4]
    out.report_attempt = several[0] if several else 0
    out.compare_attempts = several[:4]
    if out.report_attempt:
        out.report_submission = min(s.id for s in db.session.scalars(
            db.select(Submission).where(Submission.attempt_id == out.report_attempt)))
        _seed_evidence(out, team.id, now)
    # The candidate whose pages are timed starts over HTTP (``_candidate_client``).
    out.candidate_token = invites.create_invite(
        assessment_id=assessment.id, candidate_name="Bench Candidate",
        candidate_email="bench.candidate@example.org", created_by_id=recruiter.id,
        secret=secret, ttl_days=14, now=now - timedelta(hours=1)).token
    out.states["started"] += 1
    out.seconds = time.monotonic() - started_clock
    return out


def _seed_evidence(out: Seeded, team_id: int, now: datetime) -> None:
    """One similarity pair (the report's submission and another of its version), a webhook
    endpoint, and the version the analytics page is read for."""
    from heldout.platform.extensions import db
    from heldout.platform.models import SimilarityPair, Submission, WebhookEndpoint

    first = db.session.get(Submission, out.report_submission)
    assert first is not None
    other = db.session.scalars(db.select(Submission).where(
        Submission.challenge_version == first.challenge_version,
        Submission.attempt_id != first.attempt_id).limit(1)).first()
    if other is not None:
        pair = SimilarityPair(challenge_version=first.challenge_version,
                              submission_a_id=first.id, submission_b_id=other.id, score=0.82,
                              share_a=0.8, share_b=0.84, flagged=True, created_at=now)
        db.session.add(pair)
        db.session.flush()
        out.pair_id = pair.id
    endpoint = WebhookEndpoint(team_id=team_id, url="https://ats.example.com/hooks",
                               events=["attempt.started"], active=True,
                               secret="whsec_bench",  # noqa: S106 - a throwaway database
                               description="bench", created_at=now)
    db.session.add(endpoint)
    db.session.commit()
    out.endpoint_id = endpoint.id
    out.version_hex = first.challenge_version.removeprefix("sha256:")


# --------------------------------------------------------------------------- the clients


def _form_token(page: str) -> str:
    match = CSRF.search(page)
    if match is None:
        raise RuntimeError("no form token in the page")
    return match.group(1)


def _get(client: Any, url: str) -> Any:
    return client.get(url, base_url=BASE_URL)


def _get_streamed(client: Any, url: str) -> tuple[Any, float, int]:
    """A GET read as a client reads a streamed answer: (response, seconds to its first
    chunk of body, the body's size). The chunks are counted and let go, as a socket
    would send them: the serving process's memory is the server's, not a client's copy."""
    started = time.perf_counter()
    response = client.get(url, base_url=BASE_URL, buffered=False)
    chunks = iter(response.response)
    first = next(chunks, b"")
    first_at = time.perf_counter() - started
    size = len(first if isinstance(first, bytes) else first.encode())
    for chunk in chunks:
        size += len(chunk if isinstance(chunk, bytes) else chunk.encode())
    response.close()
    return response, first_at, size


def _memory_kib(field: str) -> int | None:
    """A line of this process's /proc status (VmRSS, VmHWM), in KiB; None off Linux."""
    with suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def _reset_peak() -> bool:
    """Start this process's peak resident size (VmHWM) afresh; False where impossible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _post(client: Any, url: str, data: dict[str, str], referrer: str) -> Any:
    # Flask-WTF checks the referrer of every HTTPS form post, as a browser sends it.
    return client.post(url, base_url=BASE_URL, data=data,
                       headers={"Referer": BASE_URL + referrer})


def _staff_client(app: Any, role: str) -> Any:
    client = app.test_client()
    token = _form_token(_get(client, "/login").get_data(as_text=True))
    answer = _post(client, "/login", {"email": f"{role}@bench.example", "password": PASSWORD,
                                      "csrf_token": token}, "/login")
    if answer.status_code != 302:
        raise RuntimeError(f"signing in as {role} answered {answer.status_code}")
    return client


def _candidate_client(app: Any, token: str) -> tuple[Any, str]:
    """A browser that opened its invite link and started: (client, attempt public id)."""
    client = app.test_client()
    landing = _get(client, f"/i/{token}")
    if landing.status_code != 303:
        raise RuntimeError(f"the invite link answered {landing.status_code}")
    form = _form_token(_get(client, "/invite").get_data(as_text=True))
    started = _post(client, "/invite", {"consent": "on", "csrf_token": form}, "/invite")
    match = re.search(r"/a/([^/]+)/", started.headers.get("Location", ""))
    if started.status_code != 302 or match is None:
        raise RuntimeError(f"starting the attempt answered {started.status_code}")
    return client, match.group(1)


def _candidate_work(public_id: str, *, now: datetime) -> None:
    """The timed candidate's draft and one graded submission (as ``seed`` makes them)."""
    from flask import current_app

    from heldout.platform.blobs import BlobStore
    from heldout.platform.extensions import db
    from heldout.platform.services import attempts, catalogue, drafts, submissions
    from heldout.platform.services.scoring import GradingStatus

    attempt = attempts.get_attempt(public_id)
    bundles = catalogue.get_bundles()
    challenge = attempts.assessment_challenge(attempt, SLUGS[0])
    bundle = bundles.for_challenge(challenge)
    code = _code(bundle, 0, 1)
    drafts.save_drafts(attempt_public_id=public_id, challenge_slug=SLUGS[0],
                       files=[drafts.DraftFile(bundle.submission.entrypoint, code.decode())],
                       bundles=bundles, now=now)
    blobs = BlobStore(Path(current_app.config["HELDOUT_DATA_DIR"]) / "blobs")
    submission = submissions.new_submission(
        attempt, challenge, bundle, [submissions.SubmittedFile(bundle.submission.entrypoint, code)],
        blobs=blobs, now=now)
    submission.status = GradingStatus.GRADED
    submission.tries = 1
    submission.finished_at = now
    db.session.add(submission)
    db.session.flush()
    db.session.add(_evaluation(submission, 71.5, now, random.Random(1)))
    db.session.commit()


# --------------------------------------------------------------------------- the pages


def pages(seeded: Seeded, attempt_public_id: str) -> list[Page]:
    """Every staff GET page, the candidate's overview and workspace, the exports."""
    a = seeded.assessment_id
    compared = "&".join(f"attempt={i}" for i in seeded.compare_attempts)
    listed = [
        Page("staff.assessment_list", "/assessments", "recruiter"),
        Page("staff.assessment_new", "/assessments/new", "recruiter"),
        Page("staff.assessment_detail", f"/assessments/{a}", "recruiter"),
        Page("staff.assessment_detail", f"/assessments/{a}?status=finished&page=3",
             "recruiter", "one status, a later page"),
        Page("staff.assessment_edit", f"/assessments/{a}/edit", "recruiter"),
        Page("staff.catalogue_preview", f"/catalogue/{SLUGS[0]}", "recruiter"),
        Page("review.candidates", f"/assessments/{a}/candidates", "interviewer"),
        Page("review.candidates", f"/assessments/{a}/candidates?sort=total&dir=desc&page=3",
             "interviewer", "sorted by total, a later page"),
        Page("review.candidates", f"/assessments/{a}/candidates?q=candidate+01&state=finished",
             "interviewer", "searched and filtered"),
        Page("review.export", f"/assessments/{a}/candidates.csv", "interviewer"),
        Page("api.staff.export", f"/assessments/{a}/candidates.json", "interviewer"),
        Page("review.compare", f"/assessments/{a}/compare?{compared}", "interviewer"),
        Page("review.report", f"/attempts/{seeded.report_attempt}/report", "interviewer"),
        Page("review.report", f"/attempts/{seeded.report_attempt}/report", "recruiter",
             "read-only"),
        Page("review.submission", f"/attempts/{seeded.report_attempt}/submissions/"
             f"{seeded.report_submission}", "interviewer"),
        Page("admin.users", "/admin/users", "admin"),
        Page("admin.user_new", "/admin/users/new", "admin"),
        Page("admin.user_detail", f"/admin/users/{seeded.user_ids['interviewer']}", "admin"),
        Page("admin.teams", "/admin/teams", "admin"),
        Page("admin.audit_log", "/admin/audit", "admin"),
        Page("admin.system_health", "/admin/health", "admin", "probes the Docker engine"),
        Page("admin.problem_reports_page", "/admin/problem-reports", "admin"),
        Page("admin.adverse_impact_page", f"/admin/assessments/{a}/adverse-impact", "admin"),
        Page("admin.adverse_impact_csv", f"/admin/assessments/{a}/adverse-impact.csv", "admin"),
        Page("webhooks.endpoints", "/admin/webhooks/", "admin"),
        Page("webhooks.endpoint", f"/admin/webhooks/{seeded.endpoint_id}", "admin"),
        Page("stewardship.candidate_data", "/admin/candidates/", "admin"),
        Page("stewardship.retention_page", "/admin/retention", "admin",
             "counts what is past its period"),
        Page("review.similarity_pairs", f"/assessments/{a}/similarity", "interviewer"),
        Page("review.similarity_pair", f"/similarity/{seeded.pair_id}", "interviewer"),
        Page("analytics.item", f"/catalogue/{SLUGS[0]}/versions/{seeded.version_hex}/analytics",
             "interviewer"),
        Page("candidate.overview", f"/a/{attempt_public_id}/", "candidate"),
        Page("candidate.workspace", f"/a/{attempt_public_id}/c/{SLUGS[0]}", "candidate"),
        Page("api.candidate.workspace_state", f"/a/{attempt_public_id}/c/{SLUGS[0]}/state",
             "candidate"),
        Page("auth.login", "/login", "anonymous"),
    ]
    return listed


BASELINE = Page("staff.healthz", "/healthz", "anonymous", "baseline")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@contextmanager
def _counting_statements(engine: Any) -> Iterator[list[int]]:
    """A one-item list holding the SQL statements run since it was last reset."""
    from sqlalchemy import event

    counter = [0]

    def count(*_: Any) -> None:
        counter[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", count)


def time_pages(engine: Any, clients: dict[str, Any], listed: list[Page], repeat: int,
               say: Say) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One warm-up pass, then ``repeat`` passes over every page and the baseline, each
    page once per pass (interleaved, so a busy moment of the machine hits all alike).

    Called outside any app context: each request pushes its own, as under a real server
    (a context held here would share ``g`` and the database session between requests).
    """
    everything = [BASELINE, *listed]
    wall: dict[int, list[float]] = {i: [] for i in range(len(everything))}
    cpu: dict[int, list[float]] = {i: [] for i in range(len(everything))}
    queries: dict[int, list[int]] = {i: [] for i in range(len(everything))}
    first_byte: dict[int, list[float]] = {i: [] for i in range(len(everything))}
    statuses: dict[int, int] = {}
    sizes: dict[int, int] = {}
    with _counting_statements(engine) as counter:
        for round_no in range(repeat + 1):
            for index, page in enumerate(everything):
                client = clients[page.role]
                counter[0] = 0
                started, started_cpu = time.perf_counter(), time.process_time()
                response, first_at, size = _get_streamed(client, page.url)
                elapsed, elapsed_cpu = time.perf_counter() - started, time.process_time() - started_cpu
                statuses[index] = response.status_code
                sizes[index] = size
                if round_no == 0:
                    continue  # warm-up: templates compiled, caches filled, variants built
                wall[index].append(elapsed * 1000)
                first_byte[index].append(first_at * 1000)
                cpu[index].append(elapsed_cpu * 1000)
                queries[index].append(counter[0])
            if round_no:
                say(f"pages: pass {round_no} of {repeat} done")

    def row(index: int) -> dict[str, Any]:
        page = everything[index]
        return {"endpoint": page.endpoint, "url": page.url, "role": page.role,
                "note": page.note, "status": statuses[index], "bytes": sizes[index],
                "p50_ms": round(statistics.median(wall[index]), 2),
                "p95_ms": round(_percentile(wall[index], 0.95), 2),
                "cpu_ms": round(statistics.median(cpu[index]), 2),
                "first_byte_ms": round(statistics.median(first_byte[index]), 2),
                "queries": round(statistics.median(queries[index]))}

    rows = [row(i) for i in range(1, len(everything))]
    rows.sort(key=lambda r: r["p50_ms"], reverse=True)
    return rows, row(0)


# --------------------------------------------------------------------------- the run


def run_pages(candidates: int, repeat: int, challenges_dir: Path, say: Say, *,
              database_url: str | None = None, data_dir: Path | None = None) -> dict[str, Any]:
    """Everything ``heldout bench pages`` reports, as one dict.

    ``data_dir`` (tests) keeps the data directory for a look at what was seeded;
    otherwise it is temporary.
    """
    if data_dir is not None:
        return _run(candidates, repeat, challenges_dir, say, database_url, data_dir)
    with tempfile.TemporaryDirectory(prefix="heldout-bench-pages-") as tmp:
        return _run(candidates, repeat, challenges_dir, say, database_url, Path(tmp))


def settings_for(data_dir: Path, challenges_dir: Path, database_url: str | None) -> dict[str, Any]:
    """The app's settings: production, everything in ``data_dir`` but a given database."""
    return {"HELDOUT_ENV": "production", "HELDOUT_SECRET_KEY": secrets.token_hex(32),
            "HELDOUT_DATA_DIR": str(data_dir), "HELDOUT_CHALLENGES_DIR": str(challenges_dir),
            "HELDOUT_DATABASE_URL": database_url or f"sqlite:///{data_dir / 'heldout.db'}",
            "HELDOUT_QUEUE_URL": f"sqlite:///{data_dir / 'queue.db'}",
            "HELDOUT_RATELIMIT_STORAGE": "memory://", "HELDOUT_BASE_URL": BASE_URL}


def _run(candidates: int, repeat: int, challenges_dir: Path, say: Say,
         database_url: str | None, data_dir: Path) -> dict[str, Any]:
    import flask_migrate
    from sqlalchemy import func, select

    from heldout.platform.app import create_app
    from heldout.platform.extensions import db
    from heldout.platform.models import Invite, utcnow
    from heldout.platform.services import catalogue

    settings = settings_for(data_dir, challenges_dir, database_url)
    app = create_app(settings)
    try:
        with app.app_context():
            flask_migrate.upgrade()
            if db.session.scalar(select(func.count()).select_from(Invite)):
                raise RuntimeError("the database already holds invites: give an empty one")
            report = catalogue.load_challenges(challenges_dir)
            missing = [s for s in SLUGS if s not in report.added + report.updated + report.unchanged]
            if missing:
                raise RuntimeError(f"the bench needs {', '.join(missing)} in {challenges_dir}")
            say(f"pages: seeding {candidates} candidates")
            with _unsynced(db.engine):
                seeded = seed(candidates, secret=settings["HELDOUT_SECRET_KEY"], now=utcnow(),
                              say=say)
                db.session.remove()
        clients = {role: _staff_client(app, role) for role in ROLES}
        clients["anonymous"] = app.test_client()
        clients["candidate"], public_id = _candidate_client(app, seeded.candidate_token)
        with app.app_context():
            _candidate_work(public_id, now=utcnow())
            db.session.remove()
        listed = pages(seeded, public_id)
        say(f"pages: timing {len(listed)} pages, {repeat} passes")
        load_before = os.getloadavg()[0]
        with app.app_context():
            engine = db.engine
        rss_before = _memory_kib("VmRSS")
        peak_reset = _reset_peak()
        rows, baseline = time_pages(engine, clients, listed, repeat, say)
        load_after = os.getloadavg()[0]
        rss_after, peak = _memory_kib("VmRSS"), _memory_kib("VmHWM")
    finally:
        with app.app_context():
            db.engine.dispose()
    return {"candidates": candidates, "repeat": repeat,
            "database": app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0],
            "server": "Flask test client (the app's own WSGI handling), HELDOUT_ENV=production",
            "load_average_before_after": [round(load_before, 2), round(load_after, 2)],
            "seeded": seeded.as_dict(), "pages": rows, "baseline": baseline,
            # The serving process (this one: the app runs in it) while the pages are timed.
            "memory": {"rss_before_mb": _mb(rss_before), "rss_after_mb": _mb(rss_after),
                       "peak_mb": _mb(peak) if peak_reset else None,
                       "peak_growth_mb": _mb(peak - rss_before)
                       if peak_reset and peak is not None and rss_before is not None else None}}


@contextmanager
def _unsynced(engine: Any) -> Iterator[None]:
    """SQLite: commits while seeding are not synced to disk (``PRAGMA synchronous=OFF``:
    the bench's own throwaway database; thousands of candidates commit one by one, and on a
    busy disk each sync took longer than the rest of the commit). Its connections are
    closed after, so the timed pages run on ordinary ones. Other databases: unchanged."""
    from sqlalchemy import event

    if engine.dialect.name != "sqlite":
        yield
        return

    def unsynced(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.close()

    engine.dispose()
    event.listen(engine, "connect", unsynced)
    try:
        yield
    finally:
        event.remove(engine, "connect", unsynced)
        engine.dispose()


def _mb(kib: int | None) -> float | None:
    return None if kib is None else round(kib / 1024, 1)


def render(result: dict[str, Any]) -> str:
    base = result["baseline"]
    lines = [f"pages with {result['candidates']} candidates ({result['database']}, "
             f"{result['repeat']} passes; load average {result['load_average_before_after']}):",
             f"  {'endpoint':<26} {'role':<11} {'p50 ms':>8} {'p95 ms':>8} {'cpu ms':>8} "
             f"{'1st B ms':>8} {'SQL':>5} {'x base':>7}  url"]
    for row in result["pages"]:
        ratio = row["p50_ms"] / base["p50_ms"] if base["p50_ms"] else 0.0
        lines.append(f"  {row['endpoint']:<26} {row['role']:<11} {row['p50_ms']:8.1f} "
                     f"{row['p95_ms']:8.1f} {row['cpu_ms']:8.1f} {row['first_byte_ms']:8.1f} "
                     f"{row['queries']:5d} "
                     f"{ratio:7.1f}  {row['url']}" + (f"  ({row['note']})" if row["note"] else "")
                     + ("" if row["status"] == 200 else f"  [status {row['status']}]"))
    lines.append(f"  {'baseline /healthz':<38} {base['p50_ms']:8.1f} {base['p95_ms']:8.1f} "
                 f"{base['cpu_ms']:8.1f} {base['first_byte_ms']:8.1f} {base['queries']:5d}")
    memory = result["memory"]
    lines.append(f"serving process memory: {memory['rss_before_mb']} MB resident before the "
                 f"passes, peak {memory['peak_mb']} MB during them (growth "
                 f"{memory['peak_growth_mb']} MB), {memory['rss_after_mb']} MB after")
    seeded = result["seeded"]
    lines.append(f"seeded in {seeded['seconds']:.0f} s: invites {seeded['invites']}, "
                 f"submissions {seeded['submissions']}, {seeded['reviews']} reviews, "
                 f"{seeded['drafts']} drafts")
    return "\n".join(lines)


@click.command("pages")
@click.option("-n", "--candidates", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Candidates in the database.")
@click.option("--repeat", default=10, show_default=True, type=click.IntRange(min=1),
              help="Timed requests of each page (after one warm-up).")
@click.option("--database-url", default=None,
              help="An empty database to fill (e.g. postgresql+psycopg://…); default: SQLite "
                   "in a temporary directory.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the JSON object to this file.")
def pages_command(candidates: int, repeat: int, database_url: str | None, as_json: bool,
                  output: Path | None) -> None:
    """Server time of every staff page with N candidates, against /healthz in the same run."""
    import json

    from heldout.platform.config import load_settings
    from heldout.platform.errors import ConfigError

    try:
        challenges_dir = Path(load_settings(os.environ)["HELDOUT_CHALLENGES_DIR"])
    except ConfigError as exc:
        raise click.ClickException(exc.message) from exc
    say = (lambda line: click.echo(line, err=True)) if as_json else click.echo
    try:
        result = run_pages(candidates, repeat, challenges_dir, say, database_url=database_url)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    text = json.dumps(result, indent=2, sort_keys=True)
    if output is not None:
        output.write_text(text + "\n")
    click.echo(text if as_json else render(result))
