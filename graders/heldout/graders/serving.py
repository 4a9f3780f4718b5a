"""The bundle files a web app may serve: public data and starter code, never hidden/."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from heldout.graders.bundle_types import SKIPPED_DIRS, Bundle
from heldout.graders.errors import ServedFileNotFound

Area = Literal["public", "starter"]
AREAS: tuple[Area, ...] = ("public", "starter")


@dataclass(frozen=True)
class ServedFile:
    """A file a candidate may download: its name inside the area, size and host path."""

    name: str
    size: int
    path: Path


def _area_dir(bundle: Bundle, area: Area) -> Path:
    # Only these two areas exist for serving; hidden/ and solutions/ have no way in.
    if area == "public":
        return bundle.public_dir
    if area == "starter":
        return bundle.starter_dir
    raise ServedFileNotFound(f"no servable area {area!r}; known: {', '.join(AREAS)}")


def list_files(bundle: Bundle, area: Area) -> tuple[ServedFile, ...]:
    """Regular files of the area, sorted by name; links and caches are left out."""
    directory = _area_dir(bundle, area)
    if not directory.is_dir():
        return ()
    found: list[ServedFile] = []
    for dirpath, dirnames, filenames in os.walk(directory, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        for name in filenames:
            path = Path(dirpath) / name
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode):
                found.append(ServedFile(path.relative_to(directory).as_posix(), info.st_size, path))
    return tuple(sorted(found, key=lambda f: f.name))


def public_files(bundle: Bundle) -> tuple[ServedFile, ...]:
    return list_files(bundle, "public")


def starter_files(bundle: Bundle) -> tuple[ServedFile, ...]:
    return list_files(bundle, "starter")


def served_file(bundle: Bundle, area: Area, name: str) -> ServedFile:
    """The file called ``name`` in the area.

    ``name`` is matched against the listing, never joined onto a path, so no request can
    reach outside the area (``../hidden/labels.csv`` simply isn't in the list).
    """
    for item in list_files(bundle, area):
        if item.name == name:
            return item
    raise ServedFileNotFound(f"no file {name!r} in {area}/ of {bundle.slug}")
