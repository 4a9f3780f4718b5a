"""heldout.sandbox: runs untrusted code in hardened, throw-away Docker containers."""

from heldout.sandbox.backend import DockerSandbox, Sandbox, get_sandbox, register_backend
from heldout.sandbox.errors import EngineUnavailable, ImageMissing, SandboxError
from heldout.sandbox.runner import run
from heldout.sandbox.spec import JobSpec, Limits, OutputFile, RunResult, ServiceRun, SweepReport

__all__ = ["DockerSandbox", "EngineUnavailable", "ImageMissing", "JobSpec", "Limits", "OutputFile",
           "RunResult", "Sandbox", "SandboxError", "ServiceRun", "SweepReport", "get_sandbox",
           "register_backend", "run"]
