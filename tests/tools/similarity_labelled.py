"""The labelled set: disguised copies of the catalogue's solutions, and independent pairs.

Copies: every solution case (reference and the others) of every challenge, disguised by
each edit of ``heldout.tools.bench.disguise`` that changes it. Independent pairs: the
solutions written apart from the catalogue's (``similarity_independent/<slug>/<case>/``)
against every catalogue case of their challenge and against each other.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from heldout.graders.bundle import Bundle, resolve_bundle
from heldout.graders.similarity import submission_files
from heldout.tools.bench.disguise import DISGUISES, disguise_files

INDEPENDENT_DIR = Path(__file__).parent / "similarity_independent"


@dataclass(frozen=True)
class LabelledPair:
    challenge: str
    label: str  # "renamed", … "all" (a disguised copy) or "independent"
    a_name: str
    b_name: str
    a: dict[str, bytes]
    b: dict[str, bytes]

    @property
    def copied(self) -> bool:
        return self.label != "independent"


def _cases(bundle: Bundle) -> dict[str, dict[str, bytes]]:
    """The bundle's solution cases, the starter left out (it is the boilerplate)."""
    return {case.name: submission_files(bundle, case.path) for case in bundle.solutions
            if case.name != "starter"}


def labelled_pairs(challenges_dir: Path) -> list[LabelledPair]:
    pairs: list[LabelledPair] = []
    for directory in sorted(p for p in challenges_dir.iterdir() if (p / "challenge.toml").is_file()):
        bundle = resolve_bundle(directory)
        cases = _cases(bundle)
        for salt, (name, files) in enumerate(sorted(cases.items())):
            for disguise in DISGUISES:
                disguised = disguise_files(files, disguise, salt)
                if disguised != files:
                    pairs.append(LabelledPair(bundle.slug, disguise, name,
                                              f"{name} {disguise}", files, disguised))
        own = INDEPENDENT_DIR / bundle.slug
        independent = {f"independent {p.name}": submission_files(bundle, p)
                       for p in sorted(own.iterdir())} if own.is_dir() else {}
        for (a_name, a), (b_name, b) in itertools.product(independent.items(), cases.items()):
            pairs.append(LabelledPair(bundle.slug, "independent", a_name, b_name, a, b))
        for (a_name, a), (b_name, b) in itertools.combinations(independent.items(), 2):
            pairs.append(LabelledPair(bundle.slug, "independent", a_name, b_name, a, b))
    return pairs


@dataclass(frozen=True)
class Figures:
    """Precision and recall of flagging over the labelled set."""

    copies: int
    independent: int
    copies_flagged: int
    independent_flagged: int

    @property
    def recall(self) -> float:
        return self.copies_flagged / self.copies if self.copies else 0.0

    @property
    def precision(self) -> float:
        flagged = self.copies_flagged + self.independent_flagged
        return self.copies_flagged / flagged if flagged else 0.0


def figures(pairs: list[LabelledPair], flagged: list[bool]) -> Figures:
    copies = [f for p, f in zip(pairs, flagged, strict=True) if p.copied]
    apart = [f for p, f in zip(pairs, flagged, strict=True) if not p.copied]
    return Figures(len(copies), len(apart), sum(copies), sum(apart))
