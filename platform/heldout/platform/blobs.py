"""Content-addressed stores: submitted files (``blobs/ab/<sha256>``) and bundle versions."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

from heldout.graders.bundle import bundle_files, bundle_version
from heldout.platform.errors import StorageFull

log = logging.getLogger(__name__)

SHA256 = re.compile(r"[0-9a-f]{64}")
VERSION_PREFIX = "sha256:"


class BlobMissing(LookupError):
    """A referenced blob is absent or does not match its hash (a platform fault)."""


class BundleVersionMissing(LookupError):
    """No copy of a bundle version on this host (a platform fault, never the candidate's)."""


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        if not SHA256.fullmatch(digest):
            raise ValueError(f"not a sha256 hex digest: {digest!r}")
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        """Store ``data`` durably (fsync, atomic rename) and return its sha256.

        Written to a temporary file first, renamed into place once whole: whatever fails
        midway (a full disk above all, ``StorageFull``), no partial file is left behind.
        """
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.is_file() and target.stat().st_size == len(data):
            return digest
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        except OSError as exc:
            _raise_if_full(exc, self.root)
            raise
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp_name, 0o444)
            os.replace(tmp_name, target)
        except BaseException as exc:
            Path(tmp_name).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                _raise_if_full(exc, self.root)
            raise
        _fsync_dir(target.parent)
        return digest

    def get(self, digest: str) -> bytes:
        """The bytes stored under ``digest``, checked against it."""
        try:
            data = self.path(digest).read_bytes()
        except FileNotFoundError:
            raise BlobMissing(f"blob {digest} is missing from {self.root}") from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise BlobMissing(f"blob {digest} in {self.root} does not match its hash")
        return data

    def remove(self, digest: str) -> bool:
        """Delete the blob under ``digest`` (an erasure); False if it was not there. The
        caller makes sure no row names it any more."""
        try:
            self.path(digest).unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(self.path(digest).parent)
        return True


def _raise_if_full(exc: OSError, root: Path) -> None:
    """A full disk or quota becomes ``StorageFull``, said plainly to the user."""
    if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
        return
    log.error("blob store %s is full: %s", root, exc)
    raise StorageFull("The server has no room left to store files, so this was not kept.",
                       hint="Nothing was saved from this attempt to send; your earlier work "
                            "is kept. Try again in a few minutes, and tell the hiring team "
                            "if it keeps happening.") from exc


def version_hex(version: str) -> str:
    """The hex digest of a ``sha256:<hex>`` bundle version (ValueError if it is not one)."""
    digest = version.removeprefix(VERSION_PREFIX)
    if not version.startswith(VERSION_PREFIX) or not SHA256.fullmatch(digest):
        raise ValueError(f"not a bundle version: {version!r}")
    return digest


class BundleStore:
    """Every loaded bundle version, immutable, at ``<root>/<sha256>/<slug>/``.

    A version is the graders' content hash of the copy as stored, so what is graded is
    exactly what was hashed, however the challenges directory changes afterwards. (The
    hash covers file names and contents, not the slug: two slugs may share a version.)
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def add(self, source: Path) -> str:
        """Copy the bundle in ``source`` into the store (staged, then renamed); its version."""
        slug = source.resolve().name
        staging = self.staging_dir()
        try:
            copy = staging / slug
            copy.mkdir()
            for relative, path in bundle_files(source):
                target = copy / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                with path.open("rb") as reader, target.open("wb") as writer:
                    shutil.copyfileobj(reader, writer)
                    writer.flush()
                    os.fsync(writer.fileno())
                os.chmod(target, 0o444)
            # Hash the copy, not the source: the source may change while we read it.
            version = bundle_version(copy)
            self.install(copy, slug, version)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return version

    def staging_dir(self) -> Path:
        """A fresh directory inside the store for a copy being made (same filesystem)."""
        self.root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=self.root, prefix=".staging-"))

    def install(self, copy: Path, slug: str, version: str) -> None:
        """Rename a whole, already hashed ``copy`` into place as ``version`` of ``slug``."""
        version_dir = self.root / version_hex(version)
        if not (version_dir / slug).is_dir():
            version_dir.mkdir(exist_ok=True)
            try:
                os.rename(copy, version_dir / slug)
            except OSError:
                if not (version_dir / slug).is_dir():  # not just another loader's win
                    raise
            _fsync_dir(version_dir)

    def materialise(self, slug: str, version: str) -> Path:
        """The directory of ``version`` of bundle ``slug`` on this host.

        The one place a version becomes files: a worker on another host fetches the
        versions it lacks from the web app (``remote_files.RemoteBundleStore``).
        """
        directory = self.root / version_hex(version) / slug
        if not directory.is_dir() or "/" in slug or slug.startswith("."):
            raise BundleVersionMissing(f"bundle {slug} version {version} is not in {self.root}")
        return directory


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
