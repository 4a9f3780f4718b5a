"""tools/ is a source root like the product's three: ``heldout`` stays a namespace package."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_heldout_stays_a_namespace_package() -> None:
    assert (REPO / "tools" / "heldout" / "tools").is_dir()
    assert not (REPO / "tools" / "__init__.py").exists()
    assert not (REPO / "tools" / "heldout" / "__init__.py").exists()
