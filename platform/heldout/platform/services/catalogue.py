"""The challenge catalogue: bundles on disk mirrored into Challenge rows."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from heldout.graders.bundle import Bundle, resolve_bundle, scan_bundles
from heldout.graders.errors import BundleError
from heldout.platform.errors import NotFound
from heldout.platform.extensions import db
from heldout.platform.models import Challenge, utcnow


@dataclass(frozen=True)
class LoadReport:
    added: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    retired: tuple[str, ...]
    errors: tuple[str, ...]


def _apply(row: Challenge, bundle: Bundle) -> None:
    row.version = bundle.version
    row.title = bundle.title
    row.kind = bundle.kind
    row.summary = bundle.summary
    row.difficulty = bundle.difficulty
    row.expected_minutes = bundle.expected_minutes
    row.skills = list(bundle.skills)
    row.entrypoint = bundle.submission.entrypoint
    row.details = {
        "allowed": list(bundle.submission.allowed),
        "max_bytes": bundle.submission.max_bytes,
        "max_files": bundle.submission.max_files,
        "limits": bundle.limits.as_dict(),
    }
    row.available = True
    row.loaded_at = utcnow()


def load_challenges(challenges_dir: Path) -> LoadReport:
    """Upsert a Challenge row per bundle; rows whose bundle is gone become unavailable.

    A broken bundle is reported and skipped; the others still load.
    """
    scan = scan_bundles(challenges_dir)
    rows = {row.slug: row for row in db.session.scalars(select(Challenge))}
    added: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    for bundle in scan.bundles:
        row = rows.get(bundle.slug)
        if row is None:
            row = Challenge(slug=bundle.slug)
            _apply(row, bundle)
            db.session.add(row)
            added.append(bundle.slug)
        elif row.version != bundle.version or not row.available:
            _apply(row, bundle)
            updated.append(bundle.slug)
        else:
            unchanged.append(bundle.slug)
    present = {b.slug for b in scan.bundles}
    retired = []
    for slug, row in rows.items():
        if slug not in present and row.available:
            row.available = False
            retired.append(slug)
    db.session.commit()
    return LoadReport(tuple(added), tuple(updated), tuple(unchanged), tuple(sorted(retired)),
                      tuple(str(e) for e in scan.errors))


def available_challenges() -> list[Challenge]:
    return list(db.session.scalars(
        select(Challenge).where(Challenge.available).order_by(Challenge.title)))


class BundleCache:
    """Loaded bundles by slug, reloaded when a file of the bundle changes.

    Loading hashes every file of the bundle; a stat walk is enough to tell it changed.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[tuple[tuple[str, int, int], ...], Bundle]] = {}

    def get(self, challenges_dir: Path, slug: str) -> Bundle:
        directory = challenges_dir / slug
        try:
            stamp = _stamp(directory)
        except FileNotFoundError:
            stamp = ()
        key = (str(challenges_dir), slug)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == stamp and stamp:
                return entry[1]
        try:
            bundle = resolve_bundle(slug, challenges_dir)
        except BundleError as exc:
            raise NotFound(f"The challenge {slug!r} is not available",
                           hint="Ask the person who invited you; the challenge files are "
                                "missing or broken on the server.") from exc
        with self._lock:
            self._entries[key] = (stamp, bundle)
        return bundle


def _stamp(directory: Path) -> tuple[tuple[str, int, int], ...]:
    found = []
    for dirpath, dirnames, filenames in os.walk(directory, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            info = os.lstat(os.path.join(dirpath, name))
            found.append((os.path.join(dirpath, name), info.st_size, info.st_mtime_ns))
    if not found:
        raise FileNotFoundError(directory)
    return tuple(found)


bundles = BundleCache()
