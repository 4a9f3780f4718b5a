"""What every challenge kind provides: its declarations, grading-table parsing and grading."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from heldout.graders.bundle_types import GradingConfig
from heldout.graders.errors import GraderError

if TYPE_CHECKING:
    from heldout.graders.bundle_types import Bundle, SubmissionSpec
    from heldout.graders.checks import CheckType
    from heldout.graders.fields import Table
    from heldout.graders.kinds.parts import ReportPart
    from heldout.graders.result import Evaluation, Split
    from heldout.sandbox.backend import Sandbox

__all__ = ["GradingConfig", "Kind", "grading_of"]

Config = TypeVar("Config", bound=GradingConfig)


class Kind(Protocol):
    """A challenge kind, registered under a short user-visible name.

    Besides grading, a kind declares what the rest of the house reads about it:
    ``checks``, every check type its evaluations hold (its own are registered with it, the
    shared ones by :mod:`heldout.graders.checks`); ``artefacts``, the names of the files it
    may keep in ``Evaluation.artefacts``; ``report_parts``, what the report shows of them;
    ``roles``, the keys of the job-role templates whose day-to-day work it assesses.
    """

    name: str
    summary: str
    checks: tuple[CheckType, ...]
    artefacts: tuple[str, ...]
    report_parts: tuple[ReportPart, ...]
    roles: tuple[str, ...]

    def parse_grading(
        self, table: Table, *, root: Path, submission: SubmissionSpec
    ) -> GradingConfig:
        """Validate ``[grading]`` (and the files it names) or raise ``BundleError``."""
        ...

    def verify(self, bundle: Bundle) -> None:
        """Checks too slow for every load (e.g. parse all hidden data); raise ``GraderError``."""
        ...

    def grade(self, bundle: Bundle, workspace: Path, sandbox: Sandbox,
              split: Split) -> Evaluation:
        """Grade the staged submission in ``workspace``, running jobs in ``sandbox``.

        ``split`` is ``hidden`` for grading, ``public`` for the public checks (public data
        or public cases only). ``sandbox`` refuses any job that would mount the bundle's
        hidden/ or solutions/.

        Candidate faults end in a graded evaluation; ``SandboxError`` and ``GraderError``
        propagate and become ``internal_error`` in :func:`heldout.graders.evaluate`.
        """
        ...


def grading_of(bundle: Bundle, config: type[Config]) -> Config:
    """``bundle``'s ``[grading]`` as the kind's own config type; another is a grader fault."""
    grading = bundle.grading
    if not isinstance(grading, config):
        raise GraderError(f"{bundle.slug}: grading config is {type(grading).__name__}")
    return grading
