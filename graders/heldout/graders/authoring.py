"""``heldout challenges new``: a new bundle copied from its kind's skeleton.

A kind's skeleton is a small complete bundle in ``skeleton/`` beside the kind's code
(``heldout/graders/kinds/<name>/skeleton/``): statement, starter, data, a reference and a
flawed solution with their score ranges, so it validates and its cases pass ``heldout
challenges check`` as written. challenges/README.md shows every skeleton file ("Writing a
bundle"); tests/graders/test_authoring.py checks they are the same.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from heldout.graders.bundle_types import SLUG_PATTERN, display_path
from heldout.graders.errors import BundleError
from heldout.graders.kinds import KINDS

SKELETON_DIR = "skeleton"
SKIPPED = shutil.ignore_patterns("__pycache__")


class AuthoringError(BundleError):
    """The bundle can't be written; the message is one line saying why."""


def skeleton_dir(kind_name: str) -> Path:
    """The skeleton of the registered kind ``kind_name``: ``skeleton/`` in its package."""
    if kind_name not in KINDS.known():
        raise AuthoringError(f"unknown kind {kind_name!r}; known kinds: "
                             + ", ".join(sorted(KINDS.known())))
    module = sys.modules[type(KINDS.get(kind_name)).__module__]
    root = Path(str(module.__file__)).resolve().parent / SKELETON_DIR
    if not root.is_dir():
        raise AuthoringError(f"the kind {kind_name!r} ships no skeleton (no {SKELETON_DIR}/ "
                             f"beside {display_path(Path(str(module.__file__)))})")
    return root


def skeleton_files(kind_name: str) -> dict[str, bytes]:
    """Every file of the kind's skeleton by its relative POSIX path, sorted."""
    root = skeleton_dir(kind_name)
    return {path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts}


def new_bundle(slug: str, kind_name: str, challenges_dir: Path) -> Path:
    """Write ``challenges_dir/slug`` from the kind's skeleton, whole or not at all."""
    if not SLUG_PATTERN.fullmatch(slug):
        raise AuthoringError(f"{slug!r} is not a valid slug (lowercase letters, digits and "
                             "dashes, at most 64)")
    source = skeleton_dir(kind_name)
    target = challenges_dir / slug
    if target.exists() or target.is_symlink():
        raise AuthoringError(f"{display_path(target)} already exists: choose another slug")
    challenges_dir.mkdir(parents=True, exist_ok=True)
    # Copied beside the target, then renamed into place: never half a bundle under its slug.
    with tempfile.TemporaryDirectory(prefix=f".{slug}-", dir=challenges_dir) as tmp:
        staged = Path(tmp) / slug
        shutil.copytree(source, staged, ignore=SKIPPED)
        try:
            staged.rename(target)
        except OSError as exc:
            raise AuthoringError(f"{display_path(target)}: not written: {exc}") from exc
    return target
