"""What every challenge kind provides: grading-table parsing and grading."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from heldout.sandbox.spec import JobSpec, RunResult

if TYPE_CHECKING:
    from heldout.graders.bundle import Bundle, SubmissionSpec
    from heldout.graders.fields import Table
    from heldout.graders.metrics import MetricScale
    from heldout.graders.result import Evaluation

Runner = Callable[[JobSpec, Path], RunResult]
"""Runs one job and copies its /output into the given host directory (``heldout.sandbox.run``)."""


@dataclass(frozen=True)
class GradingConfig:
    """Base of each kind's validated ``[grading]`` table."""


class Kind(Protocol):
    """A challenge kind, registered under a short user-visible name."""

    name: str
    summary: str

    def parse_grading(
        self, table: Table, *, root: Path, submission: SubmissionSpec
    ) -> GradingConfig:
        """Validate ``[grading]`` (and the files it names) or raise ``BundleError``."""
        ...

    def scales(self, bundle: Bundle) -> tuple[MetricScale, ...]:
        """The scored metrics with their baseline and target (empty if none)."""
        ...

    def verify(self, bundle: Bundle) -> None:
        """Checks too slow for every load (e.g. parse all hidden data); raise ``GraderError``."""
        ...

    def grade(self, bundle: Bundle, workspace: Path, runner: Runner) -> Evaluation:
        """Grade the staged submission in ``workspace``.

        Candidate faults end in a graded evaluation; ``SandboxError`` and ``GraderError``
        propagate and become ``internal_error`` in :func:`heldout.graders.evaluate`.
        """
        ...
