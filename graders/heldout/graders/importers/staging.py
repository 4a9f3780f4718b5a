"""Writing imported bundles: built in a hidden staging folder, validated, then moved in."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from heldout.graders.bundle import SLUG_PATTERN, display_path, load_bundle
from heldout.graders.errors import BundleError, GraderError, ImportRefused

TomlValue = str | int | float | bool | Sequence[str]


def slugify(text: str, *, fallback: str = "imported") -> str:
    """A bundle slug from a title: lowercase letters, digits and single dashes."""
    slug = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in text.lower())
    slug = "-".join(part for part in slug.split("-") if part)[:64].strip("-")
    return slug or fallback


def _toml_value(value: TomlValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} has no TOML form here")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    return "[" + ", ".join(json.dumps(item) for item in value) + "]"


def toml_text(top: Mapping[str, TomlValue], tables: Mapping[str, Mapping[str, TomlValue]]) -> str:
    """``challenge.toml`` text: top-level keys, then each ``[table]`` in the order given."""
    lines = [f"{key} = {_toml_value(value)}" for key, value in top.items()]
    for name, table in tables.items():
        lines += ["", f"[{name}]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


@dataclass
class Draft:
    """One bundle to write: relative POSIX path -> bytes, or a file to copy."""

    slug: str
    files: dict[str, bytes | Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add_tree(self, prefix: str, source: Path) -> None:
        """Every regular file under ``source`` at ``prefix/<relative path>``."""
        for path in sorted(source.rglob("*")):
            if path.is_file() and not path.is_symlink() and "__pycache__" not in path.parts:
                self.files[f"{prefix}/{path.relative_to(source).as_posix()}"] = path

    def write(self, root: Path) -> None:
        root.mkdir()
        for relative, content in sorted(self.files.items()):
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copyfile(content, target)
            else:
                target.write_bytes(content)


def _problems(root: Path) -> list[str]:
    from heldout.graders.cli import deep_problems  # the checks `challenges validate` runs

    try:
        bundle = load_bundle(root)
    except BundleError as exc:
        return [str(exc)]
    try:
        return deep_problems(bundle)
    except GraderError as exc:
        return [str(exc)]


def install(drafts: Sequence[Draft], challenges_dir: Path) -> list[str]:
    """Write every draft as a bundle under ``challenges_dir``, all or nothing.

    Each is written in a staging folder inside ``challenges_dir`` (a dot-folder, which
    catalogue scans skip), loaded and validated like ``heldout challenges validate``, and
    only when every one is valid renamed into place; a failure leaves nothing behind.
    """
    slugs = [draft.slug for draft in drafts]
    for slug in slugs:
        if not SLUG_PATTERN.fullmatch(slug):
            raise ImportRefused(f"{slug!r}: not a valid challenge slug (lowercase letters, "
                                "digits and dashes, at most 64)")
    if len(set(slugs)) != len(slugs):
        raise ImportRefused(f"two imported challenges would both be named {slugs}")
    challenges_dir.mkdir(parents=True, exist_ok=True)
    for slug in slugs:
        if os.path.lexists(challenges_dir / slug):
            raise ImportRefused(f"{display_path(challenges_dir / slug)}: already exists; "
                                "remove it or import under another slug (--slug)")
    staging = Path(tempfile.mkdtemp(prefix=".import-", dir=challenges_dir))
    moved: list[str] = []
    try:
        for draft in drafts:
            draft.write(staging / draft.slug)
            problems = _problems(staging / draft.slug)
            if problems:
                shown = problems[0]
                for where in (str(staging / draft.slug), display_path(staging / draft.slug)):
                    shown = shown.replace(where, draft.slug)
                raise ImportRefused(f"{draft.slug}: the imported bundle does not validate: {shown}")
        for slug in slugs:
            target = challenges_dir / slug
            if os.path.lexists(target):
                raise ImportRefused(f"{display_path(target)}: appeared while importing")
            os.rename(staging / slug, target)
            moved.append(slug)
    except BaseException:
        for slug in moved:  # put them back, so the staging folder's removal takes them too
            os.rename(challenges_dir / slug, staging / slug)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return slugs


def solution_table(low: float, high: float, description: str, *,
                   same_as_starter: bool = False) -> dict[str, TomlValue]:
    table: dict[str, TomlValue] = {"min_score": low, "max_score": high,
                                   "description": description}
    if same_as_starter:
        table["same_as_starter"] = True
    return table

