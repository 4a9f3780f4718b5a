"""Typed SQLAlchemy models: what heldout stores, one module per area. No Flask here.

Every model is importable from here; importing this package registers them all with
``Base.metadata`` (what Alembic and ``create_all`` read)."""

from heldout.platform.models.assessments import (
    Assessment,
    AssessmentChallenge,
)
from heldout.platform.models.attempts import (
    Accommodation,
    Attempt,
    AttemptBreak,
    DeadlineSubmission,
    EvaluationRecord,
    Invite,
    Submission,
    SubmissionFile,
)
from heldout.platform.models.base import (
    NAMING_CONVENTION,
    ROLES,
    Base,
    EnumText,
    LeasedRow,
    Role,
    UTCDateTime,
    new_public_id,
    new_session_token,
    new_variant_seed,
    utcnow,
)
from heldout.platform.models.catalogue import (
    Challenge,
    ChallengeVersion,
)
from heldout.platform.models.fairness import (
    SelfIdentification,
)
from heldout.platform.models.feedback import (
    FeedbackMail,
)
from heldout.platform.models.followups import (
    FollowupQuestion,
)
from heldout.platform.models.grading import (
    IntegrityRun,
    PracticeRun,
    PublicRun,
    Review,
    SimilarityCheck,
    SimilarityPair,
)
from heldout.platform.models.integrations import (
    AtsOrder,
    WebhookDelivery,
    WebhookEndpoint,
)
from heldout.platform.models.people import (
    API_SCOPES,
    ApiScope,
    ApiToken,
    AuditEvent,
    ShownOnce,
    Team,
    TeamMember,
    User,
)
from heldout.platform.models.standings import (
    AttemptStanding,
    ChallengeStanding,
    ScoreAggregate,
)
from heldout.platform.models.work import (
    AiMessage,
    Draft,
    DraftSnapshot,
    EditorEvent,
    ProblemReport,
    SignalReview,
)

__all__ = [
    "API_SCOPES",
    "NAMING_CONVENTION",
    "ROLES",
    "Accommodation",
    "AiMessage",
    "ApiScope",
    "ApiToken",
    "Assessment",
    "AssessmentChallenge",
    "AtsOrder",
    "Attempt",
    "AttemptBreak",
    "AttemptStanding",
    "AuditEvent",
    "Base",
    "Challenge",
    "ChallengeStanding",
    "ChallengeVersion",
    "DeadlineSubmission",
    "Draft",
    "DraftSnapshot",
    "EditorEvent",
    "EnumText",
    "EvaluationRecord",
    "FeedbackMail",
    "FollowupQuestion",
    "IntegrityRun",
    "Invite",
    "LeasedRow",
    "PracticeRun",
    "ProblemReport",
    "PublicRun",
    "Review",
    "Role",
    "ScoreAggregate",
    "SelfIdentification",
    "ShownOnce",
    "SignalReview",
    "SimilarityCheck",
    "SimilarityPair",
    "Submission",
    "SubmissionFile",
    "Team",
    "TeamMember",
    "UTCDateTime",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
    "new_public_id",
    "new_session_token",
    "new_variant_seed",
    "utcnow",
]
