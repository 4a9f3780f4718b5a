"""heldout.sandbox: runs untrusted code in hardened, throw-away Docker containers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from heldout.sandbox.backend import DockerSandbox, Sandbox, get_sandbox, register_backend
from heldout.sandbox.errors import EngineUnavailable, ImageMissing, SandboxError
from heldout.sandbox.spec import JobSpec, Limits, OutputFile, RunResult, ServiceRun, SweepReport

if TYPE_CHECKING:
    from heldout.sandbox.runner import run

__all__ = ["DockerSandbox", "EngineUnavailable", "ImageMissing", "JobSpec", "Limits", "OutputFile",
           "RunResult", "Sandbox", "SandboxError", "ServiceRun", "SweepReport", "get_sandbox",
           "register_backend", "run"]


def __getattr__(name: str) -> Any:
    # The runner brings the Docker SDK; importing the package for its types must not.
    if name == "run":
        from heldout.sandbox.runner import run

        return run
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
