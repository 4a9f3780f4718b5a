"""Typed SQLAlchemy models: what heldout stores, one module per area. No Flask here.

Every model is importable from here; importing this package registers them all with
``Base.metadata`` (what Alembic and ``create_all`` read)."""

from heldout.platform.models.accommodations import Accommodation, AttemptBreak
from heldout.platform.models.assessments import (
    Assessment,
    AssessmentChallenge,
    Attempt,
    DeadlineSubmission,
    Draft,
    DraftSnapshot,
    Invite,
)
from heldout.platform.models.base import (
    NAMING_CONVENTION,
    ROLES,
    Base,
    EnumText,
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
    ProblemReport,
)
from heldout.platform.models.grading import (
    EvaluationRecord,
    IntegrityRun,
    LeasedRow,
    PublicRun,
    Review,
    SimilarityCheck,
    SimilarityPair,
    Submission,
    SubmissionFile,
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

__all__ = [
    "API_SCOPES",
    "NAMING_CONVENTION",
    "ROLES",
    "Accommodation",
    "ApiScope",
    "ApiToken",
    "Assessment",
    "AssessmentChallenge",
    "AtsOrder",
    "Attempt",
    "AttemptBreak",
    "AuditEvent",
    "Base",
    "Challenge",
    "ChallengeVersion",
    "DeadlineSubmission",
    "Draft",
    "DraftSnapshot",
    "EnumText",
    "EvaluationRecord",
    "IntegrityRun",
    "Invite",
    "LeasedRow",
    "ProblemReport",
    "PublicRun",
    "Review",
    "Role",
    "ShownOnce",
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
