"""What the candidate's code runs with, in words: read from the runtime image's pins.

The one description of the runtime's Python and packages; statements and the candidate's
landing page show it (heldout.platform.markdown words it), so no page names a package the
image lacks or misses one it has."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from heldout.sandbox.profiles import DEFAULT_PROFILE, get_profile

PYTHON_VERSION = "3.11"
REQUIREMENTS = Path(__file__).with_name("image_context") / "requirements.txt"
# The packages a candidate reaches for, in the order the paragraph names them; the
# requirement's name, then the name candidates import or know it by.
HEADLINE_PACKAGES = (("numpy", "numpy"), ("pandas", "pandas"), ("scikit-learn", "scikit-learn"),
                     ("scipy", "scipy"), ("statsmodels", "statsmodels"),
                     ("lightgbm", "lightgbm"), ("xgboost-cpu", "xgboost"), ("duckdb", "duckdb"))


def pinned_packages(requirements: Path = REQUIREMENTS) -> dict[str, str]:
    """Every ``name==version`` pin of the requirements file, by name."""
    pins: dict[str, str] = {}
    for line in requirements.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower()] = version.strip()
    return pins


@cache
def headline_pins(profile: str = DEFAULT_PROFILE) -> tuple[tuple[str, bool], ...]:
    """The headline packages with their versions ("numpy 1.26.4", …) in the order the
    paragraph names them, a runtime profile's own additions last (e.g. PyTorch), each with
    whether it is a build for the CPU alone. The platform words them in the page's language
    (heldout.platform.markdown)."""
    pins = pinned_packages()
    named = [(f"{shown} {pins[name]}", False) for name, shown in HEADLINE_PACKAGES
             if name in pins]
    extra = get_profile(profile)
    if extra.requirements is not None:
        added = pinned_packages(extra.requirements)
        for name, shown in extra.headline:
            version, _, build = added[name].partition("+")
            named.append((f"{shown} {version}", build == "cpu"))
    return tuple(named)
