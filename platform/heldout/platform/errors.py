"""Domain errors of the platform. ``http.py`` maps them to status codes, in one place."""

from __future__ import annotations

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from heldout.platform.i18n import N_

# The database can't be reached (down, restarting, refusing connections, pool exhausted):
# a passing platform fault, answered 503 by the web app and retried by the worker.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError,
                                                     PoolTimeout)


class PlatformError(Exception):
    """Something a person did or asked that the platform refuses, with what to do next.

    ``title`` heads the error page; ``hint`` says what to do or whom to contact. Titles a
    candidate may meet are marked for the catalogue (``N_``) and translated where shown.
    """

    title = N_("Something went wrong")

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigError(PlatformError):
    """A setting is missing or malformed; the app refuses to start."""

    title = "Configuration error"


class NotFound(PlatformError):
    title = N_("Not found")


class Forbidden(PlatformError):
    title = "Not allowed"


class NotAuthenticated(PlatformError):
    """Credentials that do not let anyone in: no API token, or one that is unknown, expired,
    revoked or of a disabled account."""

    title = "Not authenticated"


class StaleVersion(PlatformError):
    """A change made to a version of something that has changed since (``If-Match``)."""

    title = "Changed since you read it"


class InvalidInput(PlatformError):
    """A form or upload failed validation; the page shows it again with the message."""

    title = N_("Please check your input")

    def __init__(self, message: str, *, hint: str = "", field: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.field = field


class UploadTooLarge(InvalidInput):
    title = N_("File too large")


class InviteError(PlatformError):
    """An invite link that cannot be used. ``contact`` is whom the candidate should ask."""

    title = N_("This link cannot be used")

    def __init__(self, message: str, *, contact: str = "", hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.contact = contact


class InviteInvalid(InviteError):
    title = N_("This link is not valid")


class InviteExpired(InviteError):
    title = N_("This link has expired")


class InviteRevoked(InviteError):
    title = N_("This link was withdrawn")


class InviteUsed(InviteError):
    title = N_("This link was already used")


class SessionMoved(InviteError):
    """A new link was sent to continue the attempt elsewhere: this browser is out."""

    title = N_("This session moved to another device")


class AttemptClosed(PlatformError):
    """The attempt is over (deadline passed or the candidate finished): nothing more is taken."""

    title = N_("This assessment is closed")

    def __init__(self, message: str, *, hint: str = "", reason: str = "finished") -> None:
        super().__init__(message, hint=hint)
        self.reason = reason


class DeadlinePassed(AttemptClosed):
    title = N_("Time is up")

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message, hint=hint, reason="deadline")


class OnBreak(PlatformError):
    """The candidate is on a break: the clock is paused and nothing is taken until it ends."""

    title = N_("You are on a break")


class QueueUnavailable(PlatformError):
    """The job queue cannot be reached (a platform fault, not the user's)."""

    title = N_("Grading queue unavailable")


class RetryLater(PlatformError):
    """A refusal that lifts by itself: ``retry_after`` is the seconds until asking again may
    succeed, when known (sent as ``Retry-After``)."""

    def __init__(self, message: str, *, hint: str = "", retry_after: int | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class TooManySubmissions(RetryLater):
    """A candidate submitted faster than allowed, or has too many waiting for grading."""

    title = N_("Please wait before submitting again")


class PublicRunsUsedUp(PlatformError):
    """The attempt made every public-check run its challenge allows (the bundle's budget)."""

    title = N_("No public check runs left")


class TooManyStreams(RetryLater):
    """An attempt already has as many live-status streams open as it may (several tabs)."""

    title = N_("Too many live views open")


class ServerBusy(RetryLater):
    """The server has as many long-lived connections open as it serves; try later."""

    title = N_("Busy for a moment")


class AssistantOff(PlatformError):
    """The workspace's AI assistant is not offered: not this assessment's policy, or no
    endpoint is configured on the server."""

    title = N_("No AI assistant here")


class AssistantBusy(RetryLater):
    """A question of this attempt is still being answered."""

    title = N_("One question at a time")


class AssistantUsedUp(PlatformError):
    """The attempt used the assistant's whole token budget."""

    title = N_("No assistant tokens left")


class AssistantFailed(PlatformError):
    """The assistant's endpoint did not answer in time, could not be reached or answered
    with an error (a platform fault, never the candidate's)."""

    title = N_("The assistant did not answer")


class StorageFull(PlatformError, OSError):
    """The data directory has no room left (disk full, quota): nothing was kept.

    A platform fault, not the user's. Also an OSError, so code that tolerates a store
    refusing a write (a graded run's artefacts) still does.
    """

    title = N_("Storage full")
