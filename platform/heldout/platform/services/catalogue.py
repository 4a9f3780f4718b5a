"""The challenge catalogue: bundles on disk, stored by version and mirrored into Challenge rows."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from flask import current_app
from sqlalchemy import select

from heldout.graders.bundle import Bundle, load_bundle, scan_bundles
from heldout.graders.errors import BundleError
from heldout.platform.blobs import BundleStore, BundleVersionMissing
from heldout.platform.errors import NotFound
from heldout.platform.extensions import db
from heldout.platform.models import Challenge, ChallengeVersion, utcnow
from heldout.platform.remote_files import FilesClient, bundle_store

EXTENSION_KEY = "heldout.bundles"
VARIANTS_DIR_NAME = "variants"


@dataclass(frozen=True)
class LoadReport:
    added: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    retired: tuple[str, ...]
    errors: tuple[str, ...]


class BundleCatalogue:
    """Bundles by version, read from the bundle store (``<data dir>/bundles``).

    Versions are immutable, so a loaded one is kept for the life of the process; its
    files were checked against the version when first loaded here.
    """

    def __init__(self, challenges_dir: Path, store: BundleStore) -> None:
        self.challenges_dir = challenges_dir
        self.store = store
        self._lock = threading.Lock()
        self._loaded: dict[tuple[str, str], Bundle] = {}

    @property
    def variants_dir(self) -> Path:
        """Where generated data variants are cached: ``<data dir>/variants``, beside the
        store. The web app serves from it and the worker grades from it, so both must share
        the data directory (as they do on one machine and in docker-compose)."""
        return self.store.root.parent / VARIANTS_DIR_NAME

    def snapshot(self, source: Path) -> Bundle:
        """Store the bundle in ``source`` as a version and return it as stored."""
        version = self.store.add(source)
        return self.at_version(source.resolve().name, version)

    def at_version(self, slug: str, version: str) -> Bundle:
        """Exactly ``version`` of ``slug``; ``BundleVersionMissing`` if no copy exists.

        A version not yet stored (a submission from before the store existed) is taken
        from the challenges directory when the bundle there still has that version.
        """
        with self._lock:
            cached = self._loaded.get((slug, version))
        if cached is not None:
            return cached
        try:
            root = self.store.materialise(slug, version)
        except BundleVersionMissing:
            if self._live_version(slug) != version:
                raise
            self.store.add(self.challenges_dir / slug)
            root = self.store.materialise(slug, version)
        bundle = load_bundle(root)
        if bundle.slug != slug or bundle.version != version:
            raise BundleVersionMissing(f"stored bundle {root} is {bundle.slug} "
                                       f"{bundle.version}, not {slug} {version}")
        with self._lock:
            self._loaded[(slug, version)] = bundle
        return bundle

    def _live_version(self, slug: str) -> str | None:
        live = self.challenges_dir / slug
        try:
            return load_bundle(live).version if live.is_dir() else None
        except BundleError:
            return None

    def for_challenge(self, challenge: Challenge) -> Bundle:
        """The version of ``challenge`` new attempts and submissions use (the catalogue's)."""
        try:
            return self.at_version(challenge.slug, challenge.version)
        except (BundleVersionMissing, BundleError) as exc:
            raise NotFound(f"The challenge {challenge.slug!r} is not available",
                           hint="Ask the person who invited you; the challenge files are "
                                "missing or broken on the server.") from exc


def make_catalogue(challenges_dir: Path, data_dir: Path,
                   files: FilesClient | None = None) -> BundleCatalogue:
    """The catalogue over ``<data_dir>/bundles``; with ``files`` (a worker on another host)
    versions missing there are fetched from the web app."""
    return BundleCatalogue(challenges_dir, bundle_store(data_dir / "bundles", files))


def get_bundles() -> BundleCatalogue:
    """The bundle catalogue of the current app."""
    return cast(BundleCatalogue, current_app.extensions[EXTENSION_KEY])


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
    if bundle.version not in {v.version for v in row.versions}:
        row.versions.append(ChallengeVersion(version=bundle.version, loaded_at=row.loaded_at))


def load_challenges(challenges_dir: Path, bundles: BundleCatalogue | None = None) -> LoadReport:
    """Store each bundle's current version and upsert its Challenge row (practice
    samples excepted: the practice page stores theirs, ``services/practice.py``).

    ``bundles`` defaults to the current app's catalogue.

    Earlier versions stay in the store (submissions made against them are graded with
    them); rows whose bundle is gone become unavailable. A broken bundle is reported and
    skipped; the others still load.
    """
    bundles = bundles or get_bundles()
    scan = scan_bundles(challenges_dir)
    rows = {row.slug: row for row in db.session.scalars(select(Challenge))}
    added: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    errors = [str(e) for e in scan.errors]
    present: set[str] = set()
    for scanned in scan.bundles:
        if scanned.practice:  # the practice page's sample: never offered to recruiters
            continue
        try:
            bundle = bundles.snapshot(scanned.root)
        except (BundleError, BundleVersionMissing) as exc:  # changed while being copied
            errors.append(str(exc))
            continue
        present.add(bundle.slug)
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
    retired = []
    for slug, row in rows.items():
        if slug not in present and row.available:
            row.available = False
            retired.append(slug)
    db.session.commit()
    return LoadReport(tuple(added), tuple(updated), tuple(unchanged), tuple(sorted(retired)),
                      tuple(errors))


def available_challenges() -> list[Challenge]:
    return list(db.session.scalars(
        select(Challenge).where(Challenge.available).order_by(Challenge.title)))
