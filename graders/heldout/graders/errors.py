"""Grading failures: a broken bundle or a grader fault, never a candidate's verdict."""

from __future__ import annotations


class GraderError(Exception):
    """Grading could not be done; the submission gets ``internal_error``, never a score."""


class BundleError(GraderError):
    """A challenge bundle is malformed. The message names the file and the field."""


class BundleNotFound(BundleError):
    """No bundle has the requested slug or directory."""


class UnknownName(GraderError, LookupError):
    """A registry (kinds, metrics) has nothing under this name."""

    def __init__(self, what: str, name: str, known: list[str]) -> None:
        self.what = what
        self.name = name
        self.known = sorted(known)
        super().__init__(f"unknown {what} {name!r}; known: {', '.join(self.known)}")


class ServedFileNotFound(LookupError):
    """A file asked of a servable area (public/, starter/) does not exist there."""


class CandidateOutputError(Exception):
    """What the candidate's run produced can't be graded; the message is the graded detail.

    Deliberately not a :class:`GraderError`: it ends in a low score, never a retry.
    """


class ForbiddenMount(GraderError):
    """A job would have mounted a bundle's answer files for candidate code; refused."""


class ImportRefused(Exception):
    """A bundle from another platform can't be imported; one line naming the file and why.

    Not a :class:`GraderError`: nothing is graded, and nothing is written.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))
