"""The statuses stored in the model columns, as enums stored by their plain values.

A leaf module: the models and the scoring rules (``services/scoring.py``, which names them
and holds every rule that reads them) both import it, so neither imports the other back.
"""

from __future__ import annotations

from enum import StrEnum


class GradingStatus(StrEnum):
    """Where grading of a submission or a public run stands (their ``status`` column)."""

    QUEUED = "queued"
    RUNNING = "running"
    GRADED = "graded"
    INTERNAL_ERROR = "internal_error"


PENDING = (GradingStatus.QUEUED, GradingStatus.RUNNING)


class Counting(StrEnum):
    """Which graded submission of a challenge counts (``Assessment.counting``)."""

    LAST = "last"
    BEST = "best"


class AiPolicy(StrEnum):
    """What an assessment allows of AI tools (``Assessment.ai_policy``), in the order the
    builder offers them."""

    NOT_ALLOWED = "not_allowed"
    DISCLOSURE = "disclosure"  # allowed; the candidate says what they used before finishing
    ASSISTANT = "assistant"  # the workspace's own assistant, its whole conversation kept


class InviteState(StrEnum):
    """An invite as recruiters and interviewers see it, saying what happened, derived from
    its times and how its link went out (in the order the invites list offers them)."""

    LINK_CREATED = "link created"  # not opened; shown on the page or downloaded, no e-mail
    EMAILED = "e-mailed"  # not opened; a mail with the link went out
    OPENED = "opened"
    STARTED = "started"
    FINISHED = "finished"  # Finish pressed, or the time ran out
    EXPIRED = "expired"
    REVOKED = "revoked"
