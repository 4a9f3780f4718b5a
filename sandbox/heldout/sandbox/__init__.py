"""heldout.sandbox: runs untrusted code in hardened, throw-away sandboxes.

The door is ``get_sandbox(settings)`` and the ``Sandbox`` protocol; the Docker backend's
own modules are its business.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from heldout.sandbox.backend import Sandbox, get_sandbox, known_backends, register_backend
from heldout.sandbox.errors import EngineUnavailable, ImageMissing, SandboxError
from heldout.sandbox.settings import SandboxSettings
from heldout.sandbox.spec import (
    Finding,
    JobSpec,
    Limits,
    OutputFile,
    RunResult,
    SandboxHealth,
    ServiceRun,
    SweepReport,
)
from heldout.sandbox.stopping import exit_on_sigterm

if TYPE_CHECKING:
    from heldout.sandbox.runner import run

__all__ = ["EngineUnavailable", "Finding", "ImageMissing", "JobSpec", "Limits", "OutputFile",
           "RunResult", "Sandbox", "SandboxError", "SandboxHealth", "SandboxSettings",
           "ServiceRun", "SweepReport", "exit_on_sigterm", "get_sandbox", "known_backends",
           "register_backend", "run"]


def __getattr__(name: str) -> Any:
    # The runner brings the Docker SDK; importing the package for its types must not.
    if name == "run":
        from heldout.sandbox.runner import run

        return run
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
