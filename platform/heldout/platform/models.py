"""Typed SQLAlchemy models: what heldout stores. No Flask here."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal, TypeVar, get_args

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# The statuses of the columns below live with the rules that read them.
from heldout.platform.statuses import Counting, GradingStatus

Role = Literal["admin", "recruiter", "interviewer"]
ROLES: tuple[str, ...] = get_args(Role)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_public_id() -> str:
    """An unguessable id for URLs a candidate sees (never a sequential number)."""
    return secrets.token_urlsafe(16)


def new_variant_seed() -> int:
    """The seed of an attempt's data variants (fits a signed 32-bit column)."""
    return secrets.randbelow(2**31)


def new_session_token() -> str:
    """What a staff login session remembers instead of the user id (fits String(64))."""
    return secrets.token_urlsafe(32)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


E = TypeVar("E", bound=StrEnum)


class EnumText(TypeDecorator[E]):
    """A ``StrEnum`` column stored as its plain value in a VARCHAR: the stored strings are
    the ones written before the enum existed (no database enum type, no constraint to
    migrate), rows come back as members, and an unknown value is refused on the way in."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    """A staff account. ``session_token`` is what the login session remembers."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    # Rotated on password change or forced logout: every session holding the old value ends.
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_token)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # The four members flask-login looks for, without importing it here.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return self.session_token

    def rotate_session_token(self) -> None:
        self.session_token = new_session_token()


class Challenge(Base):
    """A challenge bundle as last loaded; ``version`` is what new submissions are made against."""

    __tablename__ = "challenge"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    version: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text, default="")
    difficulty: Mapped[str] = mapped_column(String(40), default="")
    expected_minutes: Mapped[int] = mapped_column(Integer, default=0)
    skills: Mapped[list[Any]] = mapped_column(default=list)
    entrypoint: Mapped[str] = mapped_column(String(200), default="")
    # Other bundle facts shown in the catalogue (allowed files, limits).
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[ChallengeVersion]] = relationship(
        order_by="ChallengeVersion.id", back_populates="challenge")


class ChallengeVersion(Base):
    """Every version of a bundle the catalogue ever loaded: its files stay in the bundle store."""

    __tablename__ = "challenge_version"
    __table_args__ = (UniqueConstraint("challenge_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"), index=True)
    version: Mapped[str] = mapped_column(String(80))
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    challenge: Mapped[Challenge] = relationship(back_populates="versions")


class Assessment(Base):
    """What candidates are invited to: an ordered list of challenges and a time limit."""

    __tablename__ = "assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str] = mapped_column(Text, default="")
    time_limit_minutes: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime | None]
    show_scores: Mapped[bool] = mapped_column(Boolean, default=False)
    # Which graded submission of a challenge counts: shown to candidates before they submit.
    counting: Mapped[Counting] = mapped_column(EnumText(Counting, 10), default=Counting.LAST,
                                               server_default=Counting.LAST.value)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The hiring team whose staff see it; None is the default team (services/access.py).
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), index=True)

    created_by: Mapped[User] = relationship()
    items: Mapped[list[AssessmentChallenge]] = relationship(
        order_by="AssessmentChallenge.position", cascade="all, delete-orphan",
        back_populates="assessment")

    @property
    def challenges(self) -> list[Challenge]:
        return [item.challenge for item in self.items]


class AssessmentChallenge(Base):
    __tablename__ = "assessment_challenge"
    __table_args__ = (UniqueConstraint("assessment_id", "challenge_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"))
    position: Mapped[int] = mapped_column(Integer)

    assessment: Mapped[Assessment] = relationship(back_populates="items")
    challenge: Mapped[Challenge] = relationship(lazy="joined")


class Invite(Base):
    """One candidate's invitation. Only the sha256 of the link's token is kept.

    Its state (sent, opened, started, finished, expired, revoked) is not stored: it follows
    from the times below and the attempt's deadline (``scoring.invite_state``).
    """

    __tablename__ = "invite"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    candidate_name: Mapped[str] = mapped_column(String(200))
    candidate_email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    opened_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # The recruiter's own note (from the bulk CSV), never shown to the candidate.
    note: Mapped[str | None] = mapped_column(String(500))
    # When the current link was made; a resend replaces the link and moves it.
    sent_at: Mapped[datetime | None]
    # How the current link was handed over: "email", "download" (CSV) or "page".
    delivery: Mapped[str | None] = mapped_column(String(20))
    send_error: Mapped[str | None] = mapped_column(Text)
    resends: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    assessment: Mapped[Assessment] = relationship()
    created_by: Mapped[User] = relationship()
    attempt: Mapped[Attempt | None] = relationship(back_populates="invite")


class Attempt(Base):
    """A candidate's timed run through an assessment, started from an invite."""

    __tablename__ = "attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    invite_id: Mapped[int] = mapped_column(ForeignKey("invite.id"), unique=True)
    consent_at: Mapped[datetime]
    started_at: Mapped[datetime]
    deadline: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    # "candidate" (Finish pressed) or "deadline" (time ran out).
    finish_reason: Mapped[str | None] = mapped_column(String(20))
    # Picks this candidate's variant of every challenge that generates its data. None (an
    # attempt started before variants) keeps the committed data it was already given.
    variant_seed: Mapped[int | None] = mapped_column(Integer, default=new_variant_seed)

    invite: Mapped[Invite] = relationship(back_populates="attempt")
    submissions: Mapped[list[Submission]] = relationship(
        back_populates="attempt", order_by="Submission.id")


class LeasedRow:
    """The columns of a row run as a leased job (services/jobs.py), shared by its kinds."""

    status: Mapped[GradingStatus] = mapped_column(EnumText(GradingStatus, 20),
                                                  default=GradingStatus.QUEUED, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    tries: Mapped[int] = mapped_column(Integer, default=0)
    # A running job belongs to whoever holds the lease; past lease_expires_at it is stale.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]
    retry_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class Submission(LeasedRow, Base):
    """Files a candidate submitted for one challenge, and where grading stands.

    ``challenge_version`` is the bundle version it was made against; grading uses exactly
    that version's files, whatever the catalogue holds by then.
    """

    __tablename__ = "submission"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"))
    challenge_slug: Mapped[str] = mapped_column(String(100))
    challenge_version: Mapped[str] = mapped_column(String(80))
    enqueued_at: Mapped[datetime | None]

    attempt: Mapped[Attempt] = relationship(back_populates="submissions")
    challenge: Mapped[Challenge] = relationship()
    files: Mapped[list[SubmissionFile]] = relationship(
        order_by="SubmissionFile.name", cascade="all, delete-orphan")
    evaluation: Mapped[EvaluationRecord | None] = relationship(back_populates="submission")


class SubmissionFile(Base):
    """One submitted file: its name and the sha256 of its content in the blob store."""

    __tablename__ = "submission_file"
    __table_args__ = (UniqueConstraint("submission_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)


class EvaluationRecord(Base):
    """The graders' ``Evaluation`` of a submission, as stored (the table keeps its name)."""

    __tablename__ = "evaluation"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    challenge_version: Mapped[str] = mapped_column(String(80))
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float, default=100.0)
    checks: Mapped[list[Any]] = mapped_column(default=list)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    run: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The files a kind kept for the report (executed notebook, probe table, query shapes):
    # [{"name", "sha256", "size"}] in the blob store; "sha256" null and a "note" when not kept.
    artefacts: Mapped[list[Any]] = mapped_column(default=list)

    submission: Mapped[Submission] = relationship(back_populates="evaluation")


class PublicRun(LeasedRow, Base):
    """The candidate's code run on the public checks only, or once in the run console.

    Kept apart from ``Submission`` on purpose: it never counts, is never graded on hidden
    data, and no report or pending count of submissions can pick it up by mistake. Its
    files sit in the same content-addressed blob store (``files`` lists name, sha256 and
    size); ``evaluation`` is the graders' public ``Evaluation`` as a dict, once run.
    """

    __tablename__ = "public_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"))
    challenge_slug: Mapped[str] = mapped_column(String(100))
    challenge_version: Mapped[str] = mapped_column(String(80))
    files: Mapped[list[Any]] = mapped_column(default=list)
    evaluation: Mapped[dict[str, Any] | None]
    # A run-console run (see heldout.graders.console): its request; None: the public checks.
    # (SQL NULL when absent, not JSON null: the workspace selects runs by it.)
    console: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    # What the run shows beside its checks and output, once run: the console's answer
    # ({"console": …}) or a sql run's rows per query ({"queries": […]}).
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))

    attempt: Mapped[Attempt] = relationship()
    challenge: Mapped[Challenge] = relationship()


class IntegrityRun(LeasedRow, Base):
    """A graded model_training submission's integrity run, queued after its grading.

    It runs the submission once more on perturbed test inputs (does the output follow the
    input?) and keeps the private slice's wrong rows (``row_errors``, a hex bit mask over
    the rows of labels keyed ``labels_key``) to compare with other candidates'. Evidence
    for the report, never a score; candidates never see it. ``result`` is the integrity
    evaluation as a dict, once run.
    """

    __tablename__ = "integrity_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), unique=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"))
    challenge_slug: Mapped[str] = mapped_column(String(100))
    challenge_version: Mapped[str] = mapped_column(String(80))
    result: Mapped[dict[str, Any] | None]
    labels_key: Mapped[str | None] = mapped_column(String(64), index=True)
    row_errors: Mapped[str | None] = mapped_column(Text)

    submission: Mapped[Submission] = relationship()
    attempt: Mapped[Attempt] = relationship()
    challenge: Mapped[Challenge] = relationship()


class Review(Base):
    """One interviewer's review of one attempt: rubric levels, notes, a recommendation.

    ``scores`` maps a rubric criterion's key to its level (1-4). ``submitted_at`` is None
    while a review is only saved: the others' reviews stay hidden until it is set.
    """

    __tablename__ = "review"
    __table_args__ = (UniqueConstraint("attempt_id", "reviewer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    notes: Mapped[str] = mapped_column(Text, default="")
    recommendation: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]

    attempt: Mapped[Attempt] = relationship()
    reviewer: Mapped[User] = relationship(lazy="joined")


class Team(Base):
    """A hiring team: its staff see its assessments, invites, candidates and reports."""

    __tablename__ = "team"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "default" is the team of every account and assessment that names no other.
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TeamMember(Base):
    """A staff account's membership of a team."""

    __tablename__ = "team_member"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Who did what, when and from where. Rows are only ever added."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # None for a failed sign-in of an unknown account (``actor_label`` keeps what was typed).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    actor_label: Mapped[str] = mapped_column(String(254), default="")
    action: Mapped[str] = mapped_column(String(60), index=True)
    target_type: Mapped[str] = mapped_column(String(40), default="")
    target_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class Draft(Base):
    """The latest autosaved text of one file a candidate edits: per attempt, challenge and file.

    Kept on the server so work survives a reload, another device and a restart; at the
    deadline the worker submits the attempt's drafts (``DeadlineSubmission``).
    """

    __tablename__ = "draft"
    __table_args__ = (UniqueConstraint("attempt_id", "challenge_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"))
    name: Mapped[str] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the last snapshot was taken: snapshots are spaced, not one per keystroke.
    snapshot_at: Mapped[datetime | None]


class DraftSnapshot(Base):
    """A point in a challenge's draft history (bounded per attempt and challenge), for a later
    playback of the work."""

    __tablename__ = "draft_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"))
    name: Mapped[str] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text, default="")
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeadlineSubmission(Base):
    """The worker's claim on submitting one challenge's drafts once the time ran out.

    Unique per attempt and challenge: however often the job runs, and however many workers
    race, one row (and so at most one submission) wins. ``submission_id`` stays empty when
    there was nothing new to submit; ``note`` says why.
    """

    __tablename__ = "deadline_submission"
    __table_args__ = (UniqueConstraint("attempt_id", "challenge_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"))
    draft_saved_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    submission: Mapped[Submission | None] = relationship()


class ShownOnce(Base):
    """A secret waiting for the one page that shows it (a generated password, a new invite
    link), masked by a random pad that only the browser's session holds."""

    __tablename__ = "shown_once"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    masked: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


ApiScope = Literal["read", "invite", "admin"]
API_SCOPES: tuple[str, ...] = get_args(ApiScope)


class ApiToken(Base):
    """A staff member's personal API token. Only the sha256 of the secret is kept; ``prefix``
    (its first characters) lets a person tell their tokens apart. ``scope`` bounds what the
    token may do within what its owner's role and teams allow (services/api_tokens.py)."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    last_used_ip: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")


class WebhookEndpoint(Base):
    """A team's receiver of events (services/webhooks.py). ``secret`` signs every delivery;
    it must be kept to sign, so it is stored as it is and shown to the admin once."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[list[Any]] = mapped_column(default=list)
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    team: Mapped[Team] = relationship(lazy="joined")


class WebhookDelivery(Base):
    """One event for one endpoint: its body as sent, and how the tries went. ``status``:
    pending (a try is due at ``next_try_at``), sending (a worker holds it until
    ``lease_expires_at``), delivered, failed (tries used up, or the endpoint removed)."""

    __tablename__ = "webhook_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True, default=new_public_id)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"),
                                             index=True)
    event: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    tries: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime | None]
    lease_expires_at: Mapped[datetime | None]
    response_status: Mapped[int | None]
    response_body: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_try_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]

    endpoint: Mapped[WebhookEndpoint] = relationship(lazy="joined")


class AtsOrder(Base):
    """An assessment ordered from an applicant-tracking system (services/ats/): the invite it
    made, and where the ATS wants to hear back. ``provider``: "greenhouse", …"""

    __tablename__ = "ats_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True, default=new_public_id)
    provider: Mapped[str] = mapped_column(String(20))
    invite_id: Mapped[int] = mapped_column(ForeignKey("invite.id"), unique=True)
    callback_url: Mapped[str] = mapped_column(String(1000), default="")
    profile_url: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What the ATS last reported as wrong with our answers (its error callback), if anything.
    last_error: Mapped[str] = mapped_column(Text, default="")

    invite: Mapped[Invite] = relationship()


class SimilarityCheck(LeasedRow, Base):
    """A graded submission's code compared with other candidates' of its challenge version.

    A leased job like a grading (status, tries, lease): queued once the submission is
    graded. ``fingerprints`` are its code's winnowed hashes (the bundle's own code left
    out), made by the detector named in ``detector``; later checks compare with them.
    """

    __tablename__ = "similarity_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), unique=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"))
    challenge_slug: Mapped[str] = mapped_column(String(100))
    challenge_version: Mapped[str] = mapped_column(String(80), index=True)
    detector: Mapped[str | None] = mapped_column(String(40))
    fingerprints: Mapped[list[Any] | None]

    submission: Mapped[Submission] = relationship()
    attempt: Mapped[Attempt] = relationship()
    challenge: Mapped[Challenge] = relationship()


class SimilarityPair(Base):
    """Two candidates' submissions of one challenge version and how much code they share.

    ``share_a``: of submission a's fingerprints, the share found in b (and the reverse).
    Evidence for review, never part of a score.
    """

    __tablename__ = "similarity_pair"
    __table_args__ = (UniqueConstraint("submission_a_id", "submission_b_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_version: Mapped[str] = mapped_column(String(80), index=True)
    submission_a_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    submission_b_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    score: Mapped[float] = mapped_column(Float)
    share_a: Mapped[float] = mapped_column(Float)
    share_b: Mapped[float] = mapped_column(Float)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    submission_a: Mapped[Submission] = relationship(foreign_keys=[submission_a_id])
    submission_b: Mapped[Submission] = relationship(foreign_keys=[submission_b_id])


class ProblemReport(Base):
    """A candidate's report of a problem with a challenge, sent from its workspace: kept with
    the attempt and the challenge version the candidate had open, for admins to read.

    Open until an admin marks it resolved (``resolved_at``); the state is not stored apart.
    """

    __tablename__ = "problem_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"), index=True)
    challenge_version: Mapped[str] = mapped_column(String(80))
    # What kind of problem (``problem_reports.CATEGORIES``), and the candidate's own words.
    category: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    attempt: Mapped[Attempt] = relationship()
    challenge: Mapped[Challenge] = relationship(lazy="joined")
    resolved_by: Mapped[User | None] = relationship()

    @property
    def status(self) -> str:
        return "open" if self.resolved_at is None else "resolved"
