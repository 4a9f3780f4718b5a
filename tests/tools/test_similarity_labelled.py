"""The similarity detector on its labelled set: precision and recall at the shipped threshold."""

from __future__ import annotations

from pathlib import Path

from heldout.graders.bundle import resolve_bundle
from heldout.graders.similarity import THRESHOLD, ChallengeDetector, compare_all
from tests.tools.similarity_labelled import INDEPENDENT_DIR, figures, labelled_pairs

REPO = Path(__file__).resolve().parents[2]


def test_labelled_set_precision_and_recall() -> None:
    pairs = labelled_pairs(REPO / "challenges")
    detectors = {slug: ChallengeDetector.for_bundle(resolve_bundle(slug))
                 for slug in {p.challenge for p in pairs}}
    flagged = []
    for pair in pairs:
        detector = detectors[pair.challenge]
        scored = compare_all([detector.fingerprint(pair.a), detector.fingerprint(pair.b)])
        flagged.append(scored[0].flagged)
    found = figures(pairs, flagged)
    kinds = {p.label for p in pairs}
    assert {"renamed", "reordered", "stripped", "reformatted", "constants", "all",
            "independent"} <= kinds
    assert found.copies + found.independent >= 30 and found.independent >= 10
    misses = [f"{p.challenge}: {p.a_name} / {p.b_name}"
              for p, f in zip(pairs, flagged, strict=True) if f != p.copied]
    assert found.recall >= 0.9, misses
    assert found.precision >= 0.9, misses
    assert found.independent_flagged == 0, misses
    print(f"threshold {THRESHOLD}: {found.copies} copies, {found.independent} independent "
          f"pairs; recall {found.recall:.3f}, precision {found.precision:.3f}")


def test_independent_solutions_cover_python_sql_and_notebooks() -> None:
    suffixes = {p.suffix for p in INDEPENDENT_DIR.rglob("*") if p.is_file()}
    assert {".py", ".sql", ".ipynb"} <= suffixes
