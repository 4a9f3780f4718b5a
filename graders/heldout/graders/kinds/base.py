"""What every challenge kind provides: grading-table parsing and grading."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from heldout.graders.bundle_types import GradingConfig

if TYPE_CHECKING:
    from heldout.graders.bundle_types import Bundle, SubmissionSpec
    from heldout.graders.fields import Table
    from heldout.graders.result import Evaluation
    from heldout.sandbox.backend import Sandbox

__all__ = ["GradingConfig", "Kind"]


class Kind(Protocol):
    """A challenge kind, registered under a short user-visible name."""

    name: str
    summary: str

    def parse_grading(
        self, table: Table, *, root: Path, submission: SubmissionSpec
    ) -> GradingConfig:
        """Validate ``[grading]`` (and the files it names) or raise ``BundleError``."""
        ...

    def verify(self, bundle: Bundle) -> None:
        """Checks too slow for every load (e.g. parse all hidden data); raise ``GraderError``."""
        ...

    def grade(self, bundle: Bundle, workspace: Path, sandbox: Sandbox) -> Evaluation:
        """Grade the staged submission in ``workspace``, running jobs in ``sandbox``.

        ``sandbox`` refuses any job that would mount the bundle's hidden/ or solutions/.

        Candidate faults end in a graded evaluation; ``SandboxError`` and ``GraderError``
        propagate and become ``internal_error`` in :func:`heldout.graders.evaluate`.
        """
        ...

    def grade_public(self, bundle: Bundle, workspace: Path, sandbox: Sandbox) -> Evaluation:
        """The public checks: like :meth:`grade`, on public data or public cases only."""
        ...
