"""Sandbox failures that are the platform's fault, never the candidate's."""


class SandboxError(Exception):
    """The sandbox could not run the job (engine, image, host). Retry; never score it."""


class EngineUnavailable(SandboxError):
    """No Docker engine answers."""


class ImageMissing(SandboxError):
    """The runtime image is not built on this engine."""


class ImageBuildError(SandboxError):
    """Building the runtime image failed."""
