"""What the candidate's code runs with, in words: read from the runtime image's pins.

The one description of the runtime's Python and packages; statements and the candidate's
landing page show it, so no page names a package the image lacks or misses one it has."""

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
def environment_paragraph(profile: str = DEFAULT_PROFILE) -> str:
    """One paragraph naming Python's version and the headline packages with their versions
    (a runtime profile's own additions last: e.g. PyTorch for the CPU)."""
    pins = pinned_packages()
    named = [f"{shown} {pins[name]}" for name, shown in HEADLINE_PACKAGES if name in pins]
    extra = get_profile(profile)
    if extra.requirements is not None:
        added = pinned_packages(extra.requirements)
        for name, shown in extra.headline:
            version, _, build = added[name].partition("+")
            named.append(f"{shown} {version}" + (" for the CPU" if build == "cpu" else ""))
    listed = ", ".join(named[:-1]) + f" and {named[-1]}" if len(named) > 1 else "".join(named)
    return (f"Your code runs with Python {PYTHON_VERSION} and {listed} (with their "
            "dependencies, such as joblib). Nothing else can be installed, and there is "
            "no network.")
