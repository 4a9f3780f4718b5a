"""heldout.sandbox: runs untrusted code in hardened, throw-away Docker containers."""

from heldout.sandbox.errors import EngineUnavailable, ImageMissing, SandboxError
from heldout.sandbox.runner import run
from heldout.sandbox.spec import JobSpec, Limits, OutputFile, RunResult

__all__ = ["EngineUnavailable", "ImageMissing", "JobSpec", "Limits", "OutputFile", "RunResult",
           "SandboxError", "run"]
