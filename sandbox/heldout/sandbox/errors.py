"""Sandbox failures that are the platform's fault, never the candidate's."""


class SandboxError(Exception):
    """The sandbox could not run the job (engine, image, host). Retry; never score it."""


class EngineUnavailable(SandboxError):
    """No Docker engine answers."""


class ImageMissing(SandboxError):
    """The runtime image is not built on this engine."""


class ImageBuildError(SandboxError):
    """Building the runtime image failed."""


class UnknownBackend(SandboxError, LookupError):
    """``HELDOUT_SANDBOX_BACKEND`` (or the name asked for) names no registered backend."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = sorted(known)
        # None at all: heldout's own entry points were never installed (a stale checkout).
        listed = ", ".join(self.known) or ("none (reinstall heldout, e.g. `pip install -e .`, "
                                           "so that its entry points are registered)")
        super().__init__(f"unknown sandbox backend {name!r}; known: {listed}")


class UnknownProfile(SandboxError, LookupError):
    """A runtime profile name that no profile has (a bundle's or a job's)."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = sorted(known)
        super().__init__(f"unknown runtime profile {name!r}; known: {', '.join(self.known)}")
