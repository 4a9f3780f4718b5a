"""Runtime profiles: the images a challenge can name, each built offline and cached by hash.

A bundle names its profile (``profile = "deep-learning"`` in challenge.toml); jobs carry
it in ``JobSpec.profile`` and the sandbox picks the image. ``default`` is the small
scientific stack every other challenge runs on; every other profile is layered on top of
it, so what runs in the default image runs in every profile. No Docker here: graders
validate profile names with this module alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from heldout.sandbox.errors import UnknownProfile

DEFAULT_PROFILE = "default"
CONTEXTS = Path(__file__).with_name("profile_contexts")


@dataclass(frozen=True)
class Profile:
    """One runtime image: its name, what it adds, and where its build context lives.

    ``context`` is None for the default image (built from ``image_context``); otherwise a
    directory with a Dockerfile taking ``RUNTIME`` (the default image) and a pinned
    ``requirements.txt`` whose wheels are downloaded on the host. ``heavy_modules`` are
    what ``heldout sandbox build`` times a cold import of. ``ahead`` are imported before
    candidate code wherever the sandbox or a harness can: in warm containers, and in the
    function harness before it forks a child per case (else every case pays them again).
    ``headline`` names packages the candidate's environment paragraph adds to the default
    one: (requirement, shown name).
    """

    name: str
    summary: str
    repository: str
    context: Path | None
    heavy_modules: tuple[str, ...]
    ahead: tuple[str, ...] = ()
    headline: tuple[tuple[str, str], ...] = ()

    @property
    def requirements(self) -> Path | None:
        return self.context / "requirements.txt" if self.context is not None else None


PROFILES: dict[str, Profile] = {
    profile.name: profile for profile in (
        Profile(DEFAULT_PROFILE, "Python with numpy, pandas, scikit-learn, gradient boosting, "
                "DuckDB and Jupyter's kernel", "heldout-runtime", None,
                heavy_modules=("numpy", "pandas", "sklearn")),
        Profile("deep-learning", "the default image plus PyTorch for the CPU",
                "heldout-runtime-deep-learning", CONTEXTS / "deep-learning",
                heavy_modules=("torch",),
                # An optimiser's first step imports torch._dynamo (and sympy): seconds more.
                ahead=("torch", "torch._dynamo"), headline=(("torch", "PyTorch"),)),
    )
}


def get_profile(name: str) -> Profile:
    """The profile called ``name``; an unknown name fails with the list of known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise UnknownProfile(name, sorted(PROFILES)) from None
