"""heldout.graders: challenge bundles and the grading pipeline (no web app, no database)."""

from heldout.graders.bundle import (
    Bundle,
    SolutionCase,
    SubmissionSpec,
    default_challenges_dir,
    discover_bundles,
    load_bundle,
    resolve_bundle,
    scan_bundles,
)
from heldout.graders.errors import BundleError, BundleNotFound, GraderError
from heldout.graders.evaluate import evaluate
from heldout.graders.result import Check, Evaluation

__all__ = [
    "Bundle",
    "BundleError",
    "BundleNotFound",
    "Check",
    "Evaluation",
    "GraderError",
    "SolutionCase",
    "SubmissionSpec",
    "default_challenges_dir",
    "discover_bundles",
    "evaluate",
    "load_bundle",
    "resolve_bundle",
    "scan_bundles",
]
