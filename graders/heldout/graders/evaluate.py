"""Grade one submission against one bundle: stage it, dispatch to the kind, catch faults."""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from heldout.graders.bundle_types import Bundle, Variant
from heldout.graders.checks import SUBMISSION, type_of
from heldout.graders.console import finished, run_console
from heldout.graders.console_input import ConsoleRequest
from heldout.graders.errors import GraderError
from heldout.graders.guard import GuardedSandbox
from heldout.graders.kinds import KINDS, Kind
from heldout.graders.profiled import ProfiledSandbox
from heldout.graders.result import MAX_SCORE, Evaluation, Split
from heldout.graders.submission import stage_submission
from heldout.sandbox.backend import get_sandbox
from heldout.sandbox.errors import SandboxError

if TYPE_CHECKING:
    from heldout.sandbox.backend import Sandbox

log = logging.getLogger(__name__)


def evaluate(bundle: Bundle, submission: Path | str, *, sandbox: Sandbox | None = None,
             split: Split = "hidden", variant: Variant | None = None,
             console: ConsoleRequest | None = None) -> Evaluation:
    """Grade ``submission`` (a directory, or a single file taken as the entrypoint).

    ``sandbox`` defaults to the backend ``HELDOUT_SANDBOX_BACKEND`` names. The kind gets it
    wrapped so that every job runs in the bundle's runtime profile and none can mount the
    bundle's hidden/, a variant's hidden/ or solutions/.

    ``split="public"`` runs the bundle's public checks instead (public data or cases only).
    ``variant`` (see :mod:`heldout.graders.variants`) grades on that variant's public and
    hidden data instead of the committed ones; a bundle already bound to one keeps it.
    ``console`` runs that one run-console request instead of any check (public data only,
    whatever ``split`` says; see :mod:`heldout.graders.console`).

    Candidate faults are graded (a low score with reasons). A platform fault (sandbox
    failure, broken bundle, grader bug, submission files gone) returns
    ``internal_error``, which carries no score and should be retried.
    """
    if variant is not None:
        bundle = bundle.with_variant(variant)
    if console is not None:
        split = "public"
    evaluation = _evaluate(bundle, submission, sandbox, split, console)
    # Tagged here, once, so a refusal or a platform fault of a public run says so too.
    return dataclasses.replace(evaluation, split=split)


def _evaluate(bundle: Bundle, submission: Path | str, sandbox: Sandbox | None,
              split: Split, console: ConsoleRequest | None) -> Evaluation:
    try:
        kind = KINDS.get(bundle.kind)
        inner = sandbox if sandbox is not None else get_sandbox()
        guarded = GuardedSandbox.for_bundle(ProfiledSandbox(inner, bundle.profile), bundle)
        with tempfile.TemporaryDirectory(prefix="heldout-submission-") as tmp:
            workspace = Path(tmp) / "workspace"
            staged = stage_submission(bundle.submission, Path(submission), workspace)
            if console is not None:
                if staged.problem is not None:
                    return finished(bundle, None, {"mode": console.mode,
                                                   "error": f"not run: {staged.problem}"})
                return run_console(bundle, workspace, guarded, console)
            if staged.problem is not None:
                return _refused(bundle, staged.problem)
            return _as_declared(kind, kind.grade(bundle, workspace, guarded, split))
    except SandboxError as exc:
        log.warning("sandbox failed grading %s: %s", bundle.slug, str(exc))
        return Evaluation.internal_error(bundle.slug, bundle.version, f"sandbox: {exc}")
    except (GraderError, FileNotFoundError) as exc:
        log.error("grading %s failed: %s", bundle.slug, str(exc))
        return Evaluation.internal_error(bundle.slug, bundle.version, f"grader: {exc}")
    except Exception as exc:  # a grader bug must never turn into a candidate's zero
        log.exception("grader bug while grading %s", bundle.slug)
        return Evaluation.internal_error(bundle.slug, bundle.version,
                                         f"grader bug: {type(exc).__name__}: {exc}")


def _as_declared(kind: Kind, evaluation: Evaluation) -> Evaluation:
    """The kind's evaluation, once every check and artefact in it is one the kind declares
    (what reports and documentation read about a kind must not be wrong)."""
    for check in evaluation.checks:
        if type_of(check.name, check.kind) not in kind.checks:
            raise GraderError(f"the {kind.name} kind made a check {check.name!r} of a type "
                              "it does not declare")
    undeclared = sorted(set(evaluation.artefacts) - set(kind.artefacts))
    if undeclared:
        raise GraderError(f"the {kind.name} kind kept artefacts it does not declare: "
                          f"{', '.join(undeclared)}")
    return evaluation


def _refused(bundle: Bundle, problem: str) -> Evaluation:
    return Evaluation(challenge=bundle.slug, version=bundle.version, status="graded", score=0,
                      max_score=MAX_SCORE, checks=(SUBMISSION.failed(f"not run: {problem}"),))
