"""Workers on other hosts: submitted files and bundle versions over the web app's internal API.

A worker with ``HELDOUT_FILES_URL`` set shares no disk with the web app. It keeps a local
cache of blobs and bundle versions in its own data directory, fetches what it lacks from
``/internal/v1/`` (authenticated with ``HELDOUT_INTERNAL_TOKEN``) and checks every byte
against the hash that names it; the blobs it writes (artefacts, deadline submissions) go
back to the web app before the job that wrote them can finish.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import stat
import tarfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import IO, Any

import urllib3
from urllib3.util import Retry, Timeout

from heldout.graders.bundle import bundle_files, bundle_version
from heldout.graders.bundle_types import SLUG_PATTERN
from heldout.graders.errors import BundleError
from heldout.platform.blobs import (
    BlobMissing,
    BlobStore,
    BundleStore,
    BundleVersionMissing,
    version_hex,
)

log = logging.getLogger(__name__)

# Where the app keeps its client (None on the web app and on a single host).
EXTENSION_KEY = "heldout.files"
API_PREFIX = "/internal/v1"
# Larger than any blob the platform stores: uploads are capped lower, artefacts at 16 MiB.
MAX_BLOB_BYTES = 64 * 1024 * 1024
# A bundle (its public and hidden data included) travels as one tar within these caps.
MAX_BUNDLE_BYTES = 1024 * 1024 * 1024
MAX_BUNDLE_MEMBERS = 20_000
CHUNK = 1024 * 1024

TIMEOUT = Timeout(connect=5.0, read=60.0)
# A couple of quick retries for a web app that restarts or a proxy that hiccups; a longer
# outage fails the job, which the queue retries with its own back-off.
RETRIES = Retry(total=2, connect=2, read=2, status=2, backoff_factor=0.5,
                status_forcelist=(502, 503, 504), allowed_methods={"GET", "PUT"},
                raise_on_status=False, redirect=0)


class FilesUnavailable(RuntimeError):
    """The web app's internal endpoint could not be reached or refused (a platform fault).

    Deliberately not an ``OSError``: a blob the worker could not send back must fail its
    job (which is retried), never be noted as "not kept" and forgotten.
    """


class FilesClient:
    """One pooled HTTP client for the web app's ``/internal/v1/`` endpoints."""

    def __init__(self, base_url: str, token: str, *, timeout: Timeout = TIMEOUT,
                 retries: Retry = RETRIES) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._pool = urllib3.PoolManager(num_pools=4, maxsize=8, timeout=timeout,
                                         retries=retries)

    def _url(self, path: str) -> str:
        return f"{self.base_url}{API_PREFIX}{path}"

    def _request(self, method: str, path: str, *, body: bytes | None = None,
                 stream: bool = False) -> urllib3.BaseHTTPResponse:
        headers = dict(self._headers)
        if body is not None:
            headers["Content-Type"] = "application/octet-stream"
        try:
            return self._pool.request(method, self._url(path), body=body, headers=headers,
                                      preload_content=not stream, redirect=False)
        except urllib3.exceptions.HTTPError as exc:
            raise FilesUnavailable(f"{method} {self._url(path)}: {exc}") from exc

    def _refusal(self, method: str, path: str, response: urllib3.BaseHTTPResponse) -> str:
        status = response.status
        if status == 401:
            why = "the web app refused HELDOUT_INTERNAL_TOKEN (it differs from the web app's)"
        elif status == 404 and path == "/ping":
            why = ("no internal endpoint there: HELDOUT_INTERNAL_TOKEN is unset on the web "
                   "app, or HELDOUT_FILES_URL does not point at the web app")
        else:
            why = _message(response)
        return f"{method} {self._url(path)}: HTTP {status}: {why}"

    def close(self) -> None:
        self._pool.clear()

    def ping(self) -> None:
        """Check that the endpoint answers and accepts the token (FilesUnavailable if not)."""
        response = self._request("GET", "/ping")
        if response.status != 200:
            raise FilesUnavailable(self._refusal("GET", "/ping", response))
        try:
            answer = json.loads(response.data)
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or answer.get("ok") is not True:
            raise FilesUnavailable(f"GET {self._url('/ping')}: not the heldout web app "
                                   "(unexpected answer)")

    def fetch_blob(self, digest: str) -> bytes | None:
        """The bytes the web app holds under ``digest`` (unchecked), None if it has none."""
        into = io.BytesIO()
        return into.getvalue() if self._download(f"/blobs/{digest}", MAX_BLOB_BYTES, into) \
            else None

    def send_blob(self, digest: str, data: bytes) -> bool:
        """Store ``data`` on the web app under ``digest``; True if it was new there."""
        path = f"/blobs/{digest}"
        response = self._request("PUT", path, body=data)
        if response.status in (200, 201):
            return response.status == 201
        raise FilesUnavailable(self._refusal("PUT", path, response))

    def fetch_bundle(self, version: str, slug: str, into: IO[bytes]) -> bool:
        """Write the tar of ``version`` of ``slug`` to ``into``; False if the web app lacks it."""
        return self._download(f"/bundles/{version_hex(version)}/{slug}.tar", MAX_BUNDLE_BYTES,
                              into)

    def _download(self, path: str, cap: int, into: IO[bytes]) -> bool:
        """Stream ``path`` into ``into``, at most ``cap`` bytes; False on 404."""
        response = self._request("GET", path, stream=True)
        try:
            if response.status == 404:
                return False
            if response.status != 200:
                response.read()
                raise FilesUnavailable(self._refusal("GET", path, response))
            size = 0
            for chunk in response.stream(CHUNK):
                size += len(chunk)
                if size > cap:
                    raise FilesUnavailable(f"GET {self._url(path)}: more than {cap} bytes")
                into.write(chunk)
            return True
        except urllib3.exceptions.HTTPError as exc:
            raise FilesUnavailable(f"GET {self._url(path)}: {exc}") from exc
        finally:
            response.release_conn()


def _message(response: urllib3.BaseHTTPResponse) -> str:
    try:
        answer = json.loads(response.data)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and isinstance(answer.get("message"), str):
        return str(answer["message"])
    return response.reason or "unexpected answer"


class RemoteBlobStore(BlobStore):
    """A worker's blob store: a local cache (``root``) in front of the web app's store."""

    def __init__(self, root: Path, client: FilesClient) -> None:
        super().__init__(root)
        self.client = client

    def get(self, digest: str) -> bytes:
        """The bytes under ``digest``: from the cache, else from the web app, hash-checked.

        Whatever fails (unreachable, absent, bytes that don't match) is ``BlobMissing``, a
        platform fault the job is retried for; nothing unchecked enters the cache.
        """
        try:
            return super().get(digest)
        except BlobMissing:
            pass
        self.path(digest).unlink(missing_ok=True)  # a damaged copy, if any, goes
        try:
            data = self.client.fetch_blob(digest)
        except FilesUnavailable as exc:
            raise BlobMissing(f"blob {digest}: {exc}") from exc
        if data is None:
            raise BlobMissing(f"blob {digest} is neither in {self.root} nor on the web app "
                              f"({self.client.base_url})")
        if hashlib.sha256(data).hexdigest() != digest:
            raise BlobMissing(f"blob {digest} from {self.client.base_url} does not match its "
                              "hash; not kept")
        super().put(data)
        return data

    def put(self, data: bytes) -> str:
        """Store ``data`` in the cache and on the web app; ``FilesUnavailable`` if it can't be
        sent (the job fails and is retried: the web app must hold what the worker records)."""
        digest = super().put(data)
        self.client.send_blob(digest, data)
        return digest


class RemoteBundleStore(BundleStore):
    """A worker's bundle store: versions it lacks are fetched from the web app as a tar,
    unpacked with every check, re-hashed and only then renamed into place."""

    def __init__(self, root: Path, client: FilesClient) -> None:
        super().__init__(root)
        self.client = client

    def materialise(self, slug: str, version: str) -> Path:
        try:
            return super().materialise(slug, version)
        except BundleVersionMissing:
            pass
        try:
            version_hex(version)
        except ValueError as exc:
            raise BundleVersionMissing(str(exc)) from None
        if not SLUG_PATTERN.fullmatch(slug):
            raise BundleVersionMissing(f"not a bundle slug: {slug!r}")
        self._fetch(slug, version)
        return super().materialise(slug, version)

    def _fetch(self, slug: str, version: str) -> None:
        staging = self.staging_dir()
        try:
            archive = staging / "bundle.tar"
            with archive.open("wb") as handle:
                try:
                    found = self.client.fetch_bundle(version, slug, handle)
                except FilesUnavailable as exc:
                    raise BundleVersionMissing(f"bundle {slug} {version}: {exc}") from exc
            if not found:
                raise BundleVersionMissing(f"bundle {slug} version {version} is neither in "
                                           f"{self.root} nor on the web app "
                                           f"({self.client.base_url})")
            copy = staging / slug
            try:
                extract_bundle_tar(archive, copy)
                got = bundle_version(copy)
            except (BundleError, tarfile.TarError, UnsafeArchive, OSError) as exc:
                raise BundleVersionMissing(f"bundle {slug} {version} from "
                                           f"{self.client.base_url}: {exc}") from exc
            if got != version:
                raise BundleVersionMissing(f"bundle {slug} from {self.client.base_url} hashes "
                                           f"to {got}, not the {version} asked for; not kept")
            self.install(copy, slug, version)
            log.info("bundle %s %s fetched from %s", slug, version, self.client.base_url)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


class UnsafeArchive(ValueError):
    """A bundle tar with a member that could land outside its directory, or too big."""


def write_bundle_tar(directory: Path, out: IO[bytes]) -> None:
    """An uncompressed tar of a stored bundle: its directories and regular files only, names
    relative to ``directory``, sorted, with fixed owners, modes and times (deterministic)."""
    files = bundle_files(directory)  # refuses links and special files
    names: set[str] = set()
    for relative, _path in files:
        parts = PurePosixPath(relative).parts
        names.update("/".join(parts[:depth]) for depth in range(1, len(parts)))
    by_name = dict(files)
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(names | set(by_name)):  # a parent sorts before its children
            info = tarfile.TarInfo(name)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            path = by_name.get(name)
            if path is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
                continue
            info.type, info.mode = tarfile.REGTYPE, 0o444
            with path.open("rb") as handle:
                info.size = os.fstat(handle.fileno()).st_size
                tar.addfile(info, handle)


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if not name or "\x00" in name or "\\" in name or path.is_absolute() \
            or name != path.as_posix() or any(part in ("", ".", "..") for part in path.parts):
        raise UnsafeArchive(f"unsafe member name {name!r}")
    return path


def extract_bundle_tar(archive: Path, target: Path, *, max_bytes: int = MAX_BUNDLE_BYTES,
                       max_members: int = MAX_BUNDLE_MEMBERS) -> None:
    """Unpack ``archive`` into ``target`` (which must not exist), refusing anything but plain
    relative files and directories: absolute names, ``..``, links, devices, FIFOs, a name
    given twice, more than ``max_members`` members or ``max_bytes`` of content."""
    target.mkdir()
    root = target.resolve()
    total = 0
    seen: set[PurePosixPath] = set()
    with tarfile.open(archive, mode="r:") as tar:
        for count, member in enumerate(tar, start=1):
            if count > max_members:
                raise UnsafeArchive(f"more than {max_members} members")
            relative = _safe_name(member.name)
            if relative in seen:
                raise UnsafeArchive(f"member {member.name!r} appears twice")
            seen.add(relative)
            destination = target.joinpath(*relative.parts)
            if not destination.parent.resolve().is_relative_to(root):
                raise UnsafeArchive(f"member {member.name!r} leaves the bundle")
            if member.isdir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            if not member.isreg():
                raise UnsafeArchive(f"member {member.name!r} is not a regular file or "
                                    "directory")
            total += member.size
            if total > max_bytes:
                raise UnsafeArchive(f"more than {max_bytes} bytes of content")
            source = tar.extractfile(member)
            if source is None:
                raise UnsafeArchive(f"member {member.name!r} has no content")
            destination.parent.mkdir(parents=True, exist_ok=True)
            # O_EXCL: never write through something already there.
            fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as writer:
                shutil.copyfileobj(source, writer, CHUNK)
                writer.flush()
                os.fsync(writer.fileno())
            os.chmod(destination, 0o444)
    for path in target.rglob("*"):  # nothing but what was written above
        mode = os.lstat(path).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise UnsafeArchive(f"{path.relative_to(target)} is not a regular file")


def make_client(config: Mapping[str, Any]) -> FilesClient | None:
    """The client of a worker with ``HELDOUT_FILES_URL`` set; None on one host or the web app.

    Creating it opens no connection (the factory never calls the network).
    """
    url = str(config.get("HELDOUT_FILES_URL") or "")
    if not url:
        return None
    return FilesClient(url, str(config["HELDOUT_INTERNAL_TOKEN"]))


def blob_store(root: Path, client: FilesClient | None) -> BlobStore:
    """The worker's blob store: remote-backed when there is a client, plain otherwise."""
    return BlobStore(root) if client is None else RemoteBlobStore(root, client)


def bundle_store(root: Path, client: FilesClient | None) -> BundleStore:
    return BundleStore(root) if client is None else RemoteBundleStore(root, client)
